"""The navigation tree loader's errors: what is wrong and where (file:line).

Unknown nodes, missing or unreadable images, duplicate names, unreachable nodes (also a
loop of nodes no path leads into), bad edges (a timeout or cost that is not finite, a
settle stillness no shorter than the timeout) and bad nodes each name the line of the tree
file to fix, and a missing tree file is explained; an interrupt node, though, needs no
edge in, and neither does what only an interrupt node leads to (no device needed).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation import load_tree
from tests import nav_tree_files
from tests.nav_tree_files import EDGES, line_of, write_tree

tree_dir = nav_tree_files.tree_dir  # the fixture: a folder of stand-in images


def test_unknown_node_names_the_line_of_the_edge(tree_dir):
    path = write_tree(tree_dir, EDGES + '[[edges]]\nfrom = "home"\nto = "nowhere"\nkeys = ["K"]\n')
    with pytest.raises(ConfigError, match="unknown node 'nowhere'") as e:
        load_tree(path)
    assert f"nav.toml:{line_of(path, 'nowhere')}:" in str(e.value)
    assert "home, live, guide" in str(e.value)  # says what it could have been


def test_missing_image_names_the_line_of_the_image(tree_dir):
    (tree_dir / "about.png").unlink()
    path = write_tree(tree_dir, EDGES)
    with pytest.raises(ConfigError, match="about.png does not exist") as e:
        load_tree(path)
    assert f"nav.toml:{line_of(path, 'about.png')}:" in str(e.value)


def test_an_unreadable_image_names_the_line_of_the_image(tree_dir):
    (tree_dir / "about.png").write_bytes(b"not a picture at all")
    path = write_tree(tree_dir, EDGES)
    with pytest.raises(ConfigError, match="about.png cannot be read as an image") as e:
        load_tree(path)
    assert f"nav.toml:{line_of(path, 'about.png')}:" in str(e.value)
    assert "PNG" in str(e.value)  # says what to give instead


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('[nodes.guide]\nimage = "guide.png"\n', "[nodes.guide]"),
        ('[nodes]\nguide = { image = "guide.png" }\n', "guide = {"),
    ],
    ids=["table", "inline"],
)
def test_duplicate_name_names_its_second_line(tree_dir, extra, needle):
    path = write_tree(tree_dir, EDGES + extra)
    with pytest.raises(ConfigError, match="duplicate name") as e:
        load_tree(path)
    assert "guide" in str(e.value)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


def _last(path: Path, needle: str) -> int:
    return [i + 1 for i, line in enumerate(path.read_text().splitlines()) if needle in line][-1]


def test_unreachable_nodes_are_each_named_with_their_line(tree_dir):
    edges = '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["KEY_OK"]\n'
    edges += '[[edges]]\nfrom = "live"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    path = write_tree(tree_dir, edges)
    with pytest.raises(ConfigError, match="unreachable") as e:
        load_tree(path)
    message = str(e.value)
    for name in ("guide", "settings", "about"):
        assert (
            f"nav.toml:{line_of(path, f'[nodes.{name}]')}: node {name!r} is unreachable" in message
        )
    assert "'home' is unreachable" not in message and "'live' is unreachable" not in message


def test_a_loop_of_nodes_no_path_leads_into_is_unreachable(tree_dir):
    loop = '[nodes.a]\nimage = "home.png"\n[nodes.b]\nimage = "home.png"\n'
    loop += '[[edges]]\nfrom = "a"\nto = "b"\nkeys = ["K"]\n'
    loop += '[[edges]]\nfrom = "b"\nto = "a"\nkeys = ["K"]\n'
    path = write_tree(tree_dir, EDGES + loop)
    with pytest.raises(ConfigError, match="unreachable") as e:
        load_tree(path)
    message = str(e.value)
    for name, other in (("a", "b"), ("b", "a")):
        assert f"nav.toml:{line_of(path, f'[nodes.{name}]')}: node {name!r} is unreachable" in (
            message
        )
        assert 'no path of edges leads to it from the "*" edges\' targets' in message
        assert f"only from {other!r}, which is unreachable too" in message
    assert 'add an [[edges]] to it (to = "a")' in message
    assert "mark it interrupt = true" in message
    assert message.count("unreachable:") == 2  # home, live, guide... are fine


def test_what_only_an_interrupt_node_leads_to_is_reachable(tree_dir):
    extra = '[nodes.popup]\nimage = "home.png"\ninterrupt = true\n'
    extra += '[nodes.offer]\nimage = "home.png"\n'
    extra += '[[edges]]\nfrom = "popup"\nto = "offer"\nkeys = ["KEY_OK"]\n'
    extra += '[[edges]]\nfrom = "offer"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    assert "offer" in load_tree(write_tree(tree_dir, EDGES + extra)).nodes


def test_an_interrupt_node_needs_no_edge_in(tree_dir):
    edges = EDGES + '[[edges]]\nfrom = "popup"\nto = "home"\nkeys = ["KEY_BACK"]\n'
    path = write_tree(tree_dir, edges)
    path.write_text('[nodes.popup]\nimage = "home.png"\ninterrupt = true\n' + path.read_text())
    tree = load_tree(path)
    assert tree.nodes[0] == "popup" and tree.node("popup").interrupt
    assert not tree.node("home").interrupt


@pytest.mark.parametrize(
    ("edges", "message", "needle"),
    [
        ('[[edges]]\nfrom = "home"\nkeys = ["KEY_OK"]\n', "lacks 'to'", "[[edges]]"),
        ('[[edges]]\nfrom = "home"\nto = "live"\nkeys = []\n', "at least one key", "[[edges]]"),
        ('[[edges]]\nfrom = "home"\nto = "home"\nkeys = ["K"]\n', "to itself", "[[edges]]"),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\nkey = 1\n',
            "unknown key 'key'",
            "key = 1",
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\ntimeout = -1\n',
            "timeout must",
            "[[edges]]",
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\nsettle = "soon"\n',
            "settle must",
            "settle =",
        ),
        ("[[edges]\n", "not valid TOML", "[[edges]"),
        *(
            (
                f'[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\n{key} = {value}\n',
                f"{key} must be a finite number",
                "[[edges]]" if key != "settle" else "settle =",
            )
            for key in ("timeout", "cost", "settle")
            for value in ("inf", "nan", "+inf")
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\ntimeout = 2\nsettle = 2\n',
            r"the screen still for 2 s.*timeout is 2 s",
            "settle =",
        ),
        (
            '[[edges]]\nfrom = "home"\nto = "live"\nkeys = ["K"]\nsettle = { stable_secs = 6.5 }\n',
            r"the screen still for 6.5 s.*timeout is 5 s.*could never settle in time",
            "settle =",
        ),
    ],
)
def test_bad_edges_are_explained_with_their_line(tree_dir, edges, message, needle):
    path = write_tree(tree_dir, EDGES + edges)
    with pytest.raises(ConfigError, match=message) as e:
        load_tree(path)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


@pytest.mark.parametrize(
    ("node", "message", "needle"),
    [
        ('imgae = "home.png"', "unknown key 'imgae'", "imgae"),
        (
            'image = "home.png"\nregion = [0, 0, 10]',
            r"region must be \[x, y, width, height\]",
            "region",
        ),
        ('image = "home.png"\nregion = [0, 0, -5, 10]', "bad region", "region"),
        ("all = []", "all must be a non-empty list", "[nodes.extra]"),
        ("region = [0, 0, 10, 10]", "has no recogniser", "[nodes.extra]"),
        ('image = "../outside.png"', "outside the tree's folder", "outside"),
        ("interrupt = 1\nimage = 'home.png'", "interrupt must be true or false", "interrupt"),
    ],
)
def test_bad_nodes_are_explained_with_their_line(tree_dir, node, message, needle):
    path = write_tree(tree_dir, EDGES + '[[edges]]\nfrom = "home"\nto = "extra"\nkeys = ["K"]\n')
    path.write_text(path.read_text() + f"[nodes.extra]\n{node}\n")
    with pytest.raises(ConfigError, match=message) as e:
        load_tree(path)
    assert f"nav.toml:{_last(path, needle)}:" in str(e.value)


def test_a_missing_tree_file_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_tree(tmp_path / "nope.toml")
