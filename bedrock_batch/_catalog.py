"""What we know about the models that support batch inference.

Shared by the client (record builders, pre-flight checks, quota names) and by Local Bedrock
(which models it accepts and how it answers). It is data about the service, not logic.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

import attrs

__all__ = [
    "CATALOG",
    "QUOTA_NAME_TEMPLATES",
    "SINGLE_FORMAT_PREFIXES",
    "Family",
    "ModelInfo",
    "assumed_family",
    "assumed_model_warnings",
    "base_model_id",
    "canonical_model_id",
    "default_invocation_type",
    "estimate_tokens",
    "family_of",
    "lookup_model",
    "model_problem",
]

#: A request family's name (``"anthropic"``, ``"titan-text"``, ``"titan-embed-text"``,
#: ``"titan-embed-image"``, ``"llama"``, ``"mistral"``, ``"nova"``, ``"openai-chat"``,
#: ``"nova-embed"``, or a family registered later).
Family = str

#: How well the facts establish that a model runs batch jobs (``bedrock-facts.md`` §10, §12.1).
BatchSupport = Literal["VERIFIED", "REPORTED", "UNVERIFIED"]

EMBEDDING_FAMILIES: frozenset[str] = frozenset(
    {"titan-embed-text", "titan-embed-image", "nova-embed"}
)


@attrs.frozen
class ModelInfo:
    """One foundation model: its id, request family, quota display name and output ceiling."""

    model_id: str
    family: Family
    display_name: str
    max_output_tokens: int = 4096
    #: Only reachable through a cross-region inference profile (``us.``/``eu.``/... ids).
    requires_profile: bool = False
    #: ``temperature`` and ``top_p`` may not both be given (Claude 4.5 generation).
    exclusive_sampling: bool = False
    # Capabilities that differ *within* a family are columns here, never branches in code.
    # ``None`` means "not known" (the facts do not say); readers treat it as "no" and say so.
    #: Tool use: Converse ``toolConfig`` on bedrock-runtime and the family's native tools.
    tools: bool = False
    #: The Converse ``toolChoice`` members the model accepts (``auto``, ``any``, ``tool``).
    tool_choices: frozenset[str] = frozenset()
    #: Bedrock's own structured outputs (Claude ``output_config.format``, Converse
    #: ``outputConfig.textFormat``, OpenAI-style ``response_format``), facts §12.3.
    native_structured_outputs: bool | None = False
    #: Prompt caching (Claude ``cache_control``, Converse/Nova ``cachePoint``), facts §12.4.
    prompt_caching: bool | None = None
    #: Extended thinking / reasoning content.
    thinking: bool | None = None
    #: Whether ``add_prompt`` may build the family's native (InvokeModel) body for this model:
    #: True when the facts give it; None when they mark it UNVERIFIED (built, with one warning);
    #: False when the family's builder is known not to fit (Llama 4's chat template is not
    #: Llama 3's): refused, with the advice to use Converse.
    native_prompt: bool | None = True
    #: The invocation type a job for this model uses when the caller names none: Converse where
    #: the native body is not established (facts §12.2), else InvokeModel.
    default_invocation: str = "InvokeModel"
    #: Largest image the model takes, in bytes of the decoded image (None: not known).
    max_image_bytes: int | None = None
    #: Where ``max_image_bytes`` comes from.
    max_image_bytes_source: str = ""
    #: The facts' label for the model's batch support (§10 for the older rows, §12.1 for the
    #: late-2026 ones): ``VERIFIED``, ``REPORTED`` or ``UNVERIFIED``.
    batch_support: BatchSupport = "UNVERIFIED"
    #: The only regions the model is offered in (empty: not restricted, or not known).
    regions: frozenset[str] = frozenset()
    #: The inference-profile prefixes the facts have seen for the model (``"us."``, ...);
    #: ``None``: not known; empty: the model has no inference profile (facts §12.1).
    profiles: frozenset[str] | None = None
    #: Whether Service Quotas publishes the six batch quotas under ``display_name`` (facts
    #: Appendix A, or the rows this library shipped with); False: no quota names are known.
    service_quotas: bool = True

    @property
    def is_embedding(self) -> bool:
        """True for the embedding models (no text generation, no Converse)."""
        return self.family in EMBEDDING_FAMILIES


#: Capability columns shared by a family's models (facts §10, §12; Bedrock's "supported
#: features" tables). Spread into a row; a row may override any of them.
_CLAUDE: dict[str, Any] = {
    "tools": True,
    "tool_choices": frozenset({"auto", "any", "tool"}),
    "max_image_bytes": 3_932_160,
    "max_image_bytes_source": "Anthropic docs, vision: 3.75 MB per image (API)",
}
_NOVA: dict[str, Any] = {"tools": True, "tool_choices": frozenset({"auto", "any", "tool"})}
_MISTRAL: dict[str, Any] = {"tools": True, "tool_choices": frozenset({"auto", "any"})}
_LLAMA_TOOLS: dict[str, Any] = {"tools": True, "tool_choices": frozenset({"auto"})}

_V: dict[str, Any] = {"batch_support": "VERIFIED"}
_R: dict[str, Any] = {"batch_support": "REPORTED"}
_U: dict[str, Any] = {"batch_support": "UNVERIFIED"}
#: OpenAI-compatible chat-completions models (gpt-oss, Qwen3, DeepSeek V3.1), facts §12.2:
#: text only; function tools in OpenAI form (tool choice ``auto`` through Converse: a guess).
_OPENAI_CHAT: dict[str, Any] = {"tools": True, "tool_choices": frozenset({"auto"})}
#: Claude 4.x rows: profiles only (the facts show profile ids; litellm-docs #1408), temperature
#: and top_p exclusive (facts §11), extended thinking (Anthropic Messages, facts §12.2).
_CLAUDE_4X: dict[str, Any] = {
    **_CLAUDE,
    "requires_profile": True,
    "exclusive_sampling": True,
    "thinking": True,
}

# Rows: the facts' batch label (§10 for the older rows, §12.1 for the late-2026 ones), the
# capability columns from §12.3 (structured outputs) and §12.4 (prompt caching; None where the
# facts do not say). Output ceilings of the late-2026 rows are the providers' published limits
# where the facts give none (marked "plausible").
_MODELS = [
    ModelInfo(
        "anthropic.claude-3-haiku-20240307-v1:0",
        "anthropic",
        "Claude 3 Haiku",
        4096,
        **_CLAUDE,
        **_V,
    ),
    ModelInfo(
        "anthropic.claude-3-sonnet-20240229-v1:0",
        "anthropic",
        "Claude 3 Sonnet",
        4096,
        **_CLAUDE,
        **_V,
    ),
    ModelInfo(
        "anthropic.claude-3-opus-20240229-v1:0", "anthropic", "Claude 3 Opus", 4096, **_CLAUDE, **_V
    ),
    ModelInfo(
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic",
        "Claude 3.5 Sonnet",
        8192,
        **_CLAUDE,
        **_V,
    ),
    ModelInfo(
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "anthropic",
        "Claude 3.5 Sonnet v2",
        8192,
        **_CLAUDE,
        **_V,
    ),
    ModelInfo(
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "anthropic",
        "Claude 3.5 Haiku",
        8192,
        **_CLAUDE,
        **_V,
        prompt_caching=True,  # §12.4 (REPORTED, portkey docs; an older AWS note)
    ),
    ModelInfo(
        "anthropic.claude-3-7-sonnet-20250219-v1:0",
        "anthropic",
        "Claude 3.7 Sonnet",
        64000,
        requires_profile=True,
        **_CLAUDE,
        **_V,
        prompt_caching=True,  # §12.4 (REPORTED, portkey docs; an older AWS note)
    ),
    ModelInfo(
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "anthropic",
        "Claude Sonnet 4",
        64000,
        requires_profile=True,
        **_CLAUDE,
        **_V,
    ),
    ModelInfo(
        "anthropic.claude-haiku-4-5-20251001-v1:0",
        "anthropic",
        "Claude Haiku 4.5",
        64000,
        requires_profile=True,
        exclusive_sampling=True,
        **_CLAUDE,
        **_R,  # §10 / §12.1: one real job (real-account fixture)
        native_structured_outputs=True,  # §12.3 VERIFIED
        prompt_caching=True,  # §12.4 REPORTED
        profiles=frozenset({"us.", "eu.", "jp.", "global."}),
    ),
    # --- Claude, late 2026 (§12.1) ---
    ModelInfo(
        "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "anthropic",
        "Claude Sonnet 4.5",
        64000,
        **_CLAUDE_4X,
        **_R,
        native_structured_outputs=True,  # §12.3 VERIFIED
        prompt_caching=True,  # §12.4 REPORTED
        profiles=frozenset({"us.", "jp.", "global."}),
        service_quotas=False,
    ),
    ModelInfo(
        "anthropic.claude-opus-4-1-20250805-v1:0",
        "anthropic",
        "Claude Opus 4.1",
        32000,  # plausible: Anthropic's published limit
        **_CLAUDE_4X,
        **_U,
        native_structured_outputs=None,  # §12.3 does not name it
        service_quotas=False,
    ),
    ModelInfo(
        "anthropic.claude-opus-4-5-20251101-v1:0",
        "anthropic",
        "Claude Opus 4.5",
        64000,  # plausible: Anthropic's published limit
        **_CLAUDE_4X,
        **_R,  # REPORTED through global. only
        native_structured_outputs=True,  # §12.3 VERIFIED
        prompt_caching=True,  # §12.4 REPORTED
        profiles=frozenset({"eu.", "global."}),
        service_quotas=False,
    ),
    ModelInfo(
        "anthropic.claude-sonnet-4-6",  # undated, no -v1:0 (§12.1)
        "anthropic",
        "Claude Sonnet 4.6",
        64000,  # plausible
        **_CLAUDE_4X,
        **_U,
        native_structured_outputs=True,  # §12.3 REPORTED (BerriAI/litellm #23778)
        prompt_caching=True,  # §12.4 REPORTED
        service_quotas=False,
    ),
    ModelInfo(
        "anthropic.claude-opus-4-6-v1",  # no :0 (§12.1)
        "anthropic",
        "Claude Opus 4.6",
        128000,  # plausible: Anthropic's published limit
        **_CLAUDE_4X,
        **_U,
        native_structured_outputs=True,  # §12.3 VERIFIED
        prompt_caching=True,  # §12.4 REPORTED
        profiles=frozenset({"eu.", "global."}),
        service_quotas=False,
    ),
    ModelInfo("amazon.titan-text-express-v1", "titan-text", "Titan Text G1 - Express", 8192, **_U),
    ModelInfo(
        "amazon.titan-text-premier-v1:0", "titan-text", "Titan Text G1 - Premier", 3072, **_U
    ),
    ModelInfo(
        "amazon.titan-embed-text-v2:0", "titan-embed-text", "Titan Text Embeddings V2", 0, **_V
    ),
    ModelInfo(
        "amazon.titan-embed-image-v1",
        "titan-embed-image",
        "Titan Multimodal Embeddings G1",
        0,
        **_V,
    ),
    ModelInfo(
        "meta.llama3-1-8b-instruct-v1:0",
        "llama",
        "Llama 3.1 8B Instruct",
        2048,
        **_LLAMA_TOOLS,
        **_V,
    ),
    ModelInfo(
        "meta.llama3-1-70b-instruct-v1:0",
        "llama",
        "Llama 3.1 70B Instruct",
        2048,
        **_LLAMA_TOOLS,
        **_V,
    ),
    ModelInfo(
        "meta.llama3-1-405b-instruct-v1:0",
        "llama",
        "Llama 3.1 405B Instruct",
        2048,
        **_LLAMA_TOOLS,
        **_V,
    ),
    ModelInfo("meta.llama3-2-1b-instruct-v1:0", "llama", "Llama 3.2 1B Instruct", 2048, True, **_V),
    ModelInfo("meta.llama3-2-3b-instruct-v1:0", "llama", "Llama 3.2 3B Instruct", 2048, True, **_V),
    ModelInfo(
        "meta.llama3-2-11b-instruct-v1:0",
        "llama",
        "Llama 3.2 11B Instruct",
        2048,
        True,
        **_LLAMA_TOOLS,
        **_V,
    ),
    ModelInfo(
        "meta.llama3-2-90b-instruct-v1:0",
        "llama",
        "Llama 3.2 90B Instruct",
        2048,
        True,
        **_LLAMA_TOOLS,
        **_V,
    ),
    ModelInfo(
        "meta.llama3-3-70b-instruct-v1:0",
        "llama",
        "Llama 3.3 70B Instruct",
        2048,
        True,
        **_LLAMA_TOOLS,
        **_V,
    ),
    # --- Llama 4 (§12.1, §12.2: the Llama body; its prompt template is Llama 4's own) ---
    ModelInfo(
        "meta.llama4-scout-17b-instruct-v1:0",
        "llama",
        "Llama 4 Scout 17B Instruct",
        8192,  # plausible
        True,
        **_LLAMA_TOOLS,
        **_R,
        profiles=frozenset({"us."}),
        service_quotas=False,
        native_prompt=False,  # §12.2: Llama 4 has its own template (UNVERIFIED which)
        default_invocation="Converse",
    ),
    ModelInfo(
        "meta.llama4-maverick-17b-instruct-v1:0",
        "llama",
        "Llama 4 Maverick 17B Instruct",
        8192,  # plausible
        True,
        **_LLAMA_TOOLS,
        **_R,
        profiles=frozenset({"us."}),
        service_quotas=False,
        native_prompt=False,  # §12.2: Llama 4 has its own template (UNVERIFIED which)
        default_invocation="Converse",
    ),
    ModelInfo(
        "mistral.mistral-small-2402-v1:0", "mistral", "Mistral Small", 8192, **_MISTRAL, **_V
    ),
    ModelInfo(
        "mistral.mistral-large-2407-v1:0",
        "mistral",
        "Mistral Large 2 (24.07)",
        8192,
        **_MISTRAL,
        **_V,
    ),
    ModelInfo(
        "amazon.nova-micro-v1:0", "nova", "Nova Micro V1", 10000, **_NOVA, **_V, prompt_caching=True
    ),
    ModelInfo(
        "amazon.nova-lite-v1:0", "nova", "Nova Lite V1", 10000, **_NOVA, **_V, prompt_caching=True
    ),
    ModelInfo(
        "amazon.nova-pro-v1:0", "nova", "Nova Pro V1", 10000, **_NOVA, **_V, prompt_caching=True
    ),
    ModelInfo(
        "amazon.nova-premier-v1:0",
        "nova",
        "Nova Premier V1",
        10000,
        True,
        **_NOVA,
        **_V,
        prompt_caching=True,  # §12.4: the older AWS note lists Premier
    ),
    # --- Nova 2 (§12.1, §12.2) ---
    ModelInfo(
        "amazon.nova-2-lite-v1:0",
        "nova",
        "Nova 2 Lite",
        65536,  # plausible
        True,  # profile only (VERIFIED)
        **_NOVA,
        **_V,
        native_structured_outputs=True,  # §12.3 REPORTED: Converse textFormat names Nova
        thinking=True,  # §12.2 VERIFIED (reasoning comes back redacted)
        profiles=frozenset({"us.", "eu.", "global."}),
        service_quotas=False,
        native_prompt=None,  # §12.2: messages-v1 for Nova 2 is UNVERIFIED
        default_invocation="Converse",
    ),
    ModelInfo(
        "amazon.nova-2-multimodal-embeddings-v1:0",
        "nova-embed",
        "Nova 2 Multimodal Embeddings",
        0,
        **_V,
        regions=frozenset({"us-east-1"}),
        profiles=frozenset(),
        service_quotas=False,
    ),
    # --- OpenAI-compatible chat completions (§12.1, §12.2) ---
    ModelInfo(
        "openai.gpt-oss-120b-1:0",
        "openai-chat",
        "OpenAI GPT OSS 120b",
        32768,  # plausible
        **_OPENAI_CHAT,
        **_V,
        native_structured_outputs=None,  # §12.3: open-weight models UNVERIFIED per model
        thinking=True,  # reasoning in <reasoning>...</reasoning> (§12.2 REPORTED)
    ),
    ModelInfo(
        "openai.gpt-oss-20b-1:0",
        "openai-chat",
        "OpenAI GPT OSS 20b",
        32768,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=True,  # §12.3 REPORTED (BerriAI/litellm #40775)
        thinking=True,
    ),
    ModelInfo(
        "qwen.qwen3-32b-v1:0",
        "openai-chat",
        "Qwen3 32B",
        16384,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=None,
        native_prompt=None,  # §12.2: the chat-completions output is UNVERIFIED for it
        default_invocation="Converse",
    ),
    ModelInfo(
        "qwen.qwen3-235b-a22b-2507-v1:0",
        "openai-chat",
        "Qwen3 235B",
        32768,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=None,
        native_prompt=None,  # §12.2: the chat-completions output is UNVERIFIED for it
        default_invocation="Converse",
    ),
    ModelInfo(
        "qwen.qwen3-coder-30b-a3b-v1:0",
        "openai-chat",
        "Qwen3 Coder 30B",
        32768,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=None,
        native_prompt=None,  # §12.2: the chat-completions output is UNVERIFIED for it
        default_invocation="Converse",
    ),
    ModelInfo(
        "qwen.qwen3-coder-480b-a35b-v1:0",
        "openai-chat",
        "Qwen3 Coder 480B",
        32768,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=None,
        native_prompt=None,  # §12.2: the chat-completions output is UNVERIFIED for it
        default_invocation="Converse",
    ),
    ModelInfo(
        "deepseek.v3-v1:0",
        "openai-chat",
        "DeepSeek v3",  # the quota names' spelling (Appendix A); the model is DeepSeek V3.1
        8192,  # plausible
        **_OPENAI_CHAT,
        **_R,
        native_structured_outputs=None,
        native_prompt=None,  # §12.2: the chat-completions output is UNVERIFIED for it
        default_invocation="Converse",
    ),
]

#: Every model Local Bedrock accepts, by foundation-model id.
CATALOG: dict[str, ModelInfo] = {m.model_id: m for m in _MODELS}

_PROFILE_PREFIXES = ("us-gov.", "us.", "eu.", "apac.", "global.", "au.", "jp.", "ca.")
_ARN_RE = re.compile(
    r"^arn:aws(?:-[^:]+)?:bedrock:(?P<region>[a-z0-9-]*):(?P<account>\d{12})?:"
    r"(?P<kind>foundation-model|inference-profile|application-inference-profile|custom-model)"
    r"/(?P<rest>.+)$"
)


def _strip(model_id: str) -> tuple[str, bool]:
    """Return (bare model id, came through an inference profile)."""
    via_profile = False
    m = _ARN_RE.match(model_id)
    if m:
        model_id = m.group("rest")
        via_profile = m.group("kind") != "foundation-model"
    for prefix in _PROFILE_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :], True
    return model_id, via_profile


#: Which regions a geographic inference-profile prefix can be used from.
_PROFILE_REGION_PREFIXES: dict[str, tuple[str, ...]] = {
    "us.": ("us-east-", "us-west-"),
    "us-gov.": ("us-gov-",),
    "eu.": ("eu-",),
    "apac.": ("ap-",),
    "jp.": ("ap-northeast-1", "ap-northeast-3"),
    "au.": ("ap-southeast-2", "ap-southeast-4"),
    "ca.": ("ca-",),
    "global.": ("",),
}


def canonical_model_id(model_id: str) -> str:
    """One spelling per model: a foundation-model ARN becomes its model id, a system-defined
    inference-profile ARN its profile id; other ids (custom models, application inference
    profiles, plain ids) stay as given. Two spellings of one model are one batch."""
    m = _ARN_RE.match(model_id)
    if m is None:
        return model_id
    kind, rest = m.group("kind"), m.group("rest")
    if kind == "foundation-model":
        return rest
    if kind == "inference-profile" and rest.startswith(_PROFILE_PREFIXES):
        return rest
    return model_id


def _profile_prefix(model_id: str) -> str | None:
    return next((p for p in _PROFILE_PREFIXES if model_id.startswith(p)), None)


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _typo_of(bare: str) -> list[str]:
    """The catalogue ids (and their ``us.`` profiles) ``bare`` is a typo of, closest first: one
    edit away, or two for ids of 24 characters or more (``deepseek.r1-v1:0`` is not a typo of
    ``deepseek.v3-v1:0``)."""
    limit = 2 if len(bare) >= 24 else 1
    known = [*CATALOG, *(f"us.{k}" for k in CATALOG)]
    scored = [(d, k) for k in known if (d := _edit_distance(bare, k, limit)) <= limit]
    return [k for _, k in sorted(scored)[:3]]


def model_problem(
    model_id: str, region: str | None, invocation_type: str = "InvokeModel"
) -> str | None:
    """Why Bedrock would refuse this model id for a batch job in ``region``, or None.

    Catches typos (with a "did you mean"), ARNs and inference profiles of another region, and
    models that are only reachable through an inference profile. A model this version does not
    know is accepted when its provider has one body format (:data:`SINGLE_FORMAT_PREFIXES`;
    :func:`assumed_model_warnings` says which family is assumed) or when the job uses the
    Converse invocation type; other unknown ids are refused (``allow_unknown_model=True`` on
    the job skips that refusal).
    """
    m = _ARN_RE.match(model_id)
    if m and region and m.group("region") and m.group("region") != region:
        return (
            f"{model_id} is in region {m.group('region')}, but the Bedrock client is in {region}; "
            "batch jobs run in the region of the model"
        )
    bare = canonical_model_id(model_id)
    prefix = _profile_prefix(bare)
    if prefix and region:
        allowed = _PROFILE_REGION_PREFIXES.get(prefix, ("",))
        if not any(region.startswith(a) for a in allowed):
            return (
                f"the inference profile {bare} ({prefix} profiles) cannot be used from {region}; "
                "use the profile of your region's geography (e.g. 'us.', 'eu.', 'apac.') or 'global.'"
            )
    info, via_profile = lookup_model(bare)
    if info is None:
        return _unknown_model_problem(model_id, bare, m, invocation_type)
    if info.requires_profile and not via_profile:
        return f"{model_id} is only reachable through an inference profile: use e.g. 'us.{info.model_id}'"
    if via_profile and info.profiles is not None and not info.profiles:
        return f"{model_id}: {info.display_name} has no inference profile; use {info.model_id!r}"
    if info.regions and region and region not in info.regions:
        return (
            f"{info.display_name} is offered only in {', '.join(sorted(info.regions))}, "
            f"but the Bedrock client is in {region}"
        )
    return None


def _unknown_model_problem(
    model_id: str, bare: str, arn: re.Match[str] | None, invocation_type: str
) -> str | None:
    """The forward-compatible policy for an id the catalogue does not list (see
    :func:`model_problem`). Every refusal says "is not a model" (what
    ``allow_unknown_model=True`` lets through)."""
    if arn and arn.group("kind") in ("custom-model", "application-inference-profile"):
        return None  # ids we cannot know in advance
    close = _typo_of(bare)
    if close:
        return (
            f"{model_id!r} is not a model that supports batch inference (as far as this version "
            f"of bedrock_batch knows); did you mean {' or '.join(repr(c) for c in close)}? "
            "(A model released after this version: invocation_type='Converse' or "
            "allow_unknown_model=True.)"
        )
    if assumed_family(model_id) is not None or invocation_type == "Converse":
        return None
    hint = difflib.get_close_matches(bare, [*CATALOG], n=3, cutoff=0.8)
    near = f"; the closest known: {', '.join(repr(c) for c in hint)}" if hint else ""
    return (
        f"{model_id!r} is not a model that supports batch inference as far as this version of "
        f"bedrock_batch knows, and its provider has several body formats{near}. Use "
        "invocation_type='Converse' (any batch-capable model accepts it) or pass "
        "allow_unknown_model=True (CLI: --allow-unknown-model) for a model released after this "
        "version"
    )


#: Provider prefixes whose models all take one body format in the facts (§10, §12.2), and that
#: format's family: an id under one of them that the catalogue does not list is a newer model
#: of that family. ``amazon.`` (Titan, Nova, their embeddings), ``mistral.`` (Pixtral) and
#: ``deepseek.`` (R1 takes a completion body) have several formats and are not here.
SINGLE_FORMAT_PREFIXES: tuple[tuple[str, Family], ...] = (
    ("anthropic.", "anthropic"),
    ("meta.llama", "llama"),
    ("openai.", "openai-chat"),
    ("qwen.", "openai-chat"),
)


def assumed_family(model_id: str) -> Family | None:
    """The family assumed for a model id the catalogue does not list, from its provider prefix
    (:data:`SINGLE_FORMAT_PREFIXES`); None for a listed model or another prefix."""
    if lookup_model(model_id)[0] is not None:
        return None
    bare = base_model_id(model_id)
    return next((f for p, f in SINGLE_FORMAT_PREFIXES if bare.startswith(p)), None)


def assumed_model_warnings(model_id: str, invocation_type: str) -> tuple[str, ...]:
    """What a plan says about a model the catalogue does not list: the family assumed for its
    body (InvokeModel), or that the Converse body is sent unchecked against any model row."""
    if lookup_model(model_id)[0] is not None or _ARN_RE.match(model_id):
        return ()
    family = family_of(model_id)
    if invocation_type == "Converse":
        return (
            f"{model_id} is not in bedrock_batch's catalogue: its Converse records are sent as "
            "they are, with default quotas; Bedrock decides whether it runs batch jobs",
        )
    if family is None:
        return ()
    single = assumed_family(model_id) is not None
    why = "the one body format the facts know for" if single else "guessed from"
    return (
        f"{model_id} is not in bedrock_batch's catalogue: assuming the {family!r} family "
        f"({why} its id prefix); Bedrock decides whether it runs batch jobs",
    )


def default_invocation_type(model_id: str) -> str:
    """The invocation type a job for ``model_id`` uses when the caller names none (the
    catalogue's ``default_invocation``; InvokeModel for a model it does not know)."""
    info, _ = lookup_model(model_id)
    return info.default_invocation if info is not None else "InvokeModel"


def base_model_id(model_id: str) -> str:
    """The foundation-model id behind a model id, FM ARN, profile id or profile ARN."""
    return _strip(model_id)[0]


def lookup_model(model_id: str) -> tuple[ModelInfo | None, bool]:
    """Find the catalog entry for any spelling of a model id.

    Returns ``(info or None, reached through an inference profile)``.
    """
    bare, via_profile = _strip(model_id)
    return CATALOG.get(bare), via_profile


_FAMILY_PREFIXES: list[tuple[str, Family]] = [
    ("anthropic.", "anthropic"),
    ("amazon.titan-embed-text", "titan-embed-text"),
    ("amazon.titan-embed-image", "titan-embed-image"),
    ("amazon.titan-text", "titan-text"),
    ("amazon.nova-2-multimodal-embeddings", "nova-embed"),
    ("amazon.nova", "nova"),
    ("openai.", "openai-chat"),
    ("qwen.", "openai-chat"),
    ("deepseek.v3", "openai-chat"),
    ("meta.llama", "llama"),
    ("mistral.", "mistral"),
]


def family_of(model_id: str) -> Family | None:
    """Resolve the request family from any model id spelling; None when unknown."""
    info, _ = lookup_model(model_id)
    if info is not None:
        return info.family
    bare = base_model_id(model_id)
    for prefix, family in _FAMILY_PREFIXES:
        if bare.startswith(prefix):
            return family
    return None


def estimate_tokens(text: str) -> int:
    """A cheap, deterministic token estimate: ~4 ASCII characters or ~1 other character a token."""
    if not text:
        return 0
    if text.isascii():
        return max(1, -(-len(text) // 4))
    extra = len(text.encode("utf-8")) - len(text)  # 1-3 extra bytes per non-ASCII character
    other = min(len(text), max(1, extra // 2))
    return max(1, -(-(len(text) - other) // 4) + other)


#: Service Quotas names of the six batch quotas, keyed by the :class:`Quotas` field they set.
#: AWS spells the size quotas two ways ("... (in GB) for X" and "... for X (in GB)").
QUOTA_NAME_TEMPLATES: dict[str, str] = {
    "min_records_per_job": "Minimum number of records per batch inference job for {}",
    "max_records_per_file": "Records per input file per batch inference job for {}",
    "max_records_per_job": "Records per batch inference job for {}",
    "max_file_bytes": "Batch inference input file size (in GB) for {}",
    "max_job_bytes": "Batch inference job size (in GB) for {}",
    "max_concurrent_jobs": "Sum of in-progress and submitted batch inference jobs using a base model for {}",
}
