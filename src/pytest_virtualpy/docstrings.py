"""What a docstring shows, and how it reads in Markdown (for docs/api.md).

`has_example` is the rule the API reference test holds every public name to: its
docstring shows an example, as a ``>>>`` line or a code block. `to_markdown` turns the
project's reST-flavoured docstrings (``literals``, :class:`roles`, ``::`` blocks,
doctests) into Markdown, and `signature` writes a call's signature as the source has it::

    from pytest_virtualpy.docstrings import has_example, to_markdown
    assert has_example(match.__doc__)
    print(to_markdown(match.__doc__))
"""

from __future__ import annotations

import enum
import inspect
import re
import textwrap


def has_example(doc: str) -> bool:
    """Whether a docstring shows an example: a ``>>>`` line or a code block.

    A code block is fenced with ``` or is an indented block after a line ending in ``::``.

    >>> has_example("Match an image.")
    False
    >>> has_example("Match an image.\\n\\n>>> match(ref, frame)")
    True
    >>> has_example("Example::\\n\\n    assert match(ref, frame)")
    True
    """
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith((">>>", "```")):
            return True
        if stripped.endswith("::"):
            indent = len(line) - len(line.lstrip())
            rest = [x for x in lines[i + 1 :] if x.strip()]
            if rest and len(rest[0]) - len(rest[0].lstrip()) > indent:
                return True
    return False


def _annotation(value: object) -> str:
    text = value if isinstance(value, str) else inspect.formatannotation(value)
    return text.replace("vision.", "")


def _default(value: object) -> str:
    text = repr(value)
    return "..." if " at 0x" in text else text  # never an address: the file must be stable


def signature(obj: object, kind: str) -> str:
    """How to call it, annotations as written in the source (``self`` left out).

    >>> from pytest_virtualpy.vision import Region
    >>> signature(Region.extend, "method")
    '(x: int = 0, y: int = 0, right: int = 0, bottom: int = 0) -> Region'
    """
    if kind == "property" or not callable(obj) or isinstance(obj, enum.EnumType):
        return ""
    try:
        sig = inspect.signature(obj, eval_str=False)
    except (TypeError, ValueError):
        return ""
    params = list(sig.parameters.values())
    if kind == "method" and params and params[0].name in ("self", "cls"):
        params = params[1:]
    parts: list[str] = []
    star_done = False
    for p in params:
        if p.kind is p.KEYWORD_ONLY and not star_done:
            parts.append("*")
            star_done = True
        text = p.name
        if p.kind is p.VAR_POSITIONAL:
            text, star_done = f"*{p.name}", True
        elif p.kind is p.VAR_KEYWORD:
            text = f"**{p.name}"
        if p.annotation is not p.empty:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += (" = " if p.annotation is not p.empty else "=") + _default(p.default)
        parts.append(text)
    out = f"({', '.join(parts)})"
    if sig.return_annotation is not sig.empty and not isinstance(obj, type):
        out += f" -> {_annotation(sig.return_annotation)}"
    return out


_ROLE = re.compile(r":(?:class|meth|func|attr|exc|mod|data|obj):`~?([^`]+)`")


def _inline(text: str) -> str:
    """reST inline markup to Markdown: roles and ``literals`` become `code`."""
    text = _ROLE.sub(lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    text = re.sub(r"^:param (\w+):", r"- `\1`:", text)
    text = re.sub(r"^:returns?:", "Returns:", text)
    return re.sub(r"^:raises (\w+):", r"Raises `\1`:", text)


def to_markdown(doc: str) -> str:
    """A docstring as Markdown: doctests and ``::`` blocks fenced, roles as code.

    >>> print(to_markdown("Use it::\\n\\n    x = 1\\n\\nDone."), end="")
    Use it:
    <BLANKLINE>
    ```python
    x = 1
    ```
    <BLANKLINE>
    Done.
    """
    lines = doc.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):  # already fenced: copy through
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            out.extend(x.strip() if k in (i, j) else x for k, x in enumerate(lines[i : j + 1], i))
            i = j + 1
            continue
        if stripped.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(re.sub(r"\s*# doctest:.*$", "", lines[i].strip()))
                i += 1
            out += ["```python", *block, "```"]
            continue
        if stripped.endswith("::"):
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block_lines = []
            while j < len(lines) and (
                not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
            ):
                block_lines.append(lines[j])
                j += 1
            if block_lines:
                head = line.rstrip()[:-2].rstrip()
                if head.strip():
                    out.append(_inline(head + ":"))
                    out.append("")
                while block_lines and not block_lines[-1].strip():
                    block_lines.pop()
                body = textwrap.dedent("\n".join(block_lines))
                out += ["```python", *body.splitlines(), "```", ""]
                i = j
                continue
        if re.match(r":(returns?|raises)\b", stripped) and out and out[-1].strip():
            out.append("")  # not a continuation of a :param: list item
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip() + "\n"
