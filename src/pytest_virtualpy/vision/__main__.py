"""``python -m pytest_virtualpy.vision``: see :mod:`pytest_virtualpy.vision.cli`."""

import sys

from .cli import main

sys.exit(main())
