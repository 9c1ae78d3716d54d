"""Request bodies in each model family's native format (or Converse's), for ``add_prompt`` and
``add_embedding``. Pure functions: a body in, a body out, or a :class:`ValidationError`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from .._catalog import Family
from .._errors import ValidationError
from ._schemas import ANTHROPIC_VERSION

__all__ = ["Image", "build_embedding", "build_prompt"]

Image = bytes | tuple[bytes, str]


def _image(image: Image) -> tuple[str, str]:
    """(format, base64) for raw image bytes, detecting the format from magic numbers."""
    data, fmt = image if isinstance(image, tuple) else (image, "")
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("images must be bytes or (bytes, format)")
    if not fmt:
        if data.startswith(b"\x89PNG"):
            fmt = "png"
        elif data.startswith(b"\xff\xd8"):
            fmt = "jpeg"
        elif data[:4] == b"GIF8":
            fmt = "gif"
        elif data[8:12] == b"WEBP":
            fmt = "webp"
        else:
            raise ValidationError(
                "cannot tell the image format; pass (bytes, 'png'|'jpeg'|'gif'|'webp')"
            )
    return fmt.lower().replace("jpg", "jpeg"), base64.b64encode(bytes(data)).decode("ascii")


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _llama_prompt(prompt: str, system: str | None) -> str:
    parts = ["<|begin_of_text|>"]
    if system:
        parts.append(f"<|start_header_id|>system<|end_header_id|>\n\n{system}<|eot_id|>")
    parts.append(f"<|start_header_id|>user<|end_header_id|>\n\n{prompt}<|eot_id|>")
    parts.append("<|start_header_id|>assistant<|end_header_id|>\n\n")
    return "".join(parts)


def build_prompt(
    family: Family | None,
    prompt: str,
    *,
    invocation_type: str = "InvokeModel",
    system: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    stop_sequences: Sequence[str] | None = None,
    images: Sequence[Image] = (),
    extra: dict[str, Any] | None = None,
    tool: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A single-turn text-generation body in the family's format (or Converse's).

    ``extra`` keys are merged into the body as given (e.g. ``top_k`` for Anthropic, or
    ``additionalModelRequestFields`` for Converse); ``tool`` holds the fields of a forced tool
    (:func:`bedrock_batch._families._structured.forced_tool`).
    """
    if not isinstance(prompt, str) or not prompt or prompt.isspace():
        raise ValidationError("the prompt must be a non-empty string")
    stops = list(stop_sequences) if stop_sequences else None
    imgs = [_image(i) for i in images] if images else []
    body: dict[str, Any]
    if invocation_type == "Converse" or family == "nova":
        content: list[dict[str, Any]] = [{"text": prompt}]
        content += [{"image": {"format": f, "source": {"bytes": b}}} for f, b in imgs]
        config = _drop_none(
            {
                "maxTokens": max_tokens,
                "temperature": temperature,
                "topP": top_p,
                "stopSequences": stops,
            }
        )
        body = {"messages": [{"role": "user", "content": content}]}
        if invocation_type != "Converse":
            body = {"schemaVersion": "messages-v1", **body}
        if system:
            body["system"] = [{"text": system}]
        if config:
            body["inferenceConfig"] = config
    elif family == "anthropic":
        blocks: list[dict[str, Any]] = [
            {"type": "image", "source": {"type": "base64", "media_type": f"image/{f}", "data": b}}
            for f, b in imgs
        ]
        blocks.append({"type": "text", "text": prompt})
        body = {
            "anthropic_version": ANTHROPIC_VERSION,
            "max_tokens": max_tokens if max_tokens is not None else 1024,
            "messages": [{"role": "user", "content": blocks}],
        }
        if system is not None:
            body["system"] = system
        if temperature is not None:
            body["temperature"] = temperature
        if top_p is not None:
            body["top_p"] = top_p
        if stops is not None:
            body["stop_sequences"] = stops
    elif family == "titan-text":
        if imgs:
            raise ValidationError("Titan Text takes no images")
        text = f"{system}\n\n{prompt}" if system else prompt
        config = _drop_none(
            {
                "maxTokenCount": max_tokens,
                "temperature": temperature,
                "topP": top_p,
                "stopSequences": stops,
            }
        )
        body = {"inputText": text}
        if config:
            body["textGenerationConfig"] = config
    elif family == "llama":
        if stops:
            raise ValidationError("Llama's native format has no stop sequences; use Converse")
        body = {"prompt": _llama_prompt(prompt, system)}
        body.update(
            _drop_none({"max_gen_len": max_tokens, "temperature": temperature, "top_p": top_p})
        )
        if imgs:
            body["images"] = [b for _, b in imgs]
    elif family == "mistral":
        if imgs:
            raise ValidationError("Mistral's chat format takes no images here; use Converse")
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}
        ]
        body = {"messages": messages}
        body.update(
            _drop_none(
                {
                    "max_tokens": max_tokens,
                    "temperature": temperature,
                    "top_p": top_p,
                    "stop": stops,
                }
            )
        )
    elif family in ("titan-embed-text", "titan-embed-image"):
        raise ValidationError("this is an embedding model: use add_embedding()")
    else:
        raise ValidationError(
            "unknown model family: pass a complete modelInput with add(), or use invocation_type='Converse'"
        )
    if tool:
        body.update(tool)
    if extra:
        body.update(extra)
    return body


def build_embedding(
    family: Family | None,
    text: str | None = None,
    *,
    image: Image | None = None,
    dimensions: int | None = None,
    normalize: bool | None = None,
) -> dict[str, Any]:
    """An embeddings body for Titan Text Embeddings V2 or Titan Multimodal Embeddings G1."""
    if family == "titan-embed-text":
        if image is not None:
            raise ValidationError("Titan Text Embeddings V2 takes no image")
        if not text or not text.strip():
            raise ValidationError("non-blank text is required for Titan Text Embeddings V2")
        return _drop_none({"inputText": text, "dimensions": dimensions, "normalize": normalize})
    if family == "titan-embed-image":
        if not text and image is None:
            raise ValidationError("text or image is required for Titan Multimodal Embeddings")
        body = _drop_none({"inputText": text or None})
        if image is not None:
            body["inputImage"] = _image(image)[1]
        if dimensions is not None:
            body["embeddingConfig"] = {"outputEmbeddingLength": dimensions}
        if normalize is not None:
            raise ValidationError("Titan Multimodal Embeddings has no normalize option")
        return body
    raise ValidationError("add_embedding() needs an embedding model (Titan embeddings)")
