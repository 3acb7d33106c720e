"""What a test needs of its device: a model and capabilities (``@pytest.mark.device``).

A test marked ``@pytest.mark.device(model="acme-4k", capabilities=["serial", "power"])``
gets a device of that model that has those parts. :class:`Requirements` checks the
marker's arguments, says whether a device (as ``list_devices`` describes it) meets
them, and travels to the daemon as JSON (``lease(..., requirements_json=...)``), which
does the matching for the queue. Free of pytest, so scripts can use it too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_virtualpy.errors import BadArgument, UsageError

#: the parts a device may have, as the issue and the marker name them
CAPABILITIES = ("video", "remote", "power", "serial", "adb", "audio", "sim")
#: the daemon lists a device's remote control as its "keys" part
_ALIASES = {"remote": ("remote", "keys")}
MAX_MODEL = 128  # characters of a model name
MAX_JSON_CHARS = 4096  # of requirements_json


class NoMatchingDevice(UsageError):
    """No device of the chosen labs could ever meet a test's requirements.

    A usage error, not a lab fault: the test asks for hardware the run was not given.
    """


@dataclass(frozen=True)
class Requirements:
    """A model (None: any) and the capabilities a device must have.

    >>> r = Requirements.of(model="acme-4k", capabilities=["serial"])
    >>> r.meets({"model": "acme-4k", "capabilities": ["video", "keys", "serial"]})
    True
    >>> r.describe()
    "model 'acme-4k' with serial"
    """

    model: str | None = None
    capabilities: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: Any = None, capabilities: Any = ()) -> Requirements:
        """Checked requirements; a :class:`BadArgument` says what is wrong and how to fix it."""
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise BadArgument(
                f"device(model=...) must be a model name (a non-empty string), got {model!r}"
            )
        if model is not None and len(model) > MAX_MODEL:
            raise BadArgument(f"device(model=...) is longer than {MAX_MODEL} characters")
        if isinstance(capabilities, str) or not isinstance(capabilities, Iterable):
            raise BadArgument(
                f"device(capabilities=...) must be a list of part names, e.g. "
                f'["serial", "power"], got {capabilities!r}'
            )
        caps = list(capabilities)
        unknown = [c for c in caps if c not in CAPABILITIES]
        if unknown:
            raise BadArgument(
                f"unknown capability {', '.join(map(repr, unknown))} in device(capabilities=...)"
                f"; a device's parts are {', '.join(CAPABILITIES)}"
            )
        return cls(model.strip() if model else None, tuple(dict.fromkeys(caps)))

    @classmethod
    def from_json(cls, text: Any) -> Requirements:
        """Parse the daemon's ``requirements_json`` (None: anything), as :meth:`to_json`
        wrote it; a :class:`BadArgument` says what is wrong.

        >>> Requirements.from_json('{"model": null, "capabilities": ["serial"]}').describe()
        'a device with serial'
        """
        if text is None or text == "":
            return cls()
        if not isinstance(text, str) or len(text) > MAX_JSON_CHARS:
            raise BadArgument(
                f"requirements_json must be JSON text of at most {MAX_JSON_CHARS} "
                'characters, like {"model": "acme-4k", "capabilities": ["serial"]}'
            )
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise BadArgument(f"requirements_json is not JSON: {text[:80]!r}") from None
        if not isinstance(data, dict) or set(data) - {"model", "capabilities"}:
            raise BadArgument(
                'requirements_json must be an object with "model" (a name or null) and '
                f'"capabilities" (a list of {", ".join(CAPABILITIES)}), got {text[:80]!r}'
            )
        caps = data.get("capabilities") or []
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise BadArgument("requirements: capabilities must be a list of part names")
        return cls.of(data.get("model"), caps)

    @classmethod
    def from_marker(cls, args: tuple, kwargs: Mapping[str, Any]) -> Requirements:
        """From ``@pytest.mark.device(model=..., capabilities=[...])``'s arguments."""
        if args:
            raise BadArgument(
                f"@pytest.mark.device takes keywords only, got positional {args!r}: write "
                '@pytest.mark.device(model="acme-4k", capabilities=["serial"])'
            )
        unknown = sorted(set(kwargs) - {"model", "capabilities"})
        if unknown:
            raise BadArgument(
                f"@pytest.mark.device got unknown keyword(s) {', '.join(unknown)}; it takes "
                "model= and capabilities="
            )
        return cls.of(kwargs.get("model"), kwargs.get("capabilities", ()))

    def __bool__(self) -> bool:
        return self.model is not None or bool(self.capabilities)

    def meets(self, device: Mapping[str, Any]) -> bool:
        """Whether ``device`` (a ``list_devices`` entry or lease reply) meets these."""
        if self.model is not None and device.get("model") != self.model:
            return False
        have = set(device.get("capabilities") or ())
        return all(have.intersection(_ALIASES.get(c, (c,))) for c in self.capabilities)

    def to_json(self) -> str | None:
        """The daemon's ``requirements_json`` (None when anything will do)."""
        if not self:
            return None
        return json.dumps({"model": self.model, "capabilities": list(self.capabilities)})

    def describe(self) -> str:
        """``model 'acme-4k' with serial, power``, for messages."""
        parts = []
        if self.model is not None:
            parts.append(f"model {self.model!r}")
        if self.capabilities:
            parts.append(("with " if parts else "a device with ") + ", ".join(self.capabilities))
        return " ".join(parts) or "any device"


def capabilities_of(device: Mapping[str, Any]) -> list[str]:
    """A device's parts under the marker's names (the daemon's "keys" is "remote")."""
    have = device.get("capabilities") or ()
    return [c for c in CAPABILITIES if set(have).intersection(_ALIASES.get(c, (c,)))]


def describe_device(lab: str | None, device: Mapping[str, Any]) -> str:
    """``pi-01/stb-1 (model acme-4k: video, remote, serial)`` (no ``pi-01/`` without a
    lab), for messages."""
    caps = ", ".join(capabilities_of(device)) or "no parts"
    prefix = f"{lab}/" if lab else ""
    return f"{prefix}{device.get('name')} (model {device.get('model')}: {caps})"


def no_match_message(
    requirements: Requirements, catalog: Mapping[str, list[dict] | str]
) -> str | None:
    """The error for requirements no device of ``catalog`` could ever meet, or None.

    ``catalog`` maps each chosen lab to its devices (or why it could not be asked); a lab
    that could not be asked might have a match, so it gives None.
    """
    if not requirements or any(isinstance(v, str) for v in catalog.values()):
        return None
    devices = [(lab, d) for lab, ds in catalog.items() for d in ds]
    if any(requirements.meets(d) for _, d in devices):
        return None
    listed = "\n".join(f"  {describe_device(lab, d)}" for lab, d in devices) or "  (none)"
    return (
        f"no device on lab(s) {', '.join(catalog)} matches {requirements.describe()} "
        f"(@pytest.mark.device). The chosen labs have:\n{listed}\nChoose labs that have "
        "such a device (--lab NAME,... or pool:NAME), or change the marker."
    )
