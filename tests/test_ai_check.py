"""``tv_screen.ai_check`` through the real plugin and simulated lab, against a local
chat-completions server (tests/ai_server.py) that answers from the image it receives."""

from __future__ import annotations

import doctest
import hashlib
import json
import socket

import numpy as np
import pytest

from pytest_virtualpy import ai_check, ai_client
from pytest_virtualpy.ai_check import AiChecker
from pytest_virtualpy.ai_client import ChatClient, parse_reply
from pytest_virtualpy.errors import AiServiceError, BadArgument, ConfigError
from pytest_virtualpy.lab.imaging import encode_image
from pytest_virtualpy.steps import StepLog
from tests.ai_server import KEY, MODEL, fake_vision_server

QUESTION = "something is shown at the bottom"

CHECKS = """
import time

from pytest_virtualpy.vision import Region

BOTTOM = Region(0, 600, 1280, 120)  # below the home menu: dark blue, static


def at_home(stb, remote, tv_screen):
    remote.press("KEY_HOME")
    deadline = time.time() + 10
    while stb.sim.state()["screen"] != "home" or not tv_screen.is_frozen(0.3, region=BOTTOM):
        assert time.time() < deadline, "the box did not settle on its home screen"


def test_yes(stb, remote, tv_screen):
    at_home(stb, remote, tv_screen)
    result = tv_screen.ai_check("something is shown at the bottom")
    assert result
    assert result.answer is True and result.model == "fake/vision-1"
    assert "1280x720" in result.reason and len(result.frame_hash) == 64


def test_cached(stb, remote, tv_screen):
    at_home(stb, remote, tv_screen)
    first = tv_screen.ai_check("asked twice", region=BOTTOM)
    again = tv_screen.ai_check("asked twice", region=BOTTOM)
    assert first == again and first.answer and "1280x120" in first.reason


def test_busy_then_answers(tv_screen):
    assert tv_screen.ai_check("busy question", region=BOTTOM)


def test_plain_words(tv_screen):
    result = tv_screen.ai_check("plain question", region=BOTTOM)
    assert "peaks at" in result.reason


def test_garbage(tv_screen):
    tv_screen.ai_check("garbage question")


def test_no(stb, tv_screen):
    stb.sim.inject("black")
    assert tv_screen.wait_for_black(timeout=5)
    assert tv_screen.ai_check("something is shown at the bottom")
"""

ONE_CHECK = """
def test_check(tv_screen):
    assert tv_screen.ai_check("something is shown at the bottom")
"""

STEPS_CONFTEST = """
import json

def pytest_virtualpy_step_finished(item, step):
    if step.kind == "ai_check":
        with open("steps.jsonl", "a") as f:
            f.write(json.dumps({"test": item.name, "name": step.name, **step.detail}) + "\\n")
"""


