"""Navigation subtrees and recovery keys (no device needed).

A subtree file's nodes are addressed by path (``settings/network/wifi``), reach their
parent's nodes and the root's (``/...``); its mistakes name the subtree file (its
unreachable nodes too), and a subtree that includes itself, directly or through others,
is refused, naming the loop. ``[recovery] keys`` (KEY_BACK unless given) is
the root tree's: a subtree's is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation import ImageCheck, load_tree, shortest_path
from tests import nav_tree_files
from tests.nav_tree_files import EDGES, line_of, write_tree

tree_dir = nav_tree_files.tree_dir  # the fixture: a folder of stand-in images


def _subtree_project(tmp_path) -> Path:
    img = Image.fromarray(np.full((8, 8, 3), 9, np.uint8))
    (tmp_path / "settings" / "images").mkdir(parents=True)
    (tmp_path / "settings" / "network").mkdir()
    for name in ("home", "settings"):
        img.save(tmp_path / f"{name}.png")
    for name in ("network", "picture"):
        img.save(tmp_path / "settings" / "images" / f"{name}.png")
    img.save(tmp_path / "settings" / "network" / "wifi.png")
    (tmp_path / "nav.toml").write_text(
        '[nodes.home]\nimage = "home.png"\n'
        '[nodes.settings]\nimage = "settings.png"\n'
        '[subtrees.settings]\nfile = "settings/tree.toml"\n'
        '[[edges]]\nfrom = "*"\nto = "home"\nkeys = ["KEY_HOME"]\n'
        '[[edges]]\nfrom = "home"\nto = "settings"\nkeys = ["KEY_MENU"]\n'
        '[[edges]]\nfrom = "settings"\nto = "settings/network"\nkeys = ["KEY_DOWN", "KEY_OK"]\n'
    )
    (tmp_path / "settings" / "tree.toml").write_text(
        '[nodes.network]\nimage = "images/network.png"\n'
        '[nodes.picture]\nimage = "images/picture.png"\n'
        '[subtrees.network]\nfile = "network/tree.toml"\n'
        '[[edges]]\nfrom = "network"\nto = "picture"\nkeys = ["KEY_UP"]\n'
        '[[edges]]\nfrom = "picture"\nto = "settings"\nkeys = ["KEY_BACK"]\n'  # the parent's
        '[[edges]]\nfrom = "network"\nto = "network/wifi"\nkeys = ["KEY_OK"]\n'
    )
    (tmp_path / "settings" / "network" / "tree.toml").write_text(
        '[nodes.wifi]\nimage = "wifi.png"\n'
        '[[edges]]\nfrom = "wifi"\nto = "/settings/picture"\nkeys = ["KEY_BACK", "KEY_UP"]\n'
    )
    return tmp_path / "nav.toml"


def test_subtrees_address_their_nodes_by_path(tmp_path):
    tree = load_tree(_subtree_project(tmp_path))
    assert tree.nodes == [
        "home",
        "settings",
        "settings/network",
        "settings/picture",
        "settings/network/wifi",
    ]
    assert tree.node("settings/network").recogniser == ImageCheck(
        tmp_path / "settings" / "images" / "network.png"
    )
    assert tree.node("settings/network/wifi").where == (f"{tmp_path}/settings/network/tree.toml:1")
    pairs = [(e.source, e.target) for e in tree.edges]
    assert ("settings/picture", "settings") in pairs  # a subtree reaches its parent's node
    assert ("settings/network/wifi", "settings/picture") in pairs  # "/..." is from the root
    route = shortest_path(tree, "home", "settings/network/wifi")
    assert [e.target for e in route] == ["settings", "settings/network", "settings/network/wifi"]


def test_subtree_mistakes_name_the_subtree_file(tmp_path):
    path = _subtree_project(tmp_path)
    sub = tmp_path / "settings" / "tree.toml"
    sub.write_text(sub.read_text() + '[[edges]]\nfrom = "picture"\nto = "sound"\nkeys = ["K"]\n')
    with pytest.raises(ConfigError, match="unknown node 'sound'") as e:
        load_tree(path)
    assert f"settings/tree.toml:{line_of(sub, 'sound')}:" in str(e.value)
    (tmp_path / "settings" / "network" / "tree.toml").unlink()
    with pytest.raises(ConfigError, match="network/tree.toml does not exist") as e:
        load_tree(path)
    assert f"settings/tree.toml:{line_of(sub, 'network/tree.toml')}:" in str(e.value)


def test_unreachable_subtree_nodes_are_named_by_path_in_their_file(tmp_path):
    path = _subtree_project(tmp_path)
    sub = tmp_path / "settings" / "tree.toml"
    sub.write_text(
        sub.read_text() + '[nodes.sound]\nimage = "images/picture.png"\n'
        '[nodes.volume]\nimage = "images/picture.png"\n'
        '[[edges]]\nfrom = "sound"\nto = "volume"\nkeys = ["KEY_OK"]\n'
        '[[edges]]\nfrom = "volume"\nto = "sound"\nkeys = ["KEY_BACK"]\n'
    )
    with pytest.raises(ConfigError, match="unreachable") as e:
        load_tree(path)
    for name in ("sound", "volume"):
        assert (
            f"settings/tree.toml:{line_of(sub, f'[nodes.{name}]')}: node 'settings/{name}' "
            "is unreachable"
        ) in str(e.value)
    assert str(e.value).count("unreachable:") == 2


@pytest.mark.parametrize(
    ("file", "includer", "loop"),
    [
        ("tree.toml", "settings/tree.toml", "settings/tree.toml -> settings/tree.toml"),
        (
            "../tree.toml",
            "settings/network/tree.toml",
            "settings/tree.toml -> settings/network/tree.toml -> settings/tree.toml",
        ),
        (
            "../../nav.toml",
            "settings/network/tree.toml",
            "nav.toml -> settings/tree.toml -> settings/network/tree.toml -> nav.toml",
        ),
    ],
    ids=["itself", "its-parent", "the-root"],
)
def test_a_subtree_that_includes_itself_is_refused(tmp_path, file, includer, loop):
    path = _subtree_project(tmp_path)
    sub = tmp_path / includer
    if includer == "settings/tree.toml":
        sub.write_text(sub.read_text().replace("network/tree.toml", file))
    else:
        sub.write_text(f'[subtrees.again]\nfile = "{file}"\n' + sub.read_text())
    looped = loop.split(" -> ")[0]
    with pytest.raises(ConfigError, match="includes itself") as e:
        load_tree(path)
    line = line_of(sub, "[subtrees.")
    assert f"{includer}:{line}: {looped} includes itself (through {loop})" in str(e.value)


def test_one_file_mounted_twice_is_no_loop(tmp_path):
    path = _subtree_project(tmp_path)
    text = path.read_text() + '[subtrees.wired]\nfile = "settings/network/tree.toml"\n'
    path.write_text(text + '[[edges]]\nfrom = "home"\nto = "wired/wifi"\nkeys = ["KEY_0"]\n')
    assert "wired/wifi" in load_tree(path).nodes


def test_recovery_keys(tree_dir):
    path = write_tree(tree_dir, EDGES)
    assert load_tree(path).recovery_keys == ("KEY_BACK",)  # the default
    path.write_text('[recovery]\nkeys = ["KEY_EXIT", "KEY_BACK"]\n' + path.read_text())
    assert load_tree(path).recovery_keys == ("KEY_EXIT", "KEY_BACK")
    path.write_text(path.read_text().replace('["KEY_EXIT", "KEY_BACK"]', "[]"))
    assert load_tree(path).recovery_keys == ()
    path.write_text(path.read_text().replace("keys = []", 'keys = "KEY_BACK"'))
    with pytest.raises(ConfigError, match=r"nav.toml:1: \[recovery\] takes keys"):
        load_tree(path)
    sub = _subtree_project(tree_dir / "sub")
    (tree_dir / "sub" / "settings" / "tree.toml").write_text(
        '[recovery]\nkeys = []\n[nodes.network]\nimage = "images/network.png"\n'
    )
    with pytest.raises(ConfigError, match="settings/tree.toml:1: unknown section 'recovery'"):
        load_tree(sub)
