"""Where things are on the simulated box's 1280x720 screen.

One place for the geometry the example tests share, so a layout change is one
edit. ``Region(x, y, width, height)``, in pixels from the top-left corner.
"""

from pathlib import Path

from pytest_virtualpy.vision import Region

#: Reference images, found wherever pytest is started from.
IMAGES = Path(__file__).resolve().parent / "images"

# Title bar: "virtualpy" on the left, the screen title centred, a clock on the right.
TITLE = Region(480, 0, 320, 60)  # the centred screen title only (no clock)
TITLE_BAR = Region(0, 0, 1280, 60)
CLOCK = Region(1088, 0, 166, 60)  # changes every minute: never in a reference image

# Home
HOME_TILES = Region(64, 446, 1152, 144)
SETTINGS_TILE = Region(843, 446, 178, 144)  # fifth tile, focus border included
HOME_PREVIEW = Region(768, 101, 448, 252)  # live preview window (moving video)
HOME_NOW = Region(64, 101, 666, 252)  # "Now on / 101 News 24 / programme"

# Live TV overlays
CHANNEL_LOGO = Region(40, 30, 300, 44)  # "101 News 24" in a black box, over the video
BANNER = Region(64, 540, 1152, 130)  # number, name, "HH:MM - HH:MM", programme
BANNER_NUMBER = Region(64, 540, 200, 80)
DIGITS = Region(1024, 43, 192, 79)  # channel number being typed
MESSAGE = Region(384, 324, 512, 72)  # "Channel not available"
VOLUME = Region(384, 72, 512, 72)  # "Volume", a bar and the level (or "Muted")
VOLUME_LEVEL = Region(784, 72, 112, 72)  # the number (or "Muted") right of the bar

# Guide: a header, then 6 rows of 86 px; channel names in x 38-320
GUIDE_HEADER = Region(38, 79, 1204, 51)
GUIDE_NAMES = Region(38, 130, 282, 516)
GUIDE_GRID = Region(38, 130, 1204, 516)  # names and programme cells, with the focus

# Settings and About
ABOUT_ITEM = Region(128, 475, 576, 72)  # the last settings item, focus border included
FIRMWARE_LINE = Region(128, 158, 1024, 65)
MODEL_LINE = Region(128, 238, 1024, 64)
SERIAL_LINE = Region(128, 317, 1024, 65)
DEVICE_NAME_LINE = Region(128, 396, 1024, 65)

# The "popup" fault's modal dialog ("Notification ... Press BACK to close"), centred
POPUP = Region(320, 216, 640, 288)

# Power
NO_SIGNAL_TEXT = Region(440, 320, 400, 80)
BOOT_LOGO = Region(320, 240, 640, 170)  # "virtualpy" and "Starting up...", not the bar