@pytest.fixture
def lab(sim_project, monkeypatch):
    """A pytester project using the session's simulated lab as ``bench-a``, no AI settings."""
    for name in (ai_client.KEY_ENV, "VIRTUALPY_AI_URL", "VIRTUALPY_AI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return sim_project


@pytest.fixture
def server():
    with fake_vision_server() as fake:
        yield fake


def _allure_steps(results) -> dict[str, list[dict]]:
    out = {}
    for f in results.glob("*-result.json"):
        r = json.loads(f.read_text())
        out[r["name"]] = [s for s in r.get("steps", []) if s["name"].startswith("ai_check ")]
    return out


def test_answers_asserts_caches_retries_and_reports(lab, server, monkeypatch):
    monkeypatch.setenv(ai_client.KEY_ENV, KEY)
    server.script("busy question", "429")
    server.script("plain question", "plain")
    server.script("garbage question", "garbage")
    lab.makeconftest(STEPS_CONFTEST)
    lab.makepyfile(test_ai=CHECKS)
    results = lab.path / "allure-results"
    run = lab.runpytest(
        "--lab=bench-a",
        f"--ai-url={server.url}",
        f"--ai-model={MODEL}",
        f"--alluredir={results}",
        "--artifacts=arts",
    )
    run.assert_outcomes(passed=4, failed=1, errors=1)

    # the model saw the real frame: a whole 720p frame, or just the region asked about
    yes, no = server.about(QUESTION)
    assert yes.shape == (720, 1280, 3) and yes.answer is True
    assert no.shape == (720, 1280, 3) and no.answer is False  # the screen went black
    # a "no", asserted, is a product failure that says what was asked and answered
    run.stdout.fnmatch_lines(
        [
            "*test_no*",
            "*AssertionError: assert AiCheckResult(question='something is shown at the "
            "bottom', answer=False, reason='the bottom tenth of the 1280x720 image peaks at 0:"
            " it is black', model='fake/vision-1')*",
        ]
    )
    assert "FAILED test_ai.py::test_no" in run.stdout.str()

    # two checks of one unchanged frame: one request
    (asked,) = server.about("asked twice")
    assert asked.status == 200 and asked.shape == (120, 1280, 3)
    # a 429 is retried
    assert [s.status for s in server.about("busy question")] == [429, 200]
    (plain,) = server.about("plain question")  # answered in words, read all the same
    assert plain.status == 200
    # a reply that is not JSON is the lab's error, not the product's
    assert [s.status for s in server.about("garbage question")] == [200]
    run.stdout.fnmatch_lines(["*AiServiceError*not a JSON object*502 Bad Gateway*"])
    run.stdout.fnmatch_lines(["LAB ERROR test_ai.py::test_garbage*"])

    # each check is a step with its question and answer, the frame sent attached
    steps = [json.loads(line) for line in (lab.path / "steps.jsonl").read_text().splitlines()]
    cached = [(s["name"], s["cached"], s["answer"]) for s in steps if s["test"] == "test_cached"]
    assert cached == [("asked twice", False, "yes"), ("asked twice", True, "yes")]
    allure = _allure_steps(results)
    (step,) = allure["test_no"]
    params = {p["name"]: p["value"] for p in step["parameters"]}
    assert step["name"] == f"ai_check {QUESTION}"
    assert params["answer"] == "no" and params["model"] == MODEL
    assert "it is black" in params["reason"]
    (attachment,) = step["attachments"]
    assert attachment["type"] in ("image/jpeg", "image/jpg")  # allure-commons says jpg
    sent = hashlib.sha256((results / attachment["source"]).read_bytes()).hexdigest()
    assert sent == no.image_sha256  # the very image the model was sent
    assert len(allure["test_cached"]) == 2
    assert all(s["attachments"] for s in allure["test_cached"])


def test_no_endpoint_skips_with_how_to_configure(lab, server):
    lab.makepyfile(test_ai=ONE_CHECK)
    run = lab.runpytest("--lab=bench-a", "-rs")
    run.assert_outcomes(skipped=1)
    run.stdout.fnmatch_lines(["*SKIPPED*ai_check needs --ai-url and --ai-model*ai-checks.md*"])
    assert server.seen == []


def test_wrong_key_is_a_usage_error(lab, server, monkeypatch):
    monkeypatch.setenv(ai_client.KEY_ENV, "not-the-key")
    lab.makepyfile(test_ai=ONE_CHECK)
    run = lab.runpytest("--lab=bench-a", f"--ai-url={server.url}", f"--ai-model={MODEL}")
    run.assert_outcomes(errors=1)
    run.stdout.fnmatch_lines(
        ["*ConfigError*refused the key (HTTP 401): set VIRTUALPY_AI_KEY*invalid API key*"]
    )
    run.stdout.fnmatch_lines(["*USAGE ERROR*"])
    assert [s.status for s in server.seen] == [401]  # not retried


def test_unreachable_endpoint_is_a_lab_error(lab, monkeypatch):
    monkeypatch.setenv(ai_client.KEY_ENV, KEY)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lab.makepyfile(test_ai=ONE_CHECK)
    run = lab.runpytest("--lab=bench-a", f"--ai-url=http://127.0.0.1:{port}/v1", "--ai-model=m")
    run.assert_outcomes(errors=1)
    run.stdout.fnmatch_lines(["*AiServiceError: cannot reach the AI endpoint*is --ai-url right*"])
    run.stdout.fnmatch_lines(["*LAB ERROR*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ai-url=ftp://example.com"], "*--ai-url must be an http:// or https:// address*"),
        (["--ai-url=http://127.0.0.1:9/v1"], "*--ai-url is set but no model: give --ai-model*"),
    ],
)
def test_bad_settings_are_refused_before_any_test(pytester, args, message):
    pytester.makepyfile(test_ai=ONE_CHECK)
    run = pytester.runpytest(*args)
    assert run.ret == pytest.ExitCode.USAGE_ERROR
    run.stderr.fnmatch_lines([message])


def test_settings_come_from_ini_and_env(lab, server, monkeypatch):
    monkeypatch.setenv(ai_client.KEY_ENV, KEY)
    monkeypatch.setenv("VIRTUALPY_AI_MODEL", MODEL)
    lab.makeini(f"[pytest]\nvirtualpy_sim_boot_secs = 0.5\nvirtualpy_ai_url = {server.url}\n")
    lab.makepyfile(test_ai=ONE_CHECK)
    lab.runpytest("--lab=bench-a").assert_outcomes(passed=1)
    assert [s.status for s in server.seen] == [200]


