"""``virtualpy nav draw TREE -o tree.svg`` (issue 11, "Navigation model").

The measured costs drawn end to end (from a real validation run's results database)
are checked in tests/test_nav_validate.py; here: the files, their text, the labels.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_virtualpy.cli import main
from pytest_virtualpy.errors import ConfigError
from pytest_virtualpy.navigation.draw import ANY_SCREEN, draw
from pytest_virtualpy.navigation.model import load_tree
from pytest_virtualpy.results.db import Database, parse_url
from pytest_virtualpy.results.records import RunRecord, TestRecord
from pytest_virtualpy.results.sink import Sink
from tests import grafana_seed
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


MATHTEXT_NAMES = ("a\\b$^$", "Rent $5 or buy $10")


def test_names_with_dollars_and_backslashes_stay_text(tmp_path, capsys):
    tree = tmp_path / "prices.toml"
    tree.write_text(
        "[nodes.'a\\b$^$']\ntext = \"A\"\n"
        '[nodes."Rent $5 or buy $10"]\ntext = "Rent"\n'
        "[[edges]]\nfrom = '*'\nto = 'a\\b$^$'\nkeys = [\"KEY_HOME\"]\n"
        '[[edges]]\nfrom = \'a\\b$^$\'\nto = "Rent $5 or buy $10"\nkeys = ["KEY_OK"]\n'
    )
    assert set(load_tree(tree).nodes) == set(MATHTEXT_NAMES)
    out = tmp_path / "prices.svg"
    assert main(["nav", "draw", str(tree), "-o", str(out), "--results-db", "off"]) == 0
    assert set(MATHTEXT_NAMES) <= set(svg_texts(out))  # as text, not mathtext paths
    assert "Traceback" not in capsys.readouterr().err


def test_unwritable_outputs_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "folder.svg").mkdir()
    (tmp_path / "file").write_text("not a folder")
    for output, says in [
        ("folder.svg", "folder.svg: it is a folder, not a file: give a file name such as"),
        ("file/tree.svg", "cannot create the folder"),
    ]:
        assert main(["nav", "draw", str(EXAMPLE), "-o", str(tmp_path / output)]) == 2
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1 and "Traceback" not in err
    # a missing parent folder is created, like most tools do
    assert main(["nav", "draw", str(EXAMPLE), "-o", str(tmp_path / "a/b/t.svg")]) == 0
    assert (tmp_path / "a" / "b" / "t.svg").is_file()


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("postgresql://nouser@127.0.0.1:1/x", "cannot connect to Postgres at postgresql://nouser@"),
        ("/nonexistent/dir/r.db", "no results database at /nonexistent/dir/r.db"),
    ],
)
def test_an_unusable_explicit_results_db_is_an_error(tmp_path, monkeypatch, capsys, value, says):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "t.svg"
    assert main(["nav", "draw", str(EXAMPLE), "-o", str(out), "--results-db", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("virtualpy nav draw: ") and says in err and "Traceback" not in err
    assert not out.exists()  # nothing drawn without the history that was asked for
    monkeypatch.setenv("VIRTUALPY_RESULTS_DB", value)  # the environment's is explicit too
    assert main(["nav", "draw", str(EXAMPLE), "-o", str(out)]) == 2
    assert says in capsys.readouterr().err


def test_an_explicit_results_db_without_nav_history_draws_nothing_measured(tmp_path, capsys):
    url = parse_url(str(tmp_path / "r.db"), tmp_path)
    Database.connect(url).close()  # a real, migrated database with no walks in it yet
    out = tmp_path / "t.svg"
    assert main(["nav", "draw", str(EXAMPLE), "-o", str(out), "--results-db", str(url)]) == 0
    assert "(0 measured)" in capsys.readouterr().out


@pytest.fixture
def postgres_url():
    """A scratch Postgres database of our own (dropped afterwards)."""
    if why := grafana_seed.postgres_available():
        pytest.skip(why)
    name, url = grafana_seed.create_scratch_db("vp_nav_draw")
    yield url
    grafana_seed.drop_db(name)


def test_measured_costs_come_from_a_postgres_results_db(tmp_path, capsys, postgres_url):
    db = Database.connect(parse_url(postgres_url, tmp_path))
    test = TestRecord("r1", "t.py::test_a", "passed", device="box-1", model="m1", lab="lab")
    kpi = {"name": "nav:home->guide", "device": "box-1", "value_ms": 1500.0, "time": time.time()}
    test.kpis = [kpi]
    Sink(db).write(RunRecord("r1", started_at=time.time()), [test])
    db.close()
    out = tmp_path / "t.svg"
    argv = ["nav", "draw", str(EXAMPLE), "-o", str(out), "--results-db", postgres_url]
    assert main(argv) == 0
    assert "(1 measured)" in capsys.readouterr().out
    assert "1.50 s, 100% ok (1)" in svg_texts(out)
