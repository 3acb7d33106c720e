"""Finding a reference image in a video frame: `match`, `match_all`, `wait_for_match`.

This module is the matcher's front door (``from pytest_virtualpy.vision.match
import match, MatchParameters`` keeps working); the code lives in
``match_params`` (`MatchParameters`, `MatchMethod`, `ConfirmMethod`),
``match_result`` (`MatchResult`), ``match_reference`` (the reference cache),
``match_score`` and ``match_search`` (the two passes below), ``match_find``
(`match`, `match_all`, scales) and ``match_wait`` (`wait_for_match`).

The algorithm has two passes, like stb-tester's:

1. **Find candidates** with ``cv2.matchTemplate``. To keep this cheap at capture
   rate, large searches run coarse-to-fine: the frame and the reference are
   shrunk (grayscale, area-averaged, by 2 or 4 so that the shrunk reference
   is still at least 6 px; by 8 for references of 128 px and more), and the
   coarse score map's peaks above a relaxed threshold are followed down the
   pyramid, best first, in a +-1 px window per level (`match`: up to 16
   peaks, 48 for small references whose shrunk text or icon ranks poorly,
   stopping at the first one that scores 0.998 in colour; `match_all`: every
   peak). The frame's pyramid levels are built once per search and shared by
   all candidates. A small reference (up to 64 x 64 px) that had more coarse
   peaks than could be followed and found nothing is searched again one
   level finer (shrunk, a textured icon cut from video loses what tells it
   apart), and a candidate of one is looked at +-4 px around before it is
   judged (on smooth video the climb can stop a few pixels short). The
   reported ``first_pass_result`` is the exact
   full-resolution (colour) score. Small searches (few positions, or a
   reference up to 64 x 64 px in a region of at most 400 x 400 px), and
   references the same size as the region, are scored directly at full
   resolution.
2. **Confirm** the best candidates: the absolute difference between reference
   and frame at that position, thresholded and eroded (so single-pixel noise
   doesn't count), must leave no differing pixels; the first candidate that
   fails ends the search, as in stb-tester. A small reference (up to 64 x 64
   px) found coarse-to-fine with a score under 0.998 is searched again at
   full resolution and judged at the best place, as stb-tester does: on
   video many places pass the first pass, and the one the coarse pass led
   to may pass confirmation by luck. Candidates are ranked in
   gray but judged by their exact colour score, so the same tile with another
   highlight colour is rejected there. Only when gray was fooled (a candidate
   looked right in gray and wrong in colour) is the search redone with a
   colour coarse pass, skipping places already refuted, so a hard negative
   costs one extra coarse pass rather than a thorough retry.

``confirm_threshold`` follows current stb-tester: higher is stricter (a pixel
differs when its difference exceeds ``(1 - confirm_threshold) * 255``).

Transparency: pixels of the reference with alpha < 255 are ignored. A reference
that is completely transparent matches everywhere (score 1.0), like stb-tester.
A reference larger than the (clipped) search region never matches: `match`
returns a falsy result and `match_all` yields nothing.

Scale: ``MatchParameters(scales=(1.0, 2 / 3))`` searches the reference at its
own size and at 2/3 of it (a reference cut from a 1080p screenshot, on a 720p
capture); the best match wins and reports its ``scale``. The default (None)
searches one size only, at the same cost as before scales existed.

Example::

    from pytest_virtualpy.vision.match import MatchParameters, match

    result = match("images/ok-button.png", frame, params=MatchParameters(scales=(1.0, 0.667)))
    assert result, result
"""

from .match_find import match, match_all
from .match_params import ConfirmMethod, MatchMethod, MatchParameters
from .match_result import MatchResult
from .match_wait import wait_for_match

__all__ = [
    "ConfirmMethod",
    "MatchMethod",
    "MatchParameters",
    "MatchResult",
    "match",
    "match_all",
    "wait_for_match",
]