def test_server_errors_are_retried_with_backoff_then_reported(server, monkeypatch):
    server.script(QUESTION, "500", "500", "500")  # no Retry-After: our own backoff
    monkeypatch.setattr(ai_client, "BACKOFF_SECS", 0.01)  # its schedule is under test
    with pytest.raises(AiServiceError, match=r"failed 3 times; last: HTTP 500"):
        ChatClient(server.url, MODEL, KEY).ask(QUESTION, _png())
    assert [s.status for s in server.seen] == [500, 500, 500]


def test_a_silent_endpoint_times_out_and_retries(monkeypatch):
    monkeypatch.setattr(ai_client, "BACKOFF_SECS", 0.01)
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        client = ChatClient(url, MODEL, KEY, timeout=0.2)
        with pytest.raises(AiServiceError, match=r"failed 3 times; last: no reply"):
            client.ask(QUESTION, _png())


def test_an_oversized_reply_is_refused(server):
    server.script(QUESTION, "huge")
    with pytest.raises(AiServiceError, match=r"reply over 1048576 bytes"):
        ChatClient(server.url, MODEL, KEY).ask(QUESTION, _png())


def test_a_redirect_is_not_followed_with_the_key(server):
    server.script(QUESTION, "redirect")
    with pytest.raises(ConfigError, match=r"redirects \(HTTP 302\) to http://elsewhere.invalid"):
        ChatClient(server.url, MODEL, KEY).ask(QUESTION, _png())
    assert [s.status for s in server.seen] == [302]


def test_unknown_model_says_what_to_check(server):
    with pytest.raises(ConfigError, match=r"HTTP 404.*--ai-model 'no/such'.*not found"):
        ChatClient(server.url, "no/such", KEY).ask(QUESTION, _png())


@pytest.mark.parametrize(
    ("content", "answer", "reason"),
    [
        ('{"answer": "yes", "reason": "a banner"}', True, "a banner"),
        ('{"answer": false, "reason": "nothing"}', False, "nothing"),
        ('```json\n{"answer": "No", "reason": "black"}\n```', False, "black"),
        ('<think>the user asks {x}</think> {"answer": "yes"}', True, ""),
        ("YES - the subtitle reads 'Hello'", True, "the subtitle reads 'Hello'"),
        ("no.", False, ""),
    ],
)
def test_replies_are_read_robustly(content, answer, reason):
    assert parse_reply(content) == ai_client.Reply(answer, reason)


@pytest.mark.parametrize("content", ["maybe", '{"answer": "perhaps"}', "", "   "])
def test_a_reply_that_is_no_answer_is_a_service_error(content):
    with pytest.raises(AiServiceError, match="neither a JSON answer nor yes/no"):
        parse_reply(content)


def test_docstring_examples_hold():
    for module in (ai_client, ai_check):
        failed, tried = doctest.testmod(module)
        assert tried and not failed, module.__name__


def _png() -> bytes:
    return encode_image(np.full((72, 128, 3), 200, np.uint8), "png")


def test_the_cache_is_bounded_and_keyed_by_frame_and_question(server, tmp_path):

    checker = AiChecker(ChatClient(server.url, MODEL, KEY), cache_size=2)
    log = StepLog()

    def save(name: str, data: bytes):
        path = tmp_path / f"{len(log.steps)}-{name}"
        path.write_bytes(data)
        return path

    grey = np.full((72, 128, 3), 200, np.uint8)
    black = np.zeros_like(grey)
    for question, frame in [("q1", grey), ("q1", black), ("q2", grey), ("q1", grey)]:
        checker.check(question, frame, log, save)
    # q1 on another frame is another answer; the first was evicted by the third
    assert [s.answer for s in server.seen] == [True, False, True, True]
    assert checker.check("q2", grey, log, save).answer  # still cached: no request
    assert len(server.seen) == 4
    assert [s.detail["cached"] for s in log.steps] == [False, False, False, False, True]
    assert len(list(tmp_path.glob("*-ai-check.jpg"))) == 5  # every check shows its frame


@pytest.mark.parametrize("question", ["", "   ", None, "x" * 2001])
def test_a_bad_question_is_a_usage_error(question):

    with pytest.raises(BadArgument, match="ai_check"):
        AiChecker(None).check(question, None, StepLog(), lambda name, data: None)
