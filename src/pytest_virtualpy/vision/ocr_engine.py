"""The process's OCR engines and OCR result memory, each made once, on first use.

Nothing here runs at import: a test process that never reads text never loads
onnxruntime, tesseract or the OCR models (about 0.3-0.7 s of CPU per process).

tesseract runs in this process through ``tesserocr`` (its C++ API; the models stay loaded,
which saves the ~150 ms a ``tesseract`` subprocess spends loading them on every call), with
one OpenMP thread (``OMP_THREAD_LIMIT=1`` unless set: on these 2 cores its threads made a
720p frame take 2-3 times longer). Its language data comes from the system package
(``tesseract-ocr-eng``, and ``tesseract-ocr-deu`` for letters such as ö, ä, ß), found in
``$TESSDATA_PREFIX`` or the Debian/Ubuntu folders; the default language is
``$VIRTUALPY_OCR_LANG``, else ``eng+deu`` when the German data is there, else ``eng``.

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
LANG_ENV = "VIRTUALPY_OCR_LANG"
TESSDATA_DIRS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)

_lock = threading.Lock()
_rapid_engine: Any = None
_tess_apis: dict[str, Any] = {}
tesseract_lock = threading.Lock()  # a tesseract API reads one image at a time
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


def tessdata_dir() -> str | None:
    """The folder of tesseract's language data (``eng.traineddata``...), or None.

    >>> tessdata_dir() is None or os.path.isdir(tessdata_dir())
    True
    """
    env = os.environ.get("TESSDATA_PREFIX", "").strip()
    for folder in ([env, os.path.join(env, "tessdata")] if env else []) + list(TESSDATA_DIRS):
        if os.path.isfile(os.path.join(folder, "eng.traineddata")):
            return folder
    return None


def default_lang() -> str:
    """tesseract's languages when none is given: ``$VIRTUALPY_OCR_LANG``, else eng(+deu).

    >>> default_lang().startswith("eng") or bool(os.environ.get(LANG_ENV))
    True
    """
    env = os.environ.get(LANG_ENV, "").strip()
    if env:
        return env
    folder = tessdata_dir()
    if folder and os.path.isfile(os.path.join(folder, "deu.traineddata")):
        return "eng+deu"
    return "eng"


def tesserocr_api(lang: str) -> Any:
    """This process's in-process tesseract for ``lang`` (made on first use), or None.

    None when the ``tesserocr`` package or the language data is missing (then the
    ``tesseract`` binary is used, if installed). Use it under `tesseract_lock`.
    """
    with _lock:
        if lang in _tess_apis:
            return _tess_apis[lang]
        api = None
        folder = tessdata_dir()
        if folder is not None and all(
            os.path.isfile(os.path.join(folder, f"{part}.traineddata")) for part in lang.split("+")
        ):
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # read when the library loads
            try:
                import tesserocr
            except ImportError:
                tesserocr = None
            if tesserocr is not None:
                api = tesserocr.PyTessBaseAPI(
                    path=folder + "/", lang=lang, oem=tesserocr.OEM.LSTM_ONLY
                )
                # We give it dark-on-light text: its second, inverted reading of each
                # unsure line only costs time.
                api.SetVariable("tessedit_do_invert", "0")
        _tess_apis[lang] = api
        return api


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
