"""The live view: a token-signed web page showing every device of the lab as it plays.

It listens on its own port (``[lab.live]`` in lab.toml, loopback by default), beside
the RPyC service, and shares only the frame rings and the lease table with it. Its
pictures are made by :mod:`~lab_daemon.live.producer` threads while someone watches,
never by the capture threads; :mod:`~lab_daemon.live.viewers` bounds what each viewer
may take. ``virtualpy-lab live-url --lab LAB`` prints a link that opens it.
"""

from __future__ import annotations

from lab_daemon.host import LabHost
from lab_daemon.live.server import LiveServer
from lab_daemon.live.settings import LiveSettings
from pytest_virtualpy.errors import ConfigError

__all__ = ["LiveServer", "LiveSettings", "listen"]


def listen(host: LabHost, token: str, table: dict, lab_port: int) -> LiveServer | None:
    """A live server for ``host`` from ``[lab.live]``, listening (not yet serving); None
    when the table says ``enabled = false``. ``lab_port`` is the RPyC port asked for: the
    page's port follows it unless the table names one.

    >>> live = listen(host, token, host.tables["live"], 18861)  # doctest: +SKIP
    >>> live.start()                                     # doctest: +SKIP
    """
    settings = LiveSettings.from_table(table).for_lab_port(lab_port)
    if not settings.enabled:
        return None
    try:
        return LiveServer(host, token, settings)
    except OSError as e:
        raise ConfigError(
            f"the live page cannot listen on {settings.bind}:{settings.port}: "
            f"{e.strerror or e}. Set [lab.live] port in lab.toml (0 picks a free one; "
            "`virtualpy-lab sim` has --live-port) or enabled = false"
        ) from None
