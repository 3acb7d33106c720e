"""Reading the SVG that ``virtualpy nav draw`` writes (test_nav_draw.py, test_nav_validate.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def svg_texts(path: Path) -> list[str]:
    """Every text line of an SVG (parsing it also proves it is well-formed XML)."""
    root = ET.parse(path).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return [t.text.strip() for t in root.iter("{http://www.w3.org/2000/svg}text") if t.text]
