"""Region: what stb-tester's ``stbt.Region`` users rely on, in integer pixels.

The cases follow stbt's own Region doctests (``_stbt/types.py``), with the answers
written in our ``(x, y, width, height)`` form.
"""

from __future__ import annotations

import dataclasses
import pickle
import random

import numpy as np
import pytest

from pytest_virtualpy.errors import BadArgument, UsageError
from pytest_virtualpy.vision import Region

# stbt's picture: a and b overlap, c lies inside b
A = Region(0, 0, width=8, height=8)
B = Region(4, 4, right=13, bottom=10)
C = Region(10, 4, width=3, height=2)


def test_right_and_bottom_construction() -> None:
    assert Region(4, 4, 9, 6) == B
    assert (B.right, B.bottom, B.width, B.height) == (13, 10, 9, 6)
    assert Region(4, 4, 9, bottom=10) == B
    assert Region(4, 4, right=13, height=6) == B
    assert Region(x=4, y=4, width=9, height=6) == B
    assert Region.from_extents(4, 4, 13, 10) == B
    assert Region(5, 5, right=5, bottom=5).area == 0  # empty regions stay allowed


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"width": 3, "right": 4, "height": 1}, "either width= or right=, not both"),
        ({"height": 1}, "either width= or right=, not neither"),
        ({"width": 3, "bottom": 4, "height": 1}, "either height= or bottom=, not both"),
        ({"right": 1, "height": 5}, "right must not be left of x"),
        ({"width": 2.5, "height": 1}, "whole number"),
        ({"width": "wide", "height": 1}, "must be an int"),
    ],
)
def test_bad_construction_says_what_is_wrong(kwargs, words) -> None:
    with pytest.raises(BadArgument, match=words) as info:
        Region(3, 3, **kwargs)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)


def test_frozen_hashable_and_wire_form_unchanged() -> None:
    r = Region(10, 20, right=40, bottom=60)
    assert r.to_tuple() == (10, 20, 30, 40)
    assert Region.from_tuple(r.to_tuple()) == r
    assert repr(r) == "Region(x=10, y=20, width=30, height=40)"
    assert {r: 1}[Region(10, 20, 30, 40)] == 1
    assert pickle.loads(pickle.dumps(r)) == r
    assert dataclasses.replace(r, x=0) == Region(0, 20, 30, 40)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.width = 5  # type: ignore[misc]
    assert Region(np.int64(3), 4.0, np.int32(5), 6).to_tuple() == (3, 4, 5, 6)
    assert all(type(v) is int for v in Region(np.int64(3), 4.0, 5, 6).to_tuple())


def test_region_all_still_means_the_whole_frame() -> None:
    assert repr(Region.ALL) == "Region.ALL"
    assert Region.ALL.clip(1280, 720) == Region(0, 0, 1280, 720)
    assert Region.intersect(Region.ALL, C) == C
    assert Region.bounding_box(B, Region.ALL) == Region.ALL
    assert Region.ALL.contains(B)


def test_extend() -> None:
    assert B.extend(x=6, bottom=-4) == C
    assert A.extend(right=5).contains(C)
    assert (A.width, A.extend(x=3).width, A.extend(right=-3).width) == (8, 5, 5)
    assert A.extend() == A
    with pytest.raises(BadArgument, match="right must not be left of x"):
        A.extend(x=9)


def test_replace() -> None:
    assert C.replace(bottom=10) == Region(10, 4, right=13, bottom=10)
    assert C.replace(x=0) == Region(0, 4, right=13, bottom=6)  # right kept, so it grows
    assert C.replace(width=10) == Region(10, 4, 10, 2)
    assert C.replace(x=2, width=3) == Region(2, 4, 3, 2)
    assert C.replace(width=3, right=20) == Region(17, 4, 3, 2)
    assert C.replace(y=0, height=1, x=0, right=1) == Region(0, 0, 1, 1)
    assert C.replace() == C
    with pytest.raises(BadArgument, match="at most two of x, width and right"):
        C.replace(x=1, width=2, right=3)
    with pytest.raises(BadArgument, match="at most two of y, height and bottom"):
        C.replace(y=1, height=2, bottom=3)


def test_intersect_static_and_method_forms() -> None:
    assert Region.intersect(A, B) == Region(4, 4, right=8, bottom=8)
    assert A.intersect(B) == Region.intersect(B, A) == Region(4, 4, 4, 4)
    assert Region.intersect(C, B) == C
    assert Region.intersect(A, C) is None
    assert Region.intersect(None, A) is None and Region.intersect(A, None) is None
    assert A.intersect(None) is None
    assert Region.intersect(A) == A
    assert Region.intersect() == Region.ALL
    assert Region.intersect(A, B, Region(0, 0, 6, 5)) == Region(4, 4, 2, 1)
    assert A.intersect(B, Region(0, 0, 6, 5)) == Region(4, 4, 2, 1)
    # touching edges are no overlap
    assert Region(0, 0, 10, 10).intersect(Region(10, 0, 5, 5)) is None


