"""Navigation trees the device tests put on the simulated box, over the example's images.

``POPUP_NODE`` and ``POPUP_EDGE`` wrap the example tree (examples/navigation.toml has no
popup node) so that the box's popup dialog is a known interrupt screen with a way home;
tree B (``write_b_tree``) has a subtree, two ways to the guide and no popup node.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
IMAGES = EXAMPLES / "images"

POPUP_NODE = """
[nodes.popup]
image = "images/popup.png"
region = [320, 216, 640, 288]
interrupt = true
"""
POPUP_EDGE = """
[[edges]]
from = "popup"
to = "home"
keys = ["KEY_BACK", "KEY_HOME"]
"""

# device nav-b's tree: settings/about is a node of a subtree, and two ways lead to the guide
B_TREE = """
[nodes.home]
image = "images/home.png"
region = [0, 0, 1280, 60]
[nodes.live_tv]
image = "images/live_tv.png"
region = [40, 30, 300, 44]
[nodes.guide]
image = "images/guide.png"
region = [0, 0, 1280, 60]
[nodes.settings]
image = "images/settings.png"
region = [0, 0, 1280, 60]
[subtrees.settings]
file = "settings/tree.toml"

[[edges]]
from = "*"
to = "home"
keys = ["KEY_HOME"]
timeout = 6
[[edges]]
from = "home"
to = "settings"
keys = ["KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_RIGHT", "KEY_LEFT", "KEY_OK"]
[[edges]]
from = "home"
to = "live_tv"
keys = ["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_OK"]
[[edges]]
from = "live_tv"
to = "guide"
keys = ["KEY_EPG"]
[[edges]]
from = "home"
to = "guide"
keys = ["KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_LEFT", "KEY_RIGHT", "KEY_OK"]
cost = 0.5
"""
B_SUBTREE = """
[nodes.about]
image = "../images/about.png"
region = [0, 0, 1280, 60]
[[edges]]
from = "settings"
to = "about"
keys = ["KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_DOWN", "KEY_OK"]
[[edges]]
from = "about"
to = "settings"
keys = ["KEY_BACK"]
"""


def write_b_tree(folder: Path) -> Path:
    shutil.copytree(IMAGES, folder / "images")
    (folder / "settings").mkdir()
    (folder / "tree.toml").write_text(B_TREE)
    (folder / "settings" / "tree.toml").write_text(B_SUBTREE)
    return folder / "tree.toml"
