"""The API reference (docs/api.md) is generated from the docstrings and kept complete.

Fails when a public name of `pytest_virtualpy.vision`, of the fixtures (the fixtures
themselves, their objects' classes and public methods, the results those return) or
of `pytest_virtualpy.errors` has no docstring with an example, and when docs/api.md is
not what ``python -m pytest_virtualpy.api_docs`` writes.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from pytest_virtualpy import api_docs, errors, vision
from pytest_virtualpy.api_docs import entries, render
from pytest_virtualpy.docstrings import has_example, to_markdown

ROOT = Path(__file__).resolve().parents[1]
API_MD = ROOT / "docs" / "api.md"


@pytest.mark.parametrize(
    "doc",
    [
        ">>> match(ref, frame)",
        "Match it.\n\n    >>> assert match(ref, frame)  # doctest: +SKIP",
        "Example::\n\n    assert match(ref, frame)",
        "Use::\n\n\n    x = 1\n",
        "In Markdown:\n\n```python\nmatch(ref, frame)\n```",
    ],
)
def test_examples_are_recognised(doc: str) -> None:
    assert has_example(doc)


@pytest.mark.parametrize(
    "doc",
    [
        "",
        "Match an image against a frame.",
        "Waits ``timeout`` seconds; see :class:`MatchTimeout`.",
        "Returns the region (x::y notation is not a block)::\nno indented block follows",
        "Ends with a colon::",
    ],
)
def test_text_without_an_example_is_refused(doc: str) -> None:
    assert not has_example(doc)


def test_the_reference_covers_the_public_api() -> None:
    titles = {e.title for e in entries()}
    for name in vision.__all__:
        assert f"vision.{name}" in titles
    for fixture in ("lab", "stb", "tv_screen", "remote", "power", "serial", "adb"):
        assert f"{fixture} (fixture)" in titles
    exceptions = [
        n for n, o in vars(errors).items() if inspect.isclass(o) and issubclass(o, Exception)
    ]
    assert "errors.MatchTimeout" in titles and "errors.NavigationError" in titles
    assert {
        f"errors.{n}" for n in exceptions if getattr(errors, n).__module__ == errors.__name__
    } <= titles
    for method in (
        "tv_screen.wait_for_match",
        "tv_screen.wait_for_text",
        "remote.press_and_wait",
        "serial.expect",
        "power.cycle",
        "adb.shell",
        "stb.navigate_to",
        "stb.current_node",
        "stb.audio.wait_for_audio",
    ):
        assert method in titles
    assert {"SerialMatch", "AdbResult", "AudioResult", "Keypress"} <= titles  # results


def test_every_public_name_has_a_docstring_with_an_example() -> None:
    missing = [e.title for e in entries() if e.required and not has_example(e.doc)]
    assert not missing, (
        f"{len(missing)} public names have no docstring with an example (a >>> line or a "
        f"code block): {', '.join(missing)}"
    )


def test_docs_api_md_is_up_to_date() -> None:
    assert API_MD.exists(), "docs/api.md is missing: run python -m pytest_virtualpy.api_docs"
    assert API_MD.read_text(encoding="utf-8") == render(), (
        "docs/api.md is out of date: run python -m pytest_virtualpy.api_docs"
    )


def test_check_mode_tells_a_stale_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "api.md"
    out.write_text("# API reference\n\nold\n", encoding="utf-8")
    assert api_docs.main(["--check", "-o", str(out)]) == 1
    assert "out of date" in capsys.readouterr().out
    assert api_docs.main(["-o", str(out)]) == 0
    assert api_docs.main(["--check", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "### vision.Region" in text and "### serial.expect" in text


def test_docstrings_become_markdown() -> None:
    md = to_markdown(
        "Wait for it; see :class:`~pytest_virtualpy.errors.MatchTimeout`.\n\n"
        "    >>> tv_screen.wait_for_match('ok.png')   # doctest: +SKIP\n\n"
        "Example::\n\n    assert x\n\n:param timeout: seconds, ``10`` by default."
    )
    assert "see `MatchTimeout`." in md
    assert "```python\n>>> tv_screen.wait_for_match('ok.png')\n```" in md
    assert "Example:\n\n```python\nassert x\n```" in md
    assert "- `timeout`: seconds, `10` by default." in md
    assert "doctest" not in md


def test_readme_links_the_reference() -> None:
    assert "(docs/api.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
