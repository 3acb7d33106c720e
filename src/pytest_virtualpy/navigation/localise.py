"""Which node of a navigation tree is on screen now, in one round trip to the daemon.

Every image check of every node goes to the daemon in ONE ``match_many`` call, which
evaluates them on one frame (references are cached there by content, uploaded only
when it says it lacks them) and sends back crops of that same frame for the regions of
text checks; OCR runs here, in the test process, only for the text checks a node's
``all`` / ``any`` still needs. The first node, in file order, whose recogniser holds
is where we are: so the checks go in node order, and a node recognised by images alone
is a "stop group" (once its images all match, the daemon skips the checks after it,
which could not change the answer).

>>> localiser = Localiser(load_tree("examples/navigation.toml"), tv_screen)  # doctest: +SKIP
>>> localiser.locate()                                                      # doctest: +SKIP
'home'
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

from pytest_virtualpy import vision
from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.lab.imaging import png_pixels
from pytest_virtualpy.lab.wire import MATCH_MANY_CHECKS, MATCH_MANY_CROPS, REFERENCE_STORE_BYTES
from pytest_virtualpy.navigation.model import (
    AllOf,
    ImageCheck,
    NavigationTree,
    Recogniser,
    TextCheck,
    holds,
    leaf_checks,
)
from pytest_virtualpy.screen_wire import image_bytes

#: what one daemon call carries (lab_daemon.match_many's bounds)
MAX_IMAGE_CHECKS = MATCH_MANY_CHECKS
MAX_TEXT_REGIONS = MATCH_MANY_CROPS


class Localiser:
    """Evaluates a tree's recognisers on the device's screen (see the module doc).

    ``last_time`` is the lab-host capture time of the frame the last :meth:`locate` or
    :meth:`holds` looked at (None before the first), for timing hops on the lab clock;
    ``last_matches`` holds that look's match result for each image check it evaluated
    (the evidence of an arrival).
    """

    def __init__(self, tree: NavigationTree, tv_screen) -> None:
        self.tree = tree
        self.screen = tv_screen
        self.last_time: float | None = None
        self.last_matches: dict[ImageCheck, vision.MatchResult] = {}
        self._refs: dict[str, bytes] = {}  # sha256 hex -> PNG bytes
        self._decoded = 0  # bytes those take once decoded (the daemon's store bounds it)
        self._sha: dict[ImageCheck, str] = {}
        self._images: list[ImageCheck] = []
        self._regions: list[vision.Region] = []  # distinct regions of text checks
        self._recognisers = [(name, tree.node(name).recogniser) for name in tree.nodes]
        self._add(c for _, rec in self._recognisers for c in leaf_checks(rec))
        # a node recognised by images alone ends the search once it and every node before
        # it were judged: [the last index of those, its images' indices]
        index = {c: i for i, c in enumerate(self._images)}
        self._stops: list[list] = []
        judged = -1
        for _, rec in self._recognisers:
            own = [index[c] for c in leaf_checks(rec) if isinstance(c, ImageCheck)]
            judged = max([judged, *own])
            if own and _images_only(rec):
                self._stops.append([judged, own])

    def _add(self, checks: Iterable[ImageCheck | TextCheck]) -> None:
        for check in checks:
            if isinstance(check, ImageCheck) and check not in self._sha:
                png, sha = _reference_of(check.image)
                if sha not in self._refs:
                    self._decoded += png_pixels(png)[1]
                self._refs[sha] = png
                self._sha[check] = sha
                self._images.append(check)
            elif isinstance(check, TextCheck) and check.region not in self._regions:
                self._regions.append(check.region)
        if self._decoded > REFERENCE_STORE_BYTES:
            raise ConfigError(
                f"{self.tree.path}: its reference images take {self._decoded / 2**20:.0f} MB once "
                f"decoded, more than the {REFERENCE_STORE_BYTES >> 20} MB a lab daemon keeps "
                "for localisation: cut each reference down to the part that tells its screen "
                "apart (a title, a logo), not the whole screen"
            )
        if len(self._images) > MAX_IMAGE_CHECKS or len(self._regions) > MAX_TEXT_REGIONS:
            raise ConfigError(
                f"{self.tree.path}: localisation evaluates at most {MAX_IMAGE_CHECKS} distinct "
                f"image checks and {MAX_TEXT_REGIONS} distinct text regions on one frame; this "
                f"tree has {len(self._images)} and {len(self._regions)}: share regions or "
                "references between nodes"
            )

    def _look(self, images: list[ImageCheck], regions: list[vision.Region], stop=None):
        """A ``leaf(check)`` answering any of ``images`` and text checks in ``regions``, on
        one frame (``stop``: the daemon's stop groups, indices into ``images``)."""
        checks = [(self._sha[c], c.region, None) for c in images]
        try:
            results, crops = self.screen.match_many(self._refs, checks, regions, stop)
        except BadArgument as e:  # a region off the frame: say whose, not "checks[3]"
            raise self._whose(e, images, regions) from None
        self.last_time = (results[0] if results else crops[0]).time
        self.last_matches = {c: r for c, r in zip(images, results, strict=True) if r is not None}
        matched = {c: bool(r) for c, r in self.last_matches.items()}
        crop_of = dict(zip(regions, crops, strict=True))
        read: dict[TextCheck, bool] = {}

        def leaf(check: ImageCheck | TextCheck) -> bool:
            if isinstance(check, ImageCheck):
                return matched[check]
            if check not in read:  # OCR only what an all/any still needs
                read[check] = bool(vision.match_text(check.text, crop_of[check.region]))
            return read[check]

        return leaf

    def _whose(self, error: BadArgument, images, regions) -> Exception:
        """``error`` about ``checks[i]`` / ``crops[i]`` as a ConfigError naming the node."""
        found = re.match(r"(checks|crops)\[(\d+)\]( region)? (.*)", str(error))
        if found is None:
            return error
        kind, index, _, rest = found.groups()
        if kind == "checks":
            check = images[int(index)]
            what, owns = f"image {check.image.name}", lambda c: c == check
        else:
            region = regions[int(index)]
            what = "text check"
            owns = lambda c: isinstance(c, TextCheck) and c.region == region  # noqa: E731
        nodes = [n for n, rec in self._recognisers if any(owns(c) for c in leaf_checks(rec))]
        return ConfigError(
            f"{self.tree.path}: node {', '.join(map(repr, nodes)) or '(a settle check)'}: "
            f"its {what}'s region {rest}"
        )

    def locate(self) -> str | None:
        """The first node (file order) whose recogniser holds on the current frame, or None."""
        leaf = self._look(self._images, self._regions, self._stops)
        return next((name for name, rec in self._recognisers if holds(rec, leaf)), None)

    def holds(self, recogniser: Recogniser) -> bool:
        """Whether ``recogniser`` (a node's, or an edge's settle condition) holds now.

        >>> localiser.holds(tree.node("home").recogniser)   # doctest: +SKIP
        True
        """
        leaves = list(leaf_checks(recogniser))
        self._add(leaves)
        images = list(dict.fromkeys(c for c in leaves if isinstance(c, ImageCheck)))
        regions = list(dict.fromkeys(c.region for c in leaves if isinstance(c, TextCheck)))
        return holds(recogniser, self._look(images, regions))


def _reference_of(path: Path) -> tuple[bytes, str]:
    try:
        st = Path(path).stat()
    except OSError:  # gone: image_bytes says so, clearly
        png = image_bytes(path)
        return png, hashlib.sha256(png).hexdigest()
    return _reference(Path(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=512)
def _reference(path: Path, mtime_ns: int, size: int) -> tuple[bytes, str]:
    """A reference file as PNG bytes and their SHA-256, read and encoded once per version
    of the file (each test's navigator localises with the same tree)."""
    png = image_bytes(path)
    return png, hashlib.sha256(png).hexdigest()


def _images_only(recogniser: Recogniser) -> bool:
    """True when ``recogniser`` holds exactly when all its image checks match."""
    if isinstance(recogniser, ImageCheck):
        return True
    return isinstance(recogniser, AllOf) and all(_images_only(c) for c in recogniser.checks)
