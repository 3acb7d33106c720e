"""``virtualpy nav draw TREE -o tree.svg`` (issue 11, "Navigation model").

The measured costs drawn end to end (from a real validation run's results database)
are checked in tests/test_nav_validate.py; here: the files, their text, the labels.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_virtualpy.cli import main
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation.draw import ANY_SCREEN, draw
from pytest_virtualpy.navigation.model import load_tree
from tests.nav_svg import svg_texts

EXAMPLE = Path(__file__).parent.parent / "examples" / "navigation.toml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_svg_names_every_node_and_labels_edges_with_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no results database here: nothing measured
    monkeypatch.delenv("VIRTUALPY_RESULTS_DB", raising=False)
    assert main(["nav", "draw", str(EXAMPLE), "-o", "out/tree.svg"]) == 0
    texts = svg_texts(tmp_path / "out" / "tree.svg")
    tree = load_tree(EXAMPLE)
    assert set(tree.nodes) | {ANY_SCREEN} <= set(texts)
    assert texts.count("KEY_HOME") == 1 and "KEY_EPG" in texts and "6 keys" in texts
    assert not any("ok (" in t for t in texts)  # no history, no success rates


def test_measured_costs_and_success_rates_label_their_edges(tmp_path):
    history = {
        "nav:home->guide": {"mean_ms": 1234.0, "count": 3, "failures": 1},
        "nav:*->home": {"mean_ms": 0.0, "count": 0, "failures": 2},
    }
    texts = svg_texts(draw(load_tree(EXAMPLE), tmp_path / "t.svg", history))
    assert "1.23 s, 75% ok (4)" in texts
    assert "0% ok (2)" in texts  # never arrived: no cost to show, only the failures


def test_png_is_a_png(tmp_path, capsys):
    out = tmp_path / "tree.png"
    assert main(["nav", "draw", str(EXAMPLE), "-o", str(out), "--results-db", "off"]) == 0
    data = out.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert str(out) in capsys.readouterr().out


def test_other_formats_and_bad_trees_say_what_to_do(tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"use a \.svg or \.png"):
        draw(load_tree(EXAMPLE), tmp_path / "tree.pdf")
    assert main(["nav", "draw", str(tmp_path / "missing.toml"), "-o", "t.svg"]) == 2
    assert "missing.toml" in capsys.readouterr().err
