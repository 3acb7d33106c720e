"""virtualpy: test set-top boxes, TVs and Android devices through their screens.

The pytest plugin lives in :mod:`pytest_virtualpy.plugin` and loads by itself
through its ``pytest11`` entry point. Image code usable without a lab is in
:mod:`pytest_virtualpy.vision`; exceptions are in :mod:`pytest_virtualpy.errors`.

This module deliberately imports nothing heavy: the lab daemon imports
sub-packages of it (``vision``, ``lab.handshake``) and must not pull in pytest.
"""

__version__ = "0.1.0"
