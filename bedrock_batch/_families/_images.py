"""Images in request bodies, checked before anything is uploaded: the bytes must be the image
they claim to be (PNG, JPEG, GIF or WEBP, told by their magic numbers) and no larger than the
model takes (``ModelInfo.max_image_bytes``, catalogue data with its source; None: not known, so
not checked).

Three spellings of a base64 image are found anywhere in a body: Anthropic's
``{"type": "image", "source": {"type": "base64", "media_type", "data"}}``, Converse's and Nova's
``{"image": {"format", "source": {"bytes"}}}``, and Titan's ``"inputImage"`` (format unnamed).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import Any

from .._catalog import ModelInfo

__all__ = ["FORMATS", "image_format", "image_problem", "size_problem"]

#: The image formats Bedrock's families take, as their bodies spell them.
FORMATS = ("png", "jpeg", "gif", "webp")


def image_format(data: bytes) -> str | None:
    """The format the bytes are, told by their magic numbers; None for none of :data:`FORMATS`."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def size_problem(size: int, model: ModelInfo | None) -> str | None:
    """Why an image of ``size`` bytes is too large for ``model``, or None."""
    limit = model.max_image_bytes if model is not None else None
    if limit is None or size <= limit:
        return None
    source = f" ({model.max_image_bytes_source})" if model and model.max_image_bytes_source else ""
    name = model.display_name if model is not None else "the model"
    return f"the image is {size:,} bytes, over {name}'s limit of {limit:,} bytes per image{source}"


def _normal(fmt: Any) -> str:
    text = str(fmt).lower().removeprefix("image/")
    return "jpeg" if text == "jpg" else text


def _found(node: Any, where: str) -> Iterator[tuple[str, Any, str | None]]:
    """(where, base64 data, claimed format or None) of every base64 image in ``node``."""
    if isinstance(node, dict):
        source = node.get("source")
        if node.get("type") == "image" and isinstance(source, dict) and "data" in source:
            yield where, source.get("data"), _normal(source.get("media_type"))
        image = node.get("image")
        inner = image.get("source") if isinstance(image, dict) else None
        if isinstance(image, dict) and isinstance(inner, dict) and "bytes" in inner:
            yield f"{where}.image", inner["bytes"], _normal(image.get("format"))
        if "inputImage" in node:
            yield f"{where}.inputImage", node["inputImage"], None
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _found(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _found(item, f"{where}[{i}]")


def image_problem(body: Any, model: ModelInfo | None) -> str | None:
    """Why a base64 image in ``body`` would be refused (not the image it claims to be, not an
    image, or too large for ``model``), or None when every image passes."""
    for where, data, claimed in _found(body, "modelInput"):
        if not isinstance(data, str):
            continue  # the family's own check names the shape
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return f"{where}: the image data is not valid base64"
        actual = image_format(raw)
        if actual is None:
            return f"{where}: the data is not a PNG, JPEG, GIF or WEBP image (its first bytes are {raw[:8]!r})"  # fmt: skip
        if claimed is not None and claimed != actual:
            return f"{where}: the image claims to be {claimed} but its bytes are {actual}"
        too_large = size_problem(len(raw), model)
        if too_large:
            return f"{where}: {too_large}"
    return None
