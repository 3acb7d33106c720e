"""Loading and validating images, masks and regions.

Every public function in this package accepts images as a path (``str`` or
``pathlib.Path``) or as a numpy array, and funnels them through `load_image`,
so the rules (and the error messages) are the same everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pytest_virtualpy.errors import ImageError

from .region import Region

ImageLike = str | os.PathLike | np.ndarray


def load_image(image: ImageLike, *, color: str | None = None) -> np.ndarray:
    """Load an image from a file, or validate an array, returning uint8 pixels.

    The result is BGR (3 channels), BGRA (4 channels, the alpha channel of a
    PNG is kept) or grayscale (2-D), all ``uint8``. 16-bit image *files* are
    scaled down to 8 bits. Arrays must already be ``uint8``: anything else raises
    `ImageError` rather than being silently converted.

    ``color`` converts the result: "bgr", "gray" or None (keep what's there)::

        ref = load_image("images/menu-selected.png")        # BGRA if it has alpha
        gray = load_image(frame, color="gray")

    :raises pytest_virtualpy.errors.ImageError: unreadable file, wrong dtype or
        wrong shape; the message says what was wrong and how to fix it.
    """
    if isinstance(image, np.ndarray):
        arr = image
        _validate_array(arr, "image")
    elif isinstance(image, str | os.PathLike):
        arr = _read_file(Path(image))
    else:
        raise ImageError(
            f"Expected a file path or a numpy array, got {type(image).__name__}. "
            "Pass the path of a PNG file or a uint8 BGR numpy array."
        )
    if color is None:
        return arr
    if color == "gray":
        return to_gray(arr)
    if color == "bgr":
        return to_bgr(arr)
    raise ValueError(f"color must be 'bgr', 'gray' or None, got {color!r}")


def _read_file(path: Path) -> np.ndarray:
    if not path.exists():
        raise ImageError(
            f"Image file {str(path)!r} does not exist (working directory: {os.getcwd()!r}). "
            "Check the path, or pass an absolute path."
        )
    if path.is_dir():
        raise ImageError(f"{str(path)!r} is a directory, not an image file.")
    data = np.fromfile(str(path), dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if arr is None:
        raise ImageError(
            f"Could not decode image file {str(path)!r}: it is empty, corrupt or not an image "
            "format OpenCV can read. Save it as PNG (lossless) and try again."
        )
    if arr.dtype == np.uint16:
        arr = (arr // 257).astype(np.uint8)
    elif arr.dtype != np.uint8:
        raise ImageError(
            f"Image file {str(path)!r} has unsupported pixel type {arr.dtype}; "
            "save it as an 8-bit (or 16-bit) PNG."
        )
    _validate_array(arr, f"image file {str(path)!r}")
    return arr


def _validate_array(arr: np.ndarray, what: str) -> None:
    if arr.dtype != np.uint8:
        raise ImageError(
            f"The {what} has dtype {arr.dtype}, but 8-bit images (dtype uint8, values 0-255) "
            "are required. Convert it, e.g. np.clip(a * 255, 0, 255).astype(np.uint8) for "
            "floats in 0..1."
        )
    if arr.ndim == 3 and arr.shape[2] == 1:
        return
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(
            f"The {what} has shape {arr.shape}; expected (height, width) grayscale, "
            "(height, width, 3) BGR or (height, width, 4) BGRA."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"The {what} is empty (shape {arr.shape}); it must contain pixels.")


def to_gray(image: np.ndarray) -> np.ndarray:
    """A 2-D uint8 copy/view of ``image`` (BGR, BGRA or gray), alpha dropped."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    if image.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2GRAY)


def to_bgr(image: np.ndarray) -> np.ndarray:
    """A 3-channel BGR version of ``image`` (alpha dropped, gray replicated)."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[:, :, :3])
    return image


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Split a reference image into (pixels, mask).

    Any pixel with alpha < 255 is *ignored* (mask 0); others are considered
    (mask 255). The mask is None when there is no alpha channel or every pixel
    is fully opaque, so callers can take a faster unmasked path.
    """
    if image.ndim == 3 and image.shape[2] == 4:
        alpha = image[:, :, 3]
        pixels = np.ascontiguousarray(image[:, :, :3])
        if int(alpha.min()) == 255:
            return pixels, None
        return pixels, np.where(alpha == 255, 255, 0).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0], None
    return image, None


def load_mask(mask: ImageLike | None, shape: tuple[int, ...] | None = None) -> np.ndarray | None:
    """Load a mask: a grayscale image where non-zero pixels are *considered*.

    Returns a 2-D uint8 array of 0/255, or None if ``mask`` is None. Colour
    masks are converted to gray. If ``shape`` (a frame's shape) is given the
    mask must have the same width and height.

    >>> import numpy as np
    >>> m = np.zeros((720, 1280), np.uint8); m[600:, :] = 7   # only the bottom band
    >>> load_mask(m, (720, 1280, 3))[[0, 700], 0].tolist()
    [0, 255]
    >>> load_mask(None) is None
    True
    """
    if mask is None:
        return None
    arr = load_image(mask)
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = np.where(arr[:, :, 3] == 255, to_gray(arr), 0).astype(np.uint8)
    arr = to_gray(arr)
    if shape is not None and arr.shape[:2] != tuple(shape[:2]):
        raise ImageError(
            f"The mask is {arr.shape[1]}x{arr.shape[0]} but the frame is {shape[1]}x{shape[0]}; "
            "a mask must be the same size as the frame it applies to."
        )
    return np.where(arr > 0, 255, 0).astype(np.uint8)


def validate_frame(frame: Any) -> np.ndarray:
    """Check a frame (uint8 BGR/BGRA/gray array) and return it."""
    if not isinstance(frame, np.ndarray):
        raise ImageError(
            f"Expected a frame as a numpy array, got {type(frame).__name__}. "
            "Use load_image(path) to load a saved screenshot."
        )
    _validate_array(frame, "frame")
    return frame


def crop_region(frame: np.ndarray, region: Region) -> tuple[np.ndarray, Region | None]:
    """Clip ``region`` to ``frame`` and return (cropped view, clipped region).

    If the region lies completely outside the frame the clipped region is None
    and the returned array is empty.
    """
    clipped = region.clip(frame.shape[1], frame.shape[0])
    if clipped is None:
        return frame[0:0, 0:0], None
    return frame[clipped.to_slice()], clipped


def region_mask(mask: np.ndarray | None, clipped: Region | None) -> np.ndarray | None:
    """Crop a full-frame mask to a clipped region (None stays None)."""
    if mask is None or clipped is None:
        return mask
    return mask[clipped.to_slice()]


def image_name(image: Any) -> str:
    """A short human-readable name for an image argument, for messages."""
    if isinstance(image, str | os.PathLike):
        return str(image)
    if isinstance(image, np.ndarray):
        return f"<{image.shape[1]}x{image.shape[0]} array>" if image.ndim >= 2 else "<array>"
    return repr(image)