def test_bounding_box() -> None:
    a = Region(50, 20, right=60, bottom=40)
    b = Region(20, 30, right=30, bottom=50)
    c = Region(55, 25, right=70, bottom=35)
    assert Region.bounding_box(a, b) == Region(20, 20, right=60, bottom=50)
    assert Region.bounding_box(b, b) == b
    assert Region.bounding_box(None, b) == Region.bounding_box(b, None) == b
    assert Region.bounding_box(None, None) is None and Region.bounding_box() is None
    assert Region.bounding_box(b) == b
    assert Region.bounding_box(a, b, c) == Region.bounding_box(a, Region.bounding_box(b, c))
    assert a.bounding_box(b) == Region.bounding_box(a, b)


def test_bounding_box_and_intersect_agree_with_pixels() -> None:
    """On random regions, both agree with painting the regions' pixels."""
    rng = random.Random(11)
    for _ in range(200):
        regions = [
            Region(
                rng.randrange(0, 40),
                rng.randrange(0, 40),
                rng.randrange(1, 30),
                rng.randrange(1, 30),
            )
            for _ in range(rng.randrange(1, 4))
        ]
        painted = np.zeros((len(regions), 80, 80), bool)
        for i, r in enumerate(regions):
            painted[i][r.to_slice()] = True
        overlap = painted.all(axis=0)
        inter = Region.intersect(*regions)
        if inter is None:
            assert not overlap.any()
        else:
            expected = np.zeros((80, 80), bool)
            expected[inter.to_slice()] = True
            assert np.array_equal(overlap, expected)
        ys, xs = np.nonzero(painted.any(axis=0))
        box = Region.bounding_box(*regions)
        assert box == Region(xs.min(), ys.min(), right=xs.max() + 1, bottom=ys.max() + 1)


def test_sorting_follows_stbt() -> None:
    """stbt's Region is a (x, y, right, bottom) tuple, so it sorts in that order."""
    rng = random.Random(3)
    regions = [
        Region(rng.randrange(5), rng.randrange(5), rng.randrange(1, 4), rng.randrange(1, 4))
        for _ in range(100)
    ]
    assert sorted(regions) == sorted(regions, key=lambda r: (r.x, r.y, r.right, r.bottom))
    assert sorted([C, B, A]) == [A, B, C]
    assert Region(0, 5, 1, 1) < Region(1, 0, 1, 1)
    assert Region(0, 0, 1, 1) < Region(0, 1, 1, 1) < Region(0, 1, 2, 1) < Region(0, 1, 2, 2)
    assert max([A, B, C]) == C
    with pytest.raises(TypeError):
        sorted([A, (0, 0, 1, 1)])  # type: ignore[list-item]


def test_dilate_and_erode() -> None:
    r = Region(20, 30, right=30, bottom=50)
    assert r.dilate(3) == Region(17, 27, right=33, bottom=53)
    assert r.erode(3) == Region(23, 33, right=27, bottom=47)
    assert r.dilate(3).erode(3) == r
    assert Region(20, 30, 10, 20).erode(5) is None
    assert Region(20, 30, 11, 20).erode(5) == Region(25, 35, 1, 10)


def test_neighbours() -> None:
    assert C.above(3) == Region(10, 1, 3, 3)
    assert C.below(3) == Region(10, 6, 3, 3)
    assert A.right_of(width=2) == Region(8, 0, right=10, bottom=8)
    assert C.left_of(4) == Region(6, 4, 4, 2)
    # with no size: to the edge of any frame
    assert C.above() == Region(10, 0, 3, 4)
    assert C.left_of() == Region(0, 4, 10, 2)
    assert C.below().clip(1280, 720) == Region(10, 6, right=13, bottom=720)
    assert A.right_of().clip(1280, 720) == Region(8, 0, right=1280, bottom=8)
    assert C.below().bottom == Region.ALL.bottom and A.right_of().right == Region.ALL.right
    assert Region(0, 0, 5, 5).above() == Region(0, 0, 5, 0)  # nothing is above the top


def test_contains_regions_and_points() -> None:
    assert (B.contains(C), A.contains(B), C.contains(B), C.contains(None)) == (
        True,
        False,
        False,
        False,
    )
    assert B.contains(C.center) and not A.contains(B.center)
    assert B.contains((4, 4)) and not B.contains((13, 4)) and not B.contains((4, 10))
    assert B.center == B.centre == (8, 7)
    with pytest.raises(BadArgument, match="a Region, an \\(x, y\\) point or None"):
        B.contains("here")  # type: ignore[arg-type]


def test_translate_like_stbt() -> None:
    assert C.translate(-9, -3) == Region(1, 1, right=4, bottom=3)
    assert C.translate(x=-9, y=-3) == Region(1, 1, right=4, bottom=3)
    assert C.translate(y=2) == Region(10, 6, 3, 2)
    assert Region(2, 3, 2, 1).translate(B) == Region(6, 7, right=8, bottom=8)
    assert Region(2, 3, 2, 1).translate((4, 4)) == Region(6, 7, 2, 1)
    with pytest.raises(BadArgument, match="not both"):
        C.translate(B, 3)  # type: ignore[call-overload]


def test_to_slice_never_wraps_round() -> None:
    frame = np.arange(100).reshape(10, 10)
    assert frame[Region(-3, 0, 5, 1).to_slice()].tolist() == [[0, 1]]
    assert frame[Region(8, 8, 5, 5).to_slice()].tolist() == [[88, 89], [98, 99]]
    assert frame[Region(-5, -5, 2, 2).to_slice()].size == 0
