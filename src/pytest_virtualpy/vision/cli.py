"""``python -m pytest_virtualpy.vision``: try the matcher on saved frames.

    python -m pytest_virtualpy.vision match FRAME REFERENCE [--region X,Y,W,H]
        [--match-threshold 0.98] [--confirm-threshold 0.70] [--all] [-o annotated.png]

Prints the result (match or not, where, the first-pass score) and writes the
frame with the searched region and the candidate drawn on it, so you can tune
thresholds without a lab.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

from pytest_virtualpy.errors import ImageError

from .annotate import annotate_match
from .image import load_image
from .match import MatchParameters, match, match_all
from .region import Region


def _region(text: str) -> Region:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X,Y,WIDTH,HEIGHT, got {text!r}") from None
    return Region(x, y, w, h)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pytest_virtualpy.vision",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("match", help="match a reference image against a saved frame")
    m.add_argument("frame", type=Path)
    m.add_argument("reference", type=Path)
    m.add_argument("--region", type=_region, default=Region.ALL)
    defaults = MatchParameters()
    m.add_argument("--match-method", default=str(defaults.match_method))
    m.add_argument("--match-threshold", type=float, default=defaults.match_threshold)
    m.add_argument("--confirm-method", default=str(defaults.confirm_method))
    m.add_argument("--confirm-threshold", type=float, default=defaults.confirm_threshold)
    m.add_argument("--all", action="store_true", help="list every non-overlapping match")
    m.add_argument(
        "-o", "--output", type=Path, help="annotated image to write (default FRAME-annotated.png)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        params = MatchParameters(
            match_method=args.match_method,
            match_threshold=args.match_threshold,
            confirm_method=args.confirm_method,
            confirm_threshold=args.confirm_threshold,
        )
        frame = load_image(args.frame)
        reference = load_image(args.reference)
    except (ImageError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    results = (
        list(match_all(reference, frame, region=args.region, params=params))
        if args.all
        else [match(reference, frame, region=args.region, params=params)]
    )
    for r in results:
        print(
            f"{'MATCH' if r.match else 'NO MATCH'} at {r.region} "
            f"first_pass_result={r.first_pass_result:.4f}"
        )
    if not results:
        print("NO MATCH")
    output = args.output or args.frame.with_name(f"{args.frame.stem}-annotated.png")
    annotated = frame
    for r in results or [None]:
        annotated = annotate_match(annotated, r, args.region)
    cv2.imwrite(str(output), annotated)
    print(f"annotated image: {output}")
    return 0 if any(r.match for r in results) else 1
