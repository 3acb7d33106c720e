"""What a failed test's report gets: the lab's evidence, and no virtualpy frames.

The plugin's ``pytest_runtest_makereport`` calls these: the last frame (and for a match
timeout an annotated copy) and the serial log saved and named in the report; a usage
error's traceback without virtualpy's own frames; the wait for a free device taken out of
the setup's duration.
"""

from __future__ import annotations

from pathlib import Path

import _pytest
import pluggy
import pytest

from pytest_virtualpy import blame, fixtures
from pytest_virtualpy.errors import LabError, MatchTimeout
from pytest_virtualpy.lab.imaging import encode_image
from pytest_virtualpy.vision import annotate_match


def leave_out_lease_wait(item: pytest.Item, report, ctx) -> None:
    """Waiting for a free device is not the test's time: take it out of the setup's
    duration (it stays in ``lease_wait_ms``, even when the wait ended without a device)."""
    session = item.config.stash[fixtures.SESSION_KEY]
    wait = ctx.lease_wait_ms if ctx is not None else session.take_lease_wait_ms()
    report.duration = max(0.0, report.duration - wait / 1000)
    if ctx is None and wait:
        report.virtualpy = {"lease_wait_ms": wait}


def repr_without_our_frames(item: pytest.Item, excinfo: pytest.ExceptionInfo):
    """The failure's report with virtualpy's own frames left out (as pytest hides its own).

    With no frame of the test's own left (a marker refused while a fixture set up), the
    message alone: it says what to fix.
    """
    hidden = [Path(m.__file__).resolve().parent for m in (blame, _pytest, pluggy)]
    keep = excinfo.traceback.filter(
        lambda entry: not any(h in Path(entry.path).resolve().parents for h in hidden)
    )
    if not len(keep):
        return excinfo.getrepr(style="no")
    excinfo.traceback = keep
    return item.repr_failure(excinfo)


def attach_failure_evidence(report, ctx: fixtures.DeviceContext, excinfo) -> None:
    """Save the last frame (and an annotated copy for match timeouts) and name them."""
    exc = excinfo.value if excinfo is not None else None
    saved: list[tuple[str, str]] = []  # (what, where)
    try:
        frame = getattr(exc, "frame", None)
        if isinstance(exc, MatchTimeout) and frame is not None:  # needs no lab: do it first
            annotated = annotate_match(frame, exc.best, getattr(exc, "region", None))
            path = ctx.save("failure-annotated.png", encode_image(annotated, "png"), "annotated")
            saved.append(("annotated screenshot", str(path)))
        _, png = ctx.device.get_frame()
        saved.insert(0, ("screenshot", str(ctx.save("failure.png", png))))
        if "serial" in ctx.device.info.get("capabilities", []):
            _, log = ctx.device.serial_log(ctx.serial_start)
            saved.append(("serial log", str(ctx.save("serial.log", log, "serial_log"))))
    except LabError as e:
        saved.append(("no screenshot", f"the lab failed too ({e})"))
    report.sections.append(("virtualpy", "\n".join(f"{what}: {where}" for what, where in saved)))
    report.user_properties.extend(
        ("virtualpy_" + what.replace(" ", "_"), where) for what, where in saved
    )
