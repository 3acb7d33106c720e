"""A local vision model for tests: an OpenAI-compatible chat-completions server.

It checks each request as a real endpoint would (bearer key, model, one user message
with the question as text and the frame as an ``image_url`` data URL), decodes the
image and answers from its pixels: "yes" when the bottom tenth of the image is not
black. So a right answer proves the frame itself was sent. Tests can script replies
for a question (``script``): an HTTP status first, a reply that is not JSON, or an
answer in plain words instead of JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

KEY = "test-key-1234"
MODEL = "fake/vision-1"
BLACK_BELOW = 24  # a bottom strip whose brightest pixel is darker than this is black
_DATA_URL = re.compile(r"data:image/(jpeg|png);base64,(.+)", re.DOTALL)


@dataclass
class Seen:
    """One request the server answered (or refused)."""

    prompt: str
    status: int
    shape: tuple | None = None  # of the decoded image
    image_sha256: str | None = None  # of the image bytes sent
    answer: bool | None = None


@dataclass
class FakeVisionServer:
    url: str
    seen: list[Seen] = field(default_factory=list)
    _script: dict[str, list[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def script(self, question: str, *actions: str) -> None:
        """Reply to requests about ``question`` with ``actions`` first, one per request:
        "429" (with Retry-After: 0), "500" (without), "garbage" (200, not JSON), "huge"
        (2 MiB), "redirect" (302 elsewhere), "plain" (the answer in words)."""
        self._script[question] = list(actions)

    def about(self, question: str) -> list[Seen]:
        """The requests whose prompt asked ``question``."""
        return [s for s in self.seen if question in s.prompt]

    def next_action(self, prompt: str) -> str | None:
        with self._lock:
            for question, actions in self._script.items():
                if question in prompt and actions:
                    return actions.pop(0)
        return None


def _bottom_is_shown(image: np.ndarray) -> tuple[bool, str]:
    h, w = image.shape[:2]
    strip = image[h - max(1, h // 10) :]
    brightest = int(strip.max())
    shown = brightest >= BLACK_BELOW
    what = "something is shown" if shown else "it is black"
    return shown, f"the bottom tenth of the {w}x{h} image peaks at {brightest}: {what}"


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer
    fake: FakeVisionServer

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, seen: Seen, status: int, message: str) -> None:
        seen.status = status
        self._send(status, json.dumps({"error": {"message": message}}).encode())

    def do_POST(self) -> None:
        seen = Seen(prompt="", status=0)
        self.fake.seen.append(seen)
        if not self.path.endswith("/v1/chat/completions"):
            return self._refuse(seen, 404, f"no route {self.path}")
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._refuse(seen, 401, "invalid API key")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("model") != MODEL:
            return self._refuse(seen, 404, f"model {body.get('model')!r} not found")
        messages = body.get("messages")
        if not (isinstance(messages, list) and len(messages) == 1):
            return self._refuse(seen, 400, "expected one message")
        if messages[0].get("role") != "user":
            return self._refuse(seen, 400, "expected a user message")
        parts = {p.get("type"): p for p in messages[0].get("content", [])}
        if set(parts) != {"text", "image_url"}:
            return self._refuse(seen, 400, f"expected text and image_url parts, got {parts}")
        seen.prompt = parts["text"]["text"]
        match = _DATA_URL.fullmatch(parts["image_url"]["image_url"]["url"])
        if not match:
            return self._refuse(seen, 400, "image_url is not a JPEG/PNG data URL")
        data = base64.b64decode(match.group(2), validate=True)
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return self._refuse(seen, 400, "the image does not decode")
        seen.shape, seen.image_sha256 = image.shape, hashlib.sha256(data).hexdigest()
        action = self.fake.next_action(seen.prompt)
        if action in ("429", "500"):
            seen.status = int(action)
            headers = {"Retry-After": "0"} if action == "429" else {}
            return self._send(int(action), b'{"error": "busy"}', headers)
        if action == "garbage":
            seen.status = 200
            return self._send(200, b"<html>502 Bad Gateway</html>")
        if action == "redirect":
            seen.status = 302
            return self._send(302, b"", {"Location": "http://elsewhere.invalid/v1"})
        if action == "huge":
            seen.status = 200
            return self._send(200, b'{"pad": "' + b"x" * (2 << 20) + b'"}')
        seen.answer, reason = _bottom_is_shown(image)
        if action == "plain":
            content = f"{'Yes' if seen.answer else 'No'}, {reason}."
        else:
            content = json.dumps({"answer": "yes" if seen.answer else "no", "reason": reason})
        seen.status = 200
        message = {"role": "assistant", "content": content}
        reply = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
        }
        self._send(200, json.dumps(reply).encode())


@contextmanager
def fake_vision_server() -> Iterator[FakeVisionServer]:
    """Serve on a free loopback port for the block; ``.url`` is its base URL (…/v1)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    fake = FakeVisionServer(f"http://127.0.0.1:{httpd.server_address[1]}/v1")
    httpd.RequestHandlerClass = type("Handler", (_Handler,), {"fake": fake})
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
