"""The one registry of client families: a model id (any spelling) and an invocation type in,
the family that builds, checks and reads its bodies out.

InvokeModel resolves through the catalogue (``ModelInfo.family``, or its id-prefix table for
models it does not list); any other invocation type (Converse) has one family shared by every
model. The built-in families are registered on import; a new family registers itself with
:func:`register` (see ``docs/contributing.md``).
"""

from __future__ import annotations

from .._catalog import family_of
from ._anthropic import ANTHROPIC
from ._converse import CONVERSE
from ._llama import LLAMA
from ._mistral import MISTRAL
from ._nova import NOVA
from ._nova_embed import NOVA_EMBED
from ._openai_chat import OPENAI_CHAT
from ._protocol import ClientFamily
from ._titan_embed import TITAN_EMBED_IMAGE, TITAN_EMBED_TEXT
from ._titan_text import TITAN_TEXT

__all__ = ["family_for", "get", "register", "registered", "unregister"]

#: Families by name, in registration order.
_FAMILIES: dict[str, ClientFamily] = {}


def register(family: ClientFamily) -> ClientFamily:
    """Register ``family`` under its name (registering the same object again is a no-op);
    returns it. Another family of that name must be unregistered first."""
    if not isinstance(family, ClientFamily):
        raise TypeError(f"a family must be a ClientFamily, not {type(family).__name__}")
    if not family.name:
        raise ValueError("a family needs a name")
    known = _FAMILIES.get(family.name)
    if known is not None and known is not family:
        raise ValueError(f"a family named {family.name!r} is already registered")
    _FAMILIES[family.name] = family
    return family


def unregister(name: str) -> ClientFamily | None:
    """Remove the family of that name; returns it (None when there was none)."""
    return _FAMILIES.pop(name, None)


def get(name: str) -> ClientFamily | None:
    """The family registered under ``name``, or None."""
    return _FAMILIES.get(name)


def registered() -> tuple[ClientFamily, ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())


def family_for(model_id: str, invocation_type: str = "InvokeModel") -> ClientFamily | None:
    """The family of ``model_id`` (an id, ARN or inference profile) for ``invocation_type``;
    None for a model no registered family knows."""
    if invocation_type != "InvokeModel":
        return next((f for f in _FAMILIES.values() if f.invocation_type == invocation_type), None)
    name = family_of(model_id)
    return _FAMILIES.get(name) if name is not None else None


for _family in (
    ANTHROPIC,
    TITAN_TEXT,
    TITAN_EMBED_TEXT,
    TITAN_EMBED_IMAGE,
    LLAMA,
    OPENAI_CHAT,  # ahead of Mistral: an unknown model's chat.completion reads as OpenAI's
    MISTRAL,
    NOVA,
    NOVA_EMBED,
    CONVERSE,
):
    register(_family)
