"""Region, Frame and load_image."""

from __future__ import annotations

import pickle

import cv2
import numpy as np
import pytest

from pytest_virtualpy.errors import ImageError
from pytest_virtualpy.vision import Frame, Region, load_image, load_mask


def test_region_basics() -> None:
    r = Region(10, 20, 30, 40)
    assert (r.right, r.bottom) == (40, 60)
    assert r.to_tuple() == (10, 20, 30, 40)
    assert Region.from_tuple([10, 20, 30, 40]) == r
    assert repr(r) == "Region(x=10, y=20, width=30, height=40)"
    assert str(Region.ALL) == "Region.ALL"
    assert hash(r) == hash(Region(10, 20, 30, 40))
    with pytest.raises(AttributeError):
        r.x = 5  # type: ignore[misc]


def test_region_intersect_and_clip() -> None:
    assert Region(0, 0, 10, 10).intersect(Region(5, 5, 10, 10)) == Region(5, 5, 5, 5)
    assert Region(0, 0, 10, 10).intersect(Region(10, 0, 5, 5)) is None
    assert Region(-10, -10, 50, 50).clip(1280, 720) == Region(0, 0, 40, 40)
    assert Region.ALL.clip(1280, 720) == Region(0, 0, 1280, 720)
    assert Region(2000, 0, 10, 10).clip(1280, 720) is None
    with pytest.raises(ValueError):
        Region(0, 0, -1, 5)


def test_frame_keeps_time() -> None:
    f = Frame(np.zeros((720, 1280, 3), np.uint8), time=3.25)
    assert f.time == 3.25
    assert f[10:20, 10:20].time == 3.25
    assert Frame(f).time == 3.25
    assert (f + 1).time == 3.25
    assert pickle.loads(pickle.dumps(f)).time == 3.25
    assert Frame(np.zeros((2, 2), np.uint8)).time is None
    assert "time=3.250" in repr(f)


def test_load_image_formats(tmp_path) -> None:
    bgr = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), bgr)
    assert np.array_equal(load_image(tmp_path / "a.png"), bgr)
    bgra = np.dstack([bgr, np.full((20, 30), 255, np.uint8)])
    cv2.imwrite(str(tmp_path / "b.png"), bgra)
    assert load_image(str(tmp_path / "b.png")).shape == (20, 30, 4)
    cv2.imwrite(str(tmp_path / "c.png"), bgr.astype(np.uint16) * 257)
    c = load_image(tmp_path / "c.png")
    assert c.dtype == np.uint8 and np.array_equal(c, bgr)
    assert load_image(bgr, color="gray").shape == (20, 30)
    with pytest.raises(ImageError, match="numpy array"):
        load_image(12)  # type: ignore[arg-type]


def test_load_mask(tmp_path) -> None:
    m = np.zeros((10, 10), np.uint8)
    m[2:5, 2:5] = 7
    out = load_mask(m, (10, 10, 3))
    assert out is not None and set(np.unique(out)) == {0, 255}
    with pytest.raises(ImageError, match="same size"):
        load_mask(m, (20, 20, 3))
    assert load_mask(None) is None
