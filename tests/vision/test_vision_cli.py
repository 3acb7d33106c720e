"""``python -m pytest_virtualpy.vision match``: the threshold-tuning tool."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np

from pytest_virtualpy.vision.cli import main


def _scene(tmp_path):
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 60, (360, 640, 3), dtype=np.uint8)
    tile = rng.integers(0, 255, (40, 90, 3), dtype=np.uint8)
    frame[200:240, 300:390] = tile
    cv2.imwrite(str(tmp_path / "frame.png"), frame)
    cv2.imwrite(str(tmp_path / "tile.png"), tile)
    other = tile.copy()
    other[:, :, 2] = 255 - other[:, :, 2]
    cv2.imwrite(str(tmp_path / "other.png"), other)
    return tmp_path


def test_match_prints_result_and_writes_annotated_image(tmp_path, capsys):
    d = _scene(tmp_path)
    out = d / "ann.png"
    assert main(["match", str(d / "frame.png"), str(d / "tile.png"), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "MATCH at Region(x=300, y=200, width=90, height=40)" in printed
    annotated = cv2.imread(str(out))
    assert annotated.shape == (360, 640, 3)
    assert tuple(annotated[200, 300]) == (0, 200, 0)  # the green candidate box


def test_no_match_exits_1_and_region_is_drawn(tmp_path, capsys):
    d = _scene(tmp_path)
    code = main(
        ["match", str(d / "frame.png"), str(d / "other.png"), "--region", "250,150,200,150"]
    )
    assert code == 1
    assert "NO MATCH" in capsys.readouterr().out
    assert (d / "frame-annotated.png").exists()


def test_unreadable_input_is_a_clear_error(tmp_path, capsys):
    assert main(["match", str(tmp_path / "missing.png"), str(tmp_path / "x.png")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_runs_as_a_module(tmp_path):
    d = _scene(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_virtualpy.vision",
            "match",
            str(d / "frame.png"),
            str(d / "tile.png"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "annotated image:" in proc.stdout
