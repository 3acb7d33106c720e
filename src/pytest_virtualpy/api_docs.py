"""The API reference, docs/api.md, generated from the docstrings (as stb-tester's is).

It covers what a test writer touches: the fixtures (``lab``, ``stb``, ``tv_screen``,
``remote``, ``power``, ``serial``, ``adb``) and their objects' public methods, the
results those return, `pytest_virtualpy.vision` and `pytest_virtualpy.errors`.
Regenerate it after changing a docstring; ``tests/test_api_docs.py`` fails while it
is out of date, and while a public name has no docstring with an example::

    python -m pytest_virtualpy.api_docs            # writes docs/api.md
    python -m pytest_virtualpy.api_docs --check    # exit status 1 if it is stale
    python dev.py api-docs                         # the same as the first
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import inspect
import re
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pytest_virtualpy import errors, fixtures, vision
from pytest_virtualpy.audio import Audio
from pytest_virtualpy.docstrings import has_example, signature, to_markdown
from pytest_virtualpy.lab.session import LabSession
from pytest_virtualpy.remote import Remote
from pytest_virtualpy.stb import Adb, Power, Serial, SimControl, Stb
from pytest_virtualpy.tv_screen import TvScreen

#: docs/api.md of a source checkout
DEFAULT_OUTPUT = Path(__file__).resolve().parents[2] / "docs" / "api.md"

#: (what a test writes, the class of the object it gets)
FIXTURE_OBJECTS: tuple[tuple[str, type], ...] = (
    ("lab", LabSession),
    ("stb", Stb),
    ("stb.audio", Audio),
    ("stb.sim", SimControl),
    ("tv_screen", TvScreen),
    ("remote", Remote),
    ("power", Power),
    ("serial", Serial),
    ("adb", Adb),
)


@dataclass(frozen=True)
class Entry:
    """One documented name: ``title`` as a test writes it, ``obj`` what documents it.

    ``call`` is the name its signature is shown after (None: no signature, as for a
    fixture or the constructor of a fixture's object, which tests never call);
    ``required``: it must have a docstring with an example (`has_example`).

    >>> Entry("vision.match", vision.match, "function", "match").anchor
    'visionmatch'
    """

    title: str
    obj: object
    kind: str  # "fixture", "class", "function", "method", "property", "exception"
    call: str | None = None
    required: bool = True

    @property
    def anchor(self) -> str:
        """The heading's anchor as GitHub makes it."""
        return re.sub(r"[^a-z0-9_ -]", "", self.title.lower()).replace(" ", "-")

    @property
    def doc(self) -> str:
        """The cleaned docstring ("" if none)."""
        return inspect.cleandoc(getattr(self.obj, "__doc__", None) or "")


# --- what is documented ----------------------------------------------------------------


def members(cls: type) -> Iterator[tuple[str, object, str]]:
    """``(name, documented object, kind)`` of a class's own public methods and properties.

    >>> [name for name, _, _ in members(vision.Region)][:3]
    ['right', 'bottom', 'area']
    """
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            yield name, member, "property"
        elif isinstance(member, staticmethod | classmethod):
            yield name, member.__func__, "method"
        elif inspect.isfunction(member):
            yield name, member, "method"


def returned_classes(func: object) -> list[type]:
    """The classes a function's return annotation names (inside ``list[...]``, ``X | None``).

    Annotations naming what is imported only for type checkers are resolved name by
    name in the function's module, as far as they can be.

    >>> [c.__name__ for c in returned_classes(vision.match_all)]
    ['MatchResult']
    """
    func = func.fget if isinstance(func, property) else func
    try:
        return list(dict.fromkeys(_classes_in(typing.get_type_hints(func).get("return"))))
    except Exception:
        text = str(inspect.signature(func, eval_str=False).return_annotation)
    found: list[type] = []
    for name in re.findall(r"[A-Za-z_][\w.]*", text):
        value: object = func.__globals__
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if isinstance(value, type) and value not in found:
            found.append(value)
    return found


def _classes_in(hint: object) -> Iterator[type]:
    if isinstance(hint, type):
        yield hint
    for arg in typing.get_args(hint):
        yield from _classes_in(arg)


def _returned_results(classes: list[type]) -> list[type]:
    """The result dataclasses (outside vision) that the fixtures' methods return."""
    found: list[type] = []
    for cls in classes:
        for _, obj, _ in members(cls):
            for c in returned_classes(obj):
                outside_vision = not c.__module__.startswith(vision.__name__)
                if dataclasses.is_dataclass(c) and outside_vision and c not in found:
                    found.append(c)
    return found


def sections() -> list[tuple[str, str, list[Entry]]]:
    """``(title, introduction, entries)`` of each part of the reference, in order."""
    fixture_entries: list[Entry] = []
    for title, cls in FIXTURE_OBJECTS:
        fixture = getattr(fixtures, title, None)
        if fixture is not None:
            wrapped = getattr(fixture, "_get_wrapped_function", None)
            fixture_entries.append(
                Entry(f"{title} (fixture)", wrapped() if wrapped else fixture, "fixture")
            )
        fixture_entries.append(Entry(f"{title}: {cls.__name__}", cls, "class"))
        for name, obj, kind in members(cls):
            fixture_entries.append(Entry(f"{title}.{name}", obj, kind, f"{title}.{name}"))

    results = [
        Entry(c.__name__, c, "class", c.__name__)
        for c in _returned_results([c for _, c in FIXTURE_OBJECTS])
    ]

    vision_entries: list[Entry] = []
    for name in vision.__all__:
        obj = getattr(vision, name)
        kind = "class" if isinstance(obj, type) else "function"
        vision_entries.append(Entry(f"vision.{name}", obj, kind, name))
        if isinstance(obj, type) and not issubclass(obj, enum.Enum):
            for member, mobj, mkind in members(obj):
                call = f"{name}.{member}"
                vision_entries.append(Entry(call, mobj, mkind, call, required=False))

    error_entries = [
        Entry(f"errors.{name}", obj, "exception", name)
        for name, obj in vars(errors).items()
        if isinstance(obj, type)
        and issubclass(obj, BaseException)
        and obj.__module__ == errors.__name__
    ]
    return [
        ("Fixtures", "What a test asks for by name, and the objects they give.", fixture_entries),
        ("Results of the fixtures", "What the fixtures' methods return.", results),
        ("pytest_virtualpy.vision", _first_paragraph(vision.__doc__), vision_entries),
        ("pytest_virtualpy.errors", _first_paragraph(errors.__doc__), error_entries),
    ]


def entries() -> list[Entry]:
    """Every documented name, in the reference's order.

    >>> any(e.title == "vision.match" for e in entries())
    True
    """
    return [e for _, _, section in sections() for e in section]


def _first_paragraph(doc: str | None) -> str:
    return inspect.cleandoc(doc or "").split("\n\n")[0]


# --- rendering ---------------------------------------------------------------------------


def _fields(cls: type) -> str:
    if not dataclasses.is_dataclass(cls):
        return ""
    names = ", ".join(f"`{f.name}`" for f in dataclasses.fields(cls))
    return f"Fields: {names}.\n\n"


def _enum_members(cls: type) -> str:
    if not issubclass(cls, enum.Enum):
        return ""
    return "Values: " + ", ".join(f"`{m.name}`" for m in cls) + ".\n\n"


def render() -> str:
    """The whole reference, as docs/api.md holds it.

    >>> render().startswith("# API reference")
    True
    """
    out = [
        "# API reference\n",
        "Generated from the docstrings by `python -m pytest_virtualpy.api_docs` "
        "(or `python dev.py api-docs`): edit the docstrings, not this file.\n",
    ]
    parts = sections()
    out.append("\n".join(f"- [{title}](#{Entry(title, None, '').anchor})" for title, *_ in parts))
    for title, intro, section in parts:
        out.append(f"\n## {title}\n\n{intro}\n")
        out.append(", ".join(f"[`{e.title}`](#{e.anchor})" for e in section) + "\n")
        for e in section:
            out.append(f"### {e.title}\n")
            sig = signature(e.obj, e.kind) if e.call else ""
            label = f"*{e.kind}*" if e.kind in ("fixture", "property", "exception") else ""
            if sig:
                out.append(f"{label} `{e.call}{sig}`".strip())
            elif label:
                out.append(label)
            if isinstance(e.obj, type):
                if e.kind == "exception":
                    bases = ", ".join(f"`{b.__name__}`" for b in e.obj.__bases__)
                    out.append(f"Subclass of {bases}.")
                if e.call:
                    out.append(_fields(e.obj) + _enum_members(e.obj))
            out.append(to_markdown(e.doc) if e.doc else "*(no docstring)*\n")
    return "\n".join(x.rstrip("\n") + "\n" for x in out if x)


def main(argv: list[str] | None = None) -> int:
    """Write the reference (or, with ``--check``, say whether it is stale).

    >>> main(["--check", "-o", str(DEFAULT_OUTPUT)])   # doctest: +SKIP
    0
    """
    parser = argparse.ArgumentParser(prog="python -m pytest_virtualpy.api_docs")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python -m pytest_virtualpy.api_docs")
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    missing = [e.title for e in entries() if e.required and not has_example(e.doc)]
    print(f"wrote {args.output}; {len(missing)} names still lack an example")
    return 0


if __name__ == "__main__":
    sys.exit(main())
