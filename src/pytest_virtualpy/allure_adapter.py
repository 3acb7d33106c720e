"""virtualpy steps, artifacts and labels in Allure reports (active with allure-pytest).

With ``--alluredir`` (allure-pytest's listener is registered), every virtualpy
step becomes an Allure step as it starts and finishes, nested as the steps nest
(a ``navigate`` step holds its presses and matches), with its details (key,
score, text read...) as parameters. A step that raised is "failed" for a product
failure (an ``AssertionError``, e.g. ``UITestFailure``) and "broken" for anything
else (e.g. ``LabError``), as allure-pytest decides for tests; a check that
returned a negative result without raising (``match`` found nothing,
``press_and_wait`` timed out) is "failed". Screenshots, annotated screenshots,
serial logs and clips become attachments of the running step, or of the test
(failure evidence first: the clip, the annotated screenshot, the serial log); fixture
set-up and teardown get readable names and a status (:mod:`allure_tidy`).
Each test is labelled with its device, model, lab, run and build.

Without ``--alluredir`` nothing is registered, so it costs nothing (allure is
not even imported).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from pytest_virtualpy import fixtures

PLUGIN_NAME = "virtualpy-allure-steps"  # the module itself is "virtualpy-allure"
_LABELLED = pytest.StashKey[set[str]]()  # which labels the test has
_MAX_PARAM = 300  # characters of a parameter value shown in the report


@pytest.hookimpl(trylast=True)  # after allure-pytest registered its listener
def pytest_configure(config: pytest.Config) -> None:
    listener = config.pluginmanager.get_plugin("allure_listener")
    if listener is not None and not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(AllureAdapter(config, listener), PLUGIN_NAME)


class StepFailed(AssertionError):
    """Stands for a step whose check came out negative without raising."""


class AllureAdapter:
    """Forwards virtualpy's hooks to allure-commons; one per pytest process."""

    def __init__(self, config: pytest.Config, listener: Any) -> None:
        import allure
        from allure_commons import plugin_manager
        from allure_commons.types import AttachmentType

        from pytest_virtualpy.allure_tidy import AllureTidy

        self.config = config
        self._listener = listener
        self._allure = allure
        self._hook = plugin_manager.hook
        self._types = {
            ".png": AttachmentType.PNG,
            ".jpg": AttachmentType.JPG,
            ".jpeg": AttachmentType.JPG,
            ".log": AttachmentType.TEXT,
            ".vtt": AttachmentType.TEXT,
            ".txt": AttachmentType.TEXT,
            ".json": AttachmentType.JSON,
            ".mp4": AttachmentType.MP4,
            ".webm": AttachmentType.WEBM,
        }
        self._uuids: dict[int, str] = {}  # id(Step) -> Allure step uuid, while it runs
        self._tidy = AllureTidy()  # readable fixture names; evidence first
        plugin_manager.register(self._tidy)

    # --- steps --------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_virtualpy_step_started(self, item: pytest.Item, step) -> None:
        self._label(item)
        step_uuid = str(uuid.uuid4())
        self._uuids[id(step)] = step_uuid
        self._hook.start_step(uuid=step_uuid, title=_title(step), params=_step_params(step))

    @pytest.hookimpl
    def pytest_virtualpy_step_finished(self, item: pytest.Item, step) -> None:
        step_uuid = self._uuids.pop(id(step), None)
        if step_uuid is None:
            return
        exc_type = exc_val = exc_tb = None
        negative = None  # why a step that raised nothing is not ok
        if not step.ok:
            exc_type, exc_val, exc_tb = sys.exc_info()  # the exception leaving the step
            if exc_val is None or step.error != f"{type(exc_val).__name__}: {exc_val}"[:1000]:
                negative = step.error or _negative(step)
                exc_type, exc_val, exc_tb = StepFailed, StepFailed(negative), None
        # Details (score, text read...) are filled in while the step runs: refresh them.
        result = self._result(step_uuid)
        if result is not None:
            result.parameters = _allure_params(_step_params(step))
        self._hook.stop_step(uuid=step_uuid, exc_type=exc_type, exc_val=exc_val, exc_tb=exc_tb)
        if negative is not None and result is not None:
            result.statusDetails = _status_details(negative)  # without our stand-in's name

    def _result(self, step_uuid: str) -> Any:
        """allure-pytest's open TestStepResult for ``step_uuid``, if it can be found."""
        reporter = getattr(self._listener, "allure_logger", None)
        try:
            return reporter.get_item(step_uuid) if reporter is not None else None
        except Exception:  # a future allure-pytest keeps them elsewhere: keep start's params
            return None

    # --- attachments and labels ---------------------------------------------------------

    @pytest.hookimpl
    def pytest_virtualpy_artifact(self, item: pytest.Item, artifact: dict) -> None:
        """Attach to the running virtualpy step, else to the test itself (never to a
        fixture's teardown that happens to be open), evidence first on the test's page."""
        self._label(item)
        path = Path(artifact["path"])
        suffix = path.suffix.lower()
        name = artifact.get("name") or path.name
        kind = self._types.get(suffix)
        extension = suffix.lstrip(".") or None
        reporter = getattr(self._listener, "allure_logger", None)
        test_uuid = self._test_uuid(item)
        if reporter is None or test_uuid is None:  # an allure-pytest we don't know
            self._allure.attach.file(
                str(path), name=name, attachment_type=kind, extension=extension
            )
            return
        step_uuid = next(reversed(self._uuids.values()), None)
        parent = step_uuid if step_uuid is not None else test_uuid
        owner = reporter.get_item(parent)
        reporter.attach_file(
            uuid.uuid4(),
            str(path),
            name=name,
            attachment_type=kind,
            extension=extension,
            parent_uuid=parent,
        )
        if owner is not None and parent == test_uuid and owner.attachments:
            self._tidy.rank(owner.attachments[-1].source, artifact.get("kind"))
            self._tidy.order(owner.attachments)

    def _test_uuid(self, item: pytest.Item) -> str | None:
        """allure-pytest's uuid for the running test, if it can be found."""
        try:
            return self._listener._cache.get(item.nodeid)
        except Exception:
            return None

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        from allure_commons import plugin_manager

        if plugin_manager.is_registered(self._tidy):
            plugin_manager.unregister(self._tidy)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        self._label(item)
        return report

    def _label(self, item: pytest.Item) -> None:
        """Label the running test with its run and build, and its device once known."""
        done = item.stash.setdefault(_LABELLED, set())
        dynamic = self._allure.dynamic
        if "run" not in done:
            done.add("run")
            for name, value in _run_and_build(self.config).items():
                dynamic.label(name, value)
        ctx = item.stash.get(fixtures.CONTEXT_KEY, None)
        if ctx is not None and "device" not in done:
            done.add("device")
            dynamic.label("device", ctx.device.name)
            dynamic.label("lab", ctx.lab)
            model = ctx.device.info.get("model")
            if model:
                dynamic.label("model", str(model))
                dynamic.tag(str(model))


