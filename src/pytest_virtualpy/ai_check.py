"""``tv_screen.ai_check``: ask a vision model a yes/no question about a frame.

Off by default. With ``--ai-url`` and ``--ai-model`` (or ini ``virtualpy_ai_url`` /
``virtualpy_ai_model``, env ``VIRTUALPY_AI_URL`` / ``VIRTUALPY_AI_MODEL``) and the key in
env ``VIRTUALPY_AI_KEY``, each check sends the frame (JPEG) and the question to an
OpenAI-compatible chat-completions endpoint (:mod:`ai_client`) and returns an
:class:`AiCheckResult`, truthy when the model says yes::

    def test_subtitles(stb, tv_screen):
        stb.navigate_to("live_tv")
        assert tv_screen.ai_check("a subtitle is shown at the bottom")

Each check is a step (question, answer, reason, model; the frame sent attached).
Answers are cached in the test process by (frame hash, question, model), so asking
again about an unchanged screen costs nothing. With no endpoint configured the test is
skipped, never passed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from pytest_virtualpy.ai_client import ChatClient, chat_url
from pytest_virtualpy.errors import BadArgument, ConfigError
from pytest_virtualpy.lab.imaging import encode_image
from pytest_virtualpy.steps import StepLog

URL_ENV = "VIRTUALPY_AI_URL"
MODEL_ENV = "VIRTUALPY_AI_MODEL"
CACHE_SIZE = 256  # answers kept per test process
MAX_QUESTION_CHARS = 2000
JPEG_QUALITY = 90
SKIP_MESSAGE = (
    "ai_check needs --ai-url and --ai-model (or ini virtualpy_ai_url / virtualpy_ai_model, "
    "env VIRTUALPY_AI_URL / VIRTUALPY_AI_MODEL) and the key in env VIRTUALPY_AI_KEY; "
    "see docs/ai-checks.md"
)


@dataclass(frozen=True)
class AiCheckResult:
    """A vision model's answer about one frame: truthy when it said yes.

    ``answer`` is the yes/no, ``reason`` what the model said it saw, ``model`` who
    answered, ``question`` what was asked and ``frame_hash`` (SHA-256 of the frame's
    pixels) which frame it was about. A failed ``assert`` shows all but the hash:

    >>> result = AiCheckResult("a subtitle is shown", False, "the bottom is empty", "m")
    >>> bool(result), result.reason
    (False, 'the bottom is empty')
    """

    question: str
    answer: bool
    reason: str
    model: str
    frame_hash: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return self.answer


def frame_hash(frame: np.ndarray) -> str:
    """SHA-256 of a frame's shape and pixels: equal frames, equal hashes.

    >>> frame_hash(np.zeros((2, 2, 3), np.uint8))[:12]
    'b5cf5f9aaf11'
    """
    pixels = np.ascontiguousarray(frame)
    digest = hashlib.sha256(f"{pixels.shape}{pixels.dtype}".encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


class AiChecker:
    """One test process's AI checks: the endpoint (or None: checks skip) and the cache.

    The plugin makes one from the settings; ``tv_screen.ai_check`` uses it::

        checker = AiChecker.configure("https://openrouter.ai/api/v1", "some/model", key)
        result = checker.check("a menu is shown", frame, log, save)
        # AiCheckResult(question='a menu is shown', answer=True, reason='...', model=...)
    """

    def __init__(self, client: ChatClient | None, cache_size: int = CACHE_SIZE) -> None:
        self.client = client
        self._cache: OrderedDict[tuple, AiCheckResult] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @classmethod
    def configure(cls, url: str | None, model: str | None, key: str | None) -> AiChecker:
        """From the settings (``url`` None: AI checks are off and skip)."""
        if not url:
            return cls(None)
        chat_url(url)  # a bad address is the first thing to say
        if not model:
            raise ConfigError(
                "--ai-url is set but no model: give --ai-model (or ini virtualpy_ai_model, "
                "env VIRTUALPY_AI_MODEL), e.g. --ai-model=qwen/qwen2.5-vl-72b-instruct"
            )
        return cls(ChatClient(url, model, key))

    def check(
        self,
        question: str,
        frame: np.ndarray | None,
        log: StepLog,
        save: Callable[[str, bytes], Path],
    ) -> AiCheckResult:
        """Ask about ``frame`` as a step of ``log``; ``save`` attaches the image sent.

        Skips the test when no endpoint is configured (``frame`` may then be None).
        """
        if not isinstance(question, str) or not question.strip():
            raise BadArgument(f"ai_check needs a question (a non-empty str), got {question!r}")
        if len(question) > MAX_QUESTION_CHARS:
            raise BadArgument(
                f"ai_check's question is {len(question)} characters; at most {MAX_QUESTION_CHARS}"
            )
        if self.client is None:
            pytest.skip(SKIP_MESSAGE)
        client = self.client
        with log.step("ai_check", question, model=client.model) as step:
            digest = frame_hash(frame)
            jpeg = encode_image(frame, "jpeg", JPEG_QUALITY)
            save("ai-check.jpg", jpeg)  # attached to this step: what the model saw
            key = (client.url, client.model, digest, question)
            with self._lock:
                result = self._cache.get(key)
                if result is not None:
                    self._cache.move_to_end(key)
            step.detail["cached"] = result is not None
            if result is None:
                reply = client.ask(question, jpeg)
                result = AiCheckResult(question, reply.answer, reply.reason, client.model, digest)
                with self._lock:
                    self._cache[key] = result
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
            step.detail["answer"] = "yes" if result.answer else "no"
            step.detail["reason"] = result.reason
            step.detail["frame_hash"] = digest[:16]
        return result
