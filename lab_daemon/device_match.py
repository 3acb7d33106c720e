"""What a client asks of a device when it leases one: a model and capabilities.

``lease(..., requirements_json='{"model": "acme-4k", "capabilities": ["serial"]}')``
names them; the daemon queues the client for the devices that meet them and refuses at
once, listing what it has, when none ever could.

>>> wanted = Wanted.from_json('{"model": null, "capabilities": ["serial", "remote"]}')
>>> wanted.meets({"model": "x", "capabilities": ["video", "remote", "serial"]})
True
>>> wanted.describe()
'a device with serial, remote'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: the parts a device may have, as tests name them
CAPABILITIES = ("video", "remote", "power", "serial", "adb", "audio", "sim")
#: older daemons listed the remote control as "keys"
_ALIASES = {"remote": ("remote", "keys")}
MAX_REQUIREMENTS_CHARS = 4096
MAX_MODEL = 128


@dataclass(frozen=True)
class Wanted:
    """A model (None: any) and the capabilities a device must have."""

    model: str | None = None
    capabilities: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, text: Any) -> Wanted:
        """Parse ``requirements_json`` (None: anything); a ValueError says what is wrong."""
        if text is None or text == "":
            return cls()
        if not isinstance(text, str) or len(text) > MAX_REQUIREMENTS_CHARS:
            raise ValueError(
                f"requirements_json must be JSON text of at most {MAX_REQUIREMENTS_CHARS} "
                'characters, like {"model": "acme-4k", "capabilities": ["serial"]}'
            )
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError(f"requirements_json is not JSON: {text[:80]!r}") from None
        if not isinstance(data, dict) or set(data) - {"model", "capabilities"}:
            raise ValueError(
                'requirements_json must be an object with "model" (a name or null) and '
                f'"capabilities" (a list of {", ".join(CAPABILITIES)}), got {text[:80]!r}'
            )
        model = data.get("model")
        if model is not None and not (isinstance(model, str) and 0 < len(model) <= MAX_MODEL):
            raise ValueError(f"requirements: model must be a name of 1 to {MAX_MODEL} characters")
        caps = data.get("capabilities") or []
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ValueError("requirements: capabilities must be a list of part names")
        unknown = [c for c in caps if c not in CAPABILITIES]
        if unknown:
            raise ValueError(
                f"unknown capability {', '.join(map(repr, unknown[:5]))}; a device's parts "
                f"are {', '.join(CAPABILITIES)}"
            )
        return cls(model, tuple(dict.fromkeys(caps)))

    def __bool__(self) -> bool:
        return self.model is not None or bool(self.capabilities)

    def meets(self, info: Mapping[str, Any]) -> bool:
        """Whether a device (its ``info()``) meets these."""
        if self.model is not None and info.get("model") != self.model:
            return False
        have = set(info.get("capabilities") or ())
        return all(have.intersection(_ALIASES.get(c, (c,))) for c in self.capabilities)

    def describe(self) -> str:
        parts = [f"model {self.model!r}"] if self.model is not None else []
        if self.capabilities:
            parts.append(("with " if parts else "a device with ") + ", ".join(self.capabilities))
        return " ".join(parts) or "any device"


def describe_device(info: Mapping[str, Any]) -> str:
    """``stb-1 (model acme-4k: video, remote, serial)``."""
    have = set(info.get("capabilities") or ())
    caps = [c for c in CAPABILITIES if have.intersection(_ALIASES.get(c, (c,)))]
    return f"{info.get('name')} (model {info.get('model')}: {', '.join(caps) or 'no parts'})"


def no_match_message(lab: str, wanted: Wanted, device: str | None, infos: list[dict]) -> str:
    """The error for a lease no device of this lab could ever serve."""
    what = wanted.describe() + (f" named {device!r}" if device else "")
    return f"no device on lab {lab} matches {what}; its devices: " + "; ".join(
        describe_device(i) for i in infos
    )
