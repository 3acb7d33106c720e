"""A small client for OpenAI-compatible chat-completions endpoints with image inputs.

``tv_screen.ai_check`` asks a vision model one yes/no question about one frame. Any
server that speaks the chat-completions API will do (OpenRouter, OpenAI, a local
llama.cpp or vLLM server), so this uses the standard library only (``urllib``): a
request with a timeout, retries with backoff for 429 and 5xx, a bounded reply, and
errors that say whose fault they are:

* the endpoint refused the key, does not exist, or refused the request (HTTP 4xx):
  :class:`~pytest_virtualpy.errors.ConfigError`, the set-up is wrong;
* it cannot be reached, stays overloaded, or replies with something that is not an
  answer: :class:`~pytest_virtualpy.errors.AiServiceError`, a lab-side error.

Neither is a product failure: only an asserted "no" is.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from pytest_virtualpy.errors import AiServiceError, ConfigError

KEY_ENV = "VIRTUALPY_AI_KEY"
TIMEOUT_SECS = 60.0  # one request; vision models can take a while
ATTEMPTS = 3  # for 429, 5xx and timeouts
BACKOFF_SECS = 1.0  # doubled after each retry, unless the server says Retry-After
MAX_RETRY_AFTER_SECS = 30.0
MAX_REPLY_BYTES = 1 << 20
MAX_REASON_CHARS = 1000
_SNIPPET = 300  # characters of a bad reply quoted in an error

PROMPT = (
    "You are checking the screen of a TV or set-top box for an automated test. "
    "Look at the image and decide whether this statement about it is true:\n\n"
    "{question}\n\n"
    'Reply with only a JSON object, no other text: {{"answer": "yes" or "no", '
    '"reason": "one short sentence saying what you see"}}'
)
_YES = ("yes", "true")
_NO = ("no", "false")


@dataclass(frozen=True)
class Reply:
    """What the model said: ``answer`` (yes is True) and its ``reason``."""

    answer: bool
    reason: str


def chat_url(url: str) -> str:
    """The chat-completions address for ``--ai-url``: a base URL gets the usual path.

    >>> chat_url("https://openrouter.ai/api/v1")
    'https://openrouter.ai/api/v1/chat/completions'
    >>> chat_url("http://127.0.0.1:8080/v1/chat/completions")
    'http://127.0.0.1:8080/v1/chat/completions'
    """
    url = url.strip()
    if not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(
            f"--ai-url must be an http:// or https:// address of an OpenAI-compatible "
            f"endpoint (e.g. https://openrouter.ai/api/v1), got {url!r}"
        )
    url = url.rstrip("/")
    return url if url.endswith("/chat/completions") else f"{url}/chat/completions"


def request_body(model: str, question: str, image: bytes, mime: str = "image/jpeg") -> dict:
    """The chat-completions request: one user message with the question and the image.

    >>> body = request_body("some/model", "a menu is shown", b"...")
    >>> [part["type"] for part in body["messages"][0]["content"]]
    ['text', 'image_url']
    """
    data_url = f"data:{mime};base64,{base64.b64encode(image).decode('ascii')}"
    return {
        "model": model,
        "temperature": 0,
        "max_tokens": 300,
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": PROMPT.format(question=question)},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    }


def parse_reply(content: str) -> Reply:
    """The answer in a model's reply: a JSON object (anywhere in it) or a plain yes/no.

    >>> parse_reply('```json\\n{"answer": "no", "reason": "the screen is black"}\\n```')
    Reply(answer=False, reason='the screen is black')
    >>> parse_reply("Yes. A subtitle is shown.")
    Reply(answer=True, reason='A subtitle is shown.')
    """
    for candidate in _json_objects(content):
        if "answer" in candidate:
            answer = _yes_no(candidate["answer"])
            if answer is not None:
                reason = candidate.get("reason", candidate.get("explanation", ""))
                return Reply(answer, str(reason or "").strip()[:MAX_REASON_CHARS])
    words = re.match(r"\W*(\w+)\W*(.*)", content, re.DOTALL)
    answer = _yes_no(words.group(1)) if words else None
    if answer is None:
        raise AiServiceError(
            f"the model's reply is neither a JSON answer nor yes/no: {_quote(content)}"
        )
    return Reply(answer, words.group(2).strip()[:MAX_REASON_CHARS])


def _json_objects(text: str) -> list[dict]:
    """The JSON objects in ``text``: all of it, or each flat ``{...}`` inside it."""
    found = []
    for chunk in [text.strip(), *re.findall(r"\{[^{}]*\}", text)]:
        try:
            value = json.loads(chunk)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _yes_no(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().strip(".!").lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
    return None


def _quote(text: str) -> str:
    return repr(text if len(text) <= _SNIPPET else text[:_SNIPPET] + "...")


class ChatClient:
    """Asks one model at one chat-completions endpoint; ``key`` is sent as a bearer token.

    >>> client = ChatClient("https://openrouter.ai/api/v1", "qwen/qwen2.5-vl-72b-instruct",
    ...                     key=os.environ["VIRTUALPY_AI_KEY"])       # doctest: +SKIP
    >>> client.ask("a menu is shown", jpeg_bytes)                    # doctest: +SKIP
    Reply(answer=True, reason='A menu with six tiles is shown.')
    """

    def __init__(
        self, url: str, model: str, key: str | None = None, timeout: float = TIMEOUT_SECS
    ) -> None:
        self.url = chat_url(url)
        self.model = model
        self._key = key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)  # the key stays with url

    def ask(self, question: str, image: bytes, mime: str = "image/jpeg") -> Reply:
        """The model's answer to ``question`` about ``image`` (JPEG or PNG bytes)."""
        body = json.dumps(request_body(self.model, question, image, mime)).encode()
        reply = self._post(body)
        try:
            message = reply["choices"][0]["message"]
            content = message["content"]
        except (KeyError, IndexError, TypeError):
            raise AiServiceError(
                f"the AI endpoint {self.url} replied without choices[0].message.content "
                f"(is it a chat-completions endpoint?): {_quote(json.dumps(reply))}"
            ) from None
        if isinstance(content, list):  # content parts, as some servers send them
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if not isinstance(content, str) or not content.strip():
            raise AiServiceError(
                f"the model {self.model} gave an empty answer (does it take images?): "
                f"{_quote(json.dumps(reply))}"
            )
        return parse_reply(content)

    def _post(self, body: bytes) -> dict:
        """POST with retries for 429, 5xx and timeouts; the reply's JSON object."""
        headers = {"Content-Type": "application/json", "User-Agent": "virtualpy-ai-check"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        delay, attempt = BACKOFF_SECS, 0
        while True:
            attempt += 1
            request = urllib.request.Request(self.url, data=body, headers=headers)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return self._json(response.read(MAX_REPLY_BYTES + 1))
            except urllib.error.HTTPError as e:
                detail = _quote(e.read(_SNIPPET * 4).decode("utf-8", "replace"))
                if e.code != 429 and e.code < 500:
                    raise self._refused(e.code, detail, e.headers.get("Location")) from None
                problem = f"HTTP {e.code} {detail}"
                wait = _retry_after(e.headers.get("Retry-After"), delay)
            except (TimeoutError, ConnectionResetError) as e:
                problem, wait = f"no reply ({e or type(e).__name__})", delay
            except urllib.error.URLError as e:
                if isinstance(e.reason, TimeoutError):
                    problem, wait = f"no reply within {self.timeout:g} s", delay
                else:
                    raise AiServiceError(
                        f"cannot reach the AI endpoint {self.url}: {e.reason}; is --ai-url "
                        "right and the server up?"
                    ) from None
            except (http.client.HTTPException, OSError) as e:
                raise AiServiceError(
                    f"the AI endpoint {self.url} broke the connection or did not speak HTTP: "
                    f"{type(e).__name__}: {e}"
                ) from None
            if attempt >= ATTEMPTS:
                raise AiServiceError(
                    f"the AI endpoint {self.url} failed {ATTEMPTS} times; last: {problem}"
                )
            time.sleep(wait)
            delay *= 2

    def _json(self, data: bytes) -> dict:
        if len(data) > MAX_REPLY_BYTES:
            raise AiServiceError(
                f"the AI endpoint {self.url} sent a reply over {MAX_REPLY_BYTES} bytes"
            )
        try:
            reply = json.loads(data)
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            raise AiServiceError(
                f"the AI endpoint {self.url} replied with something that is not a JSON "
                f"object: {_quote(data.decode('utf-8', 'replace'))}"
            )
        return reply

    def _refused(self, code: int, detail: str, location: str | None) -> ConfigError:
        if 300 <= code < 400:
            return ConfigError(
                f"the AI endpoint {self.url} redirects (HTTP {code}) to {location}; give the "
                "final address as --ai-url (redirects are not followed, so the key is only "
                "ever sent to --ai-url)"
            )
        if code in (401, 403):
            return ConfigError(
                f"the AI endpoint {self.url} refused the key (HTTP {code}): set {KEY_ENV} to "
                f"a valid API key for it; it said {detail}"
            )
        if code == 404:
            return ConfigError(
                f"the AI endpoint {self.url} has no such endpoint or model (HTTP 404): check "
                f"--ai-url (e.g. https://openrouter.ai/api/v1) and --ai-model "
                f"{self.model!r}; it said {detail}"
            )
        return ConfigError(
            f"the AI endpoint {self.url} refused the request (HTTP {code}): check --ai-model "
            f"{self.model!r} (it must take images); it said {detail}"
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: a 3xx reaches :meth:`ChatClient._post` as an ``HTTPError``."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _retry_after(header: str | None, default: float) -> float:
    """Seconds to wait as a 429/503's Retry-After says (bounded), else ``default``."""
    try:
        return min(max(float(header), 0.0), MAX_RETRY_AFTER_SECS) if header else default
    except ValueError:
        return default
