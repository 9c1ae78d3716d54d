"""The registry: every model id spelling resolves to its family, families register and leave,
the golden table covers every family, and no module outside the families compares names."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import bedrock_batch
from bedrock_batch import family_of
from bedrock_batch._catalog import CATALOG, lookup_model
from bedrock_batch._families import _registry
from bedrock_batch._families._builders import build_prompt
from bedrock_batch._families._llama import LlamaFamily
from bedrock_batch._families._registry import family_for, get, register, registered, unregister

from ..golden_bodies import CASES


def spellings(model_id: str) -> list[str]:
    """The ways a caller may name one model: id, FM ARN, profile ids and profile ARNs."""
    return [
        model_id,
        f"arn:aws:bedrock:us-east-1::foundation-model/{model_id}",
        f"us.{model_id}",
        f"eu.{model_id}",
        f"global.{model_id}",
        f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{model_id}",
    ]


@pytest.mark.parametrize("model_id", sorted(CATALOG))
def test_every_catalogue_id_and_spelling_resolves(model_id: str) -> None:
    info = CATALOG[model_id]
    for spelling in spellings(model_id):
        family = family_for(spelling)
        assert family is not None and family is get(info.family), spelling
        assert family.name == info.family == family_of(spelling)
        assert family.invocation_type == "InvokeModel"
        converse = family_for(spelling, "Converse")
        assert converse is not None and converse.invocation_type == "Converse"


def test_models_the_catalogue_does_not_list() -> None:
    assert family_for("anthropic.claude-99-v1:0") is get("anthropic")  # by the id-prefix table
    assert family_for("acme.unknown-model-v1") is None
    assert family_of("acme.unknown-model-v1") is None
    assert family_for("acme.unknown-model-v1", "Converse") is get("converse")


class ToyFamily(LlamaFamily):
    """A family registered at run time (Llama's shapes under another name)."""

    name = "toy"


def test_register_get_unregister() -> None:
    toy = ToyFamily()
    assert get("toy") is None
    try:
        assert register(toy) is toy
        assert register(toy) is toy  # the same object again: a no-op
        assert get("toy") is toy and registered()[-1] is toy
        with pytest.raises(ValueError, match="already registered"):
            register(ToyFamily())
        body = build_prompt("toy", "hi", max_tokens=5)
        assert body["max_gen_len"] == 5 and "<|begin_of_text|>" in body["prompt"]
    finally:
        assert unregister("toy") is toy
    assert get("toy") is None and toy not in registered()
    assert unregister("toy") is None
    with pytest.raises(TypeError):
        register("toy")  # type: ignore[arg-type]


def test_the_golden_table_covers_every_registered_family() -> None:
    covered: set[str] = set()
    for case in CASES:
        family = family_for(case.model, case.invocation)
        assert family is not None, case.id
        covered.add(family.name)
    assert covered == {f.name for f in registered()}


# Family names compared outside the families' own modules (the catalogue's tables are data;
# Local Bedrock has its own registry and its own test).
_COMPARISON = re.compile(r"family\w*\s*(==|!=|\bin\b|\bnot in\b)\s*[\(\{\[\"']")


def _core_modules() -> list[Path]:
    root = Path(bedrock_batch.__file__).parent
    skip = (root / "_families", root / "local")
    return [
        p
        for p in root.rglob("*.py")
        if not any(p.is_relative_to(s) for s in skip) and p.name != "_catalog.py"
    ]


def test_no_module_outside_the_families_compares_family_names() -> None:
    names = [f.name for f in registered()]
    literal = re.compile("|".join(rf"[\"']{re.escape(n)}[\"']" for n in names))
    modules = _core_modules()
    assert len(modules) > 30
    found: list[Any] = []
    for path in modules:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if _COMPARISON.search(line) or literal.search(line):
                found.append(f"{path.name}:{n}: {line.strip()}")
    assert found == []


def test_the_scan_would_see_a_comparison() -> None:
    assert _COMPARISON.search('if self.family != "nova" and x:')
    assert _COMPARISON.search("elif family in ('titan-embed-text', 'x'):")
    assert not _COMPARISON.search("self.family = family_of(model_id)")


def test_lookup_and_registry_agree_on_profile_only_models() -> None:
    profile_only = [m for m in CATALOG.values() if m.requires_profile]
    assert profile_only
    for info in profile_only:
        found, via_profile = lookup_model(f"us.{info.model_id}")
        assert found is info and via_profile
        assert family_for(f"us.{info.model_id}") is _registry.get(info.family)


def test_no_module_of_local_bedrock_outside_its_families_compares_family_names() -> None:
    """The same rule in Local Bedrock: its wire, service and front door name no family (the
    Converse *operation* shares the Converse family's name, so that literal is not a sign)."""
    from bedrock_batch.local._families import _registry as local_registry

    root = Path(bedrock_batch.__file__).parent / "local"
    names = [f.name for f in local_registry.registered() if f.name != "converse"]
    literal = re.compile("|".join(rf"[\"']{re.escape(n)}[\"']" for n in names))
    modules = [p for p in root.rglob("*.py") if not p.is_relative_to(root / "_families")]
    assert len(modules) > 15
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in modules
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if _COMPARISON.search(line) or literal.search(line)
    ]
    assert found == []
