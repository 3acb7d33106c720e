"""``python -m lab_daemon`` is ``virtualpy-lab``."""

import sys

from lab_daemon.cli import main

sys.exit(main())
