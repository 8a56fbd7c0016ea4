"""Thumbnails of evidence photos: made with Pillow on first request, kept on disk by the file's SHA-256.

A thumbnail is at most MAX_SIDE pixels on its longer side and re-encoded (JPEG, or PNG for a
picture with transparency), so it carries no EXIF or other metadata of the original, which is
never touched. Only JPEG, PNG, GIF and WebP decoders are used, and a picture of more than
MAX_PIXELS pixels is not decoded at all (a decompression bomb). A file that cannot be made into a
thumbnail gets none: the caller shows a placeholder, and the failure is remembered so that it is
not tried on every request.
"""
from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Optional

from PIL import Image, ImageOps

MAX_SIDE = 240
# 64 megapixels: more than any phone photo; Pillow's own bomb check is set to the same limit.
MAX_PIXELS = 64_000_000
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
FOLDER = "thumbs"
# Suffixes of the cached files: a JPEG or PNG thumbnail, or the mark of a file that has none.
SUFFIXES = {".jpg": "image/jpeg", ".png": "image/png"}
FAILED = ".none"

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
log = logging.getLogger(__name__)


def _cache_base(upload_dir: str, sha256: str) -> Path:
    return Path(upload_dir) / FOLDER / sha256[:2] / sha256


def cached(upload_dir: str, sha256: str) -> Optional[tuple[Path, str]]:
    """The cached thumbnail of the file with this hash and its Content-Type, if one was made."""
    base = _cache_base(upload_dir, sha256)
    for suffix, mimetype in SUFFIXES.items():
        path = base.with_suffix(suffix)
        if path.is_file():
            return path, mimetype
    return None


def thumbnail(upload_dir: str, sha256: str, source: Path) -> Optional[tuple[Path, str]]:
    """The thumbnail of the stored file `source` (hash `sha256`) and its Content-Type, made and cached
    on first request; None when the file is no picture Pillow may open, too large or broken."""
    found = cached(upload_dir, sha256)
    if found is not None:
        return found
    base = _cache_base(upload_dir, sha256)
    if base.with_suffix(FAILED).exists():
        return None
    base.parent.mkdir(parents=True, exist_ok=True)
    made = _make(source)
    if made is None:
        base.with_suffix(FAILED).touch()
        return None
    image, suffix = made
    target = base.with_suffix(suffix)
    fd, tmp = tempfile.mkstemp(dir=base.parent, prefix=".thumb-")
    try:
        with os.fdopen(fd, "wb") as out:
            if suffix == ".jpg":
                image.save(out, "JPEG", quality=80, optimize=True)
            else:
                image.save(out, "PNG", optimize=True)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target, SUFFIXES[suffix]


def _make(source: Path) -> Optional[tuple[Image.Image, str]]:
    """Decode `source` and shrink it; None (logged) when it must not or cannot be decoded."""
    try:
        with warnings.catch_warnings():
            # Over the limit is refused outright, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source, formats=FORMATS) as opened:
                width, height = opened.size
                if width * height > MAX_PIXELS or width <= 0 or height <= 0:
                    log.warning("thumbnail refused: %s is %dx%d pixels", source.name, width, height)
                    return None
                opened.draft("RGB", (MAX_SIDE * 2, MAX_SIDE * 2))  # JPEG: decode at a smaller scale
                image = ImageOps.exif_transpose(opened)  # upright as the camera meant, EXIF dropped
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                return _flatten(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            EOFError) as err:
        log.warning("thumbnail not made for %s: %s", source.name, err)
        return None


def _flatten(image: Image.Image) -> tuple[Image.Image, str]:
    """The image in a mode its format can save: PNG for transparency, JPEG (RGB) otherwise."""
    transparent = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if transparent:
        return image.convert("RGBA"), ".png"
    return image.convert("RGB"), ".jpg"
