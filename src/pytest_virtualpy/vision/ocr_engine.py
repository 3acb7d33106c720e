"""The process's rapidocr engine and OCR result memory, each made once, on first use.

Nothing here runs at import: a test process that never reads text never loads
onnxruntime or the OCR models (about 0.3 s of CPU and 16 MB of models per process).

Why one onnxruntime thread per model (``$VIRTUALPY_OCR_THREADS``, default 1): its default
pool (a thread per core) spins between calls. On these 2 cores, reading a 1152x130
banner cost 0.22 s of CPU with one thread against 0.46 s with the default pool, and a
whole 720p frame 0.64 s against 1.5 s; one thread was also faster in wall time as soon as
other processes wanted the cores (``pytest -n 4``, the lab daemon). (``bench/scaling.py``
shows the effect on a whole suite.)

>>> ocr_threads()
1
"""

from __future__ import annotations

import os
import threading
from typing import Any

from pytest_virtualpy.errors import ConfigError

from .ocr_cache import ResultCache, entries_from_env

THREADS_ENV = "VIRTUALPY_OCR_THREADS"

_lock = threading.Lock()
_rapid_engine: Any = None
_result_cache: ResultCache | None = None


def rapidocr_engine() -> Any:
    """The rapidocr engine of this process (created on the first call, then cached)."""
    global _rapid_engine
    with _lock:
        if _rapid_engine is None:
            try:
                from rapidocr_onnxruntime import RapidOCR
            except ImportError as e:  # pragma: no cover - it is a dependency
                raise ConfigError(
                    "OCR needs rapidocr-onnxruntime: pip install rapidocr-onnxruntime"
                ) from e
            # "max" keeps big frames from being scaled *up* (the default "min"
            # rule makes small crops 6x larger and detection seconds slower).
            _rapid_engine = RapidOCR(
                det_limit_type="max",
                det_limit_side_len=1280,
                use_cls=False,
                intra_op_num_threads=ocr_threads(),
                inter_op_num_threads=1,
            )
        return _rapid_engine


def ocr_threads() -> int:
    """onnxruntime threads per OCR model: ``$VIRTUALPY_OCR_THREADS``, by default 1."""
    raw = os.environ.get(THREADS_ENV, "").strip() or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(
            f"${THREADS_ENV} must be a whole number of threads, at least 1, not {raw!r} "
            "(1, the default, costs the least CPU)"
        )
    return int(raw)


def results() -> ResultCache:
    """The process's memory of OCR results (see `ocr_cache`), sized by ``$VIRTUALPY_OCR_CACHE``."""
    global _result_cache
    with _lock:
        if _result_cache is None:
            _result_cache = ResultCache(entries_from_env())
        return _result_cache
