"""``[lab.live]`` checked for range, once, before the live page listens."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from pytest_virtualpy.errors import ConfigError

#: key -> (lowest, highest) accepted value
RANGES = {
    "fps": (0.2, 30.0),
    "tile_width": (64, 3840),
    "max_viewers": (1, 256),
    "max_kbps": (64, 1_000_000),
    "quality": (30, 95),
}


@dataclass(frozen=True)
class LiveSettings:
    """What the live page serves and how much of it.

    >>> LiveSettings.from_table({"fps": 2}).fps
    2.0
    """

    enabled: bool = True
    bind: str = "127.0.0.1"
    port: int | None = None  # None: follow the lab's port (see :meth:`for_lab_port`)
    fps: float = 5.0
    tile_width: int = 480
    max_viewers: int = 8
    max_kbps: int = 4000
    quality: int = 70

    @classmethod
    def from_table(cls, table: dict) -> LiveSettings:
        """From lab.toml's ``[lab.live]`` (defaults already filled in, or not)."""
        values = {k: v for k, v in table.items() if k in cls.__dataclass_fields__}
        for key, (low, high) in RANGES.items():
            if key in values:
                v = values[key]
                if not (isinstance(v, int | float) and math.isfinite(v) and low <= v <= high):
                    raise ConfigError(
                        f"[lab.live] {key} must be between {low} and {high}, not {v!r}"
                    )
        port = values.get("port")
        if port is not None and not (isinstance(port, int) and 0 <= port < 65536):
            raise ConfigError(f"[lab.live] port must be 0 (any free one) to 65535, not {port!r}")
        if "fps" in values:
            values["fps"] = float(values["fps"])
        return cls(**values)

    def for_lab_port(self, lab_port: int) -> LiveSettings:
        """With no port of its own, the page takes the lab's port + 1 (18862 beside the
        default 18861), or any free one when the lab's is 0 (tests, parallel daemons)."""
        if self.port is not None:
            return self
        return replace(self, port=0 if lab_port == 0 or lab_port >= 65535 else lab_port + 1)

    @property
    def bytes_per_sec(self) -> float:
        """One viewer's byte budget."""
        return self.max_kbps * 1000 / 8
