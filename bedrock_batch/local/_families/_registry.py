"""The emulator's registry of model families: which family answers a model and invocation type.

Resolution reads the shared catalogue data (``ModelInfo.family``); the model id itself is
resolved by :func:`._models.resolve_model_id`. Every invocation of type ``Converse`` is
answered by the one Converse family, whatever the model. The built-in families are
registered when this module is imported.
"""

from __future__ import annotations

from ..._catalog import ModelInfo
from ._anthropic import ANTHROPIC
from ._converse import CONVERSE
from ._llama import LLAMA
from ._mistral import MISTRAL
from ._nova import NOVA
from ._nova_embed import NOVA_EMBED
from ._openai_chat import OPENAI_CHAT
from ._protocol import EmulatedFamily
from ._titan_embed import TITAN_EMBED_IMAGE, TITAN_EMBED_TEXT
from ._titan_text import TITAN_TEXT

__all__ = ["UnknownFamily", "family_for", "get", "register", "registered", "unregister"]

_FAMILIES: dict[str, EmulatedFamily] = {}


class UnknownFamily(LookupError):
    """No emulated family of that name is registered."""


def register(family: EmulatedFamily) -> None:
    """Register ``family`` under its name (replacing a family of the same name)."""
    if not isinstance(family, EmulatedFamily):
        raise TypeError(f"{family!r} does not implement EmulatedFamily")
    _FAMILIES[family.name] = family


def unregister(name: str) -> None:
    """Forget the family called ``name`` (nothing happens when there is none)."""
    _FAMILIES.pop(name, None)


def get(name: str) -> EmulatedFamily:
    """The family called ``name`` (raises :class:`UnknownFamily`)."""
    try:
        return _FAMILIES[name]
    except KeyError:
        raise UnknownFamily(f"Local Bedrock does not emulate the model family {name!r}.") from None


def registered() -> tuple[EmulatedFamily, ...]:
    """Every registered family, in registration order."""
    return tuple(_FAMILIES.values())


def family_for(model: ModelInfo, invocation_type: str) -> EmulatedFamily:
    """The family that answers ``model`` for ``invocation_type`` (``InvokeModel`` or
    ``Converse``); raises :class:`UnknownFamily` when none is registered."""
    return get(CONVERSE.name if invocation_type == "Converse" else model.family)


for _family in (
    ANTHROPIC,
    TITAN_TEXT,
    TITAN_EMBED_TEXT,
    TITAN_EMBED_IMAGE,
    LLAMA,
    MISTRAL,
    NOVA,
    OPENAI_CHAT,
    NOVA_EMBED,
    CONVERSE,
):
    register(_family)