def _run_and_build(config: pytest.Config) -> dict[str, str]:
    """The build under test and the run's name, as the results layer's settings give them."""
    out = {}
    build = _setting(config, "--build", "VIRTUALPY_BUILD", "virtualpy_build")
    if not build:
        try:  # the results layer falls back to CI variables
            from pytest_virtualpy.results.settings import detect_build

            build = detect_build()
        except Exception:
            build = None
    if build:
        out["build"] = str(build)
    run = _setting(config, "--run-name", "VIRTUALPY_RUN_NAME", "virtualpy_run_name")
    if not run:
        artifacts = config.stash.get(fixtures.ARTIFACTS_KEY, None)
        run = getattr(artifacts, "run_id", None)  # the run folder of the artifacts
    if run:
        out["run"] = str(run)
    return out


def _setting(config: pytest.Config, flag: str, env: str, ini: str) -> str | None:
    """Option, then environment, then ini; None where the option or ini key does not exist."""
    value = config.getoption(flag, default=None) or os.environ.get(env)
    if not value:
        try:
            value = config.getini(ini)
        except ValueError:
            value = None
    return str(value) if value else None


def _title(step) -> str:
    name = step.name
    if name and ("/" in name or "\\" in name) and "." in name.rsplit("/", 1)[-1]:
        name = Path(name).name  # a reference image: its file name is enough for a title
    return f"{step.kind} {name}" if name else step.kind


def _step_params(step) -> dict[str, str]:
    params = _params(step.detail)
    if _title(step) != f"{step.kind} {step.name}":
        params["image"] = step.name  # the full path the title shortened
    return params


def _params(detail: dict) -> dict[str, str]:
    out = {}
    for name, value in detail.items():
        if value is None or isinstance(value, bytes | bytearray):
            continue
        if isinstance(value, float) and (name == "time" or name.endswith("_time")):
            text = _clock(value)  # lab-host timestamps: a wall clock to find them in clips
        elif isinstance(value, float):
            text = f"{value:.3f}".rstrip("0").rstrip(".")
        else:
            text = str(value)
        out[name] = text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 1] + "…"
    return out


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def _allure_params(params: dict[str, str]) -> list:
    from allure_commons.model2 import Parameter

    return [Parameter(name=name, value=value) for name, value in params.items()]


def _status_details(message: str):
    from allure_commons.model2 import StatusDetails

    return StatusDetails(message=message)


def _negative(step) -> str:
    """Why a step that raised nothing is not ok, from its details."""
    d = step.detail
    if "status" in d:
        return f"{_title(step)}: {d['status']}"
    if "score" in d:
        return f"{_title(step)}: no match (best score {_params(d)['score']})"
    return f"{_title(step)}: not ok"
