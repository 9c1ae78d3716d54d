"""The role's permissions for several models are each model's policy from
``bedrock_batch.iam``, merged: nothing a single model needs is lost, and the document stays
within IAM's inline-policy size."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bedrock_batch._setup._role import batch_models, permissions_policy
from bedrock_batch.iam import service_role_policy

REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"]
IN, OUT = "s3://bkt-x/inputs/", "s3://bkt-x/outputs/"


def covered(resource: str, granted: list[str]) -> bool:
    return any(fnmatchcase(resource, g) for g in granted)


@given(st.sampled_from(REGIONS), st.data())
def test_every_models_permissions_survive_the_merge(region: str, data: st.DataObject) -> None:
    every = batch_models(region)
    models = data.draw(st.lists(st.sampled_from(every), min_size=1, max_size=8, unique=True))
    merged = {s["Sid"]: s for s in permissions_policy(models, IN, OUT, account="123456789012", region=region)["Statement"]}  # fmt: skip
    for model in models:
        alone = service_role_policy(model, IN, OUT, account_id="123456789012", region=region)
        for st_ in alone["Statement"]:
            assert st_["Action"] == merged[st_["Sid"]]["Action"]
            for resource in st_["Resource"]:
                assert covered(resource, merged[st_["Sid"]]["Resource"]), (model, resource)


def test_all_batch_models_fit_in_an_inline_policy() -> None:
    for region in REGIONS:
        doc = permissions_policy(batch_models(region), IN, OUT, account="123456789012", region=region)  # fmt: skip
        assert len(json.dumps(doc, separators=(",", ":"))) <= 10_240
        invoke = next(s for s in doc["Statement"] if s["Sid"] == "InvokeModel")
        assert len(invoke["Resource"]) >= len(batch_models(region))


def test_a_compacted_document_still_covers_every_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from bedrock_batch._setup import _role

    models = batch_models("us-east-1")
    full = permissions_policy(models, IN, OUT, account="123456789012", region="us-east-1")
    monkeypatch.setattr(_role, "_INLINE_LIMIT", 0)  # force the compaction
    small = permissions_policy(models, IN, OUT, account="123456789012", region="us-east-1")
    assert len(json.dumps(small)) < len(json.dumps(full))
    granted = next(s for s in small["Statement"] if s["Sid"] == "InvokeModel")["Resource"]
    wanted = next(s for s in full["Statement"] if s["Sid"] == "InvokeModel")["Resource"]
    assert all(covered(r, granted) for r in wanted)
    assert not covered("arn:aws:bedrock:us-east-1::foundation-model/other.model-v1", granted)
