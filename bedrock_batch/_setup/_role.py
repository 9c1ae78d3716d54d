"""The service role of ``setup``: the trust and permission policies of :mod:`bedrock_batch.iam`
for the chosen models, created, or found and compared; changed only with ``update``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from .._catalog import CATALOG, ModelInfo
from ..iam import PROFILE_REGIONS, partition_of, service_role_policy
from ._calls import aws_call
from ._steps import CREATED, FOUND, UPDATED, Step

__all__ = [
    "POLICY_NAME",
    "batch_models",
    "ensure_role",
    "permissions_policy",
    "role_arn_for",
]

#: The role's inline policy (setup owns it; other policies on the role are left alone).
POLICY_NAME = "bedrock-batch"
#: IAM's limit on a role's inline policies, in characters without whitespace.
_INLINE_LIMIT = 10_240


def role_arn_for(account: str, region: str, name: str) -> str:
    """The ARN a role of this name has (path ``/``)."""
    return f"arn:{partition_of(region)}:iam::{account}:role/{name}"


def _routes_here(prefix: str, region: str) -> bool:
    regions = PROFILE_REGIONS.get(prefix.rstrip("."), ())
    return "*" in regions or region in regions


def batch_models(region: str, catalog: dict[str, ModelInfo] | None = None) -> list[str]:
    """Every model of the catalogue whose batch support the facts give (VERIFIED or REPORTED),
    as the ids a job in ``region`` can use: the model id unless it needs a profile, and its
    inference-profile ids whose prefix routes from ``region``."""
    found: list[str] = []
    for model_id, info in sorted((catalog or CATALOG).items()):
        if info.batch_support not in ("VERIFIED", "REPORTED"):
            continue
        if not info.requires_profile:
            found.append(model_id)
        found += [f"{p}{model_id}" for p in sorted(info.profiles or ()) if _routes_here(p, region)]
    return found


def _merge(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One document whose statements are those of ``documents`` merged by Sid (resources
    united, in order)."""
    merged: dict[str, dict[str, Any]] = {}
    for doc in documents:
        for st in doc["Statement"]:
            have = merged.get(st["Sid"])
            if have is None:
                merged[st["Sid"]] = {**st, "Resource": list(st["Resource"])}
            else:
                have["Resource"] += [r for r in st["Resource"] if r not in have["Resource"]]
    return {"Version": "2012-10-17", "Statement": list(merged.values())}


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Foundation-model ARNs of one model in several regions become one ARN with region ``*``
    (the same models, fewer characters), for documents over IAM's inline size."""
    for st in doc["Statement"]:
        if st["Sid"] != "InvokeModel":
            continue
        bases: dict[str, int] = {}
        for arn in st["Resource"]:
            if ":foundation-model/" in arn:
                base = arn.split(":foundation-model/")[1]
                bases[base] = bases.get(base, 0) + 1
        out: list[str] = []
        for arn in st["Resource"]:
            base = arn.split(":foundation-model/")[1] if ":foundation-model/" in arn else ""
            wide = f"arn:{arn.split(':')[1]}:bedrock:*::foundation-model/{base}"
            short = wide if base and bases[base] > 1 else arn
            if short not in out:
                out.append(short)
        st["Resource"] = out
    return doc


def permissions_policy(
    models: Sequence[str], input_uri: str, output_uri: str, *, account: str, region: str
) -> dict[str, Any]:
    """The role's permissions for every model: :func:`bedrock_batch.iam.service_role_policy`
    of each, merged (compacted when over IAM's inline-policy size)."""
    docs = [
        service_role_policy(m, input_uri, output_uri, account_id=account, region=region)
        for m in models
    ]
    doc = _merge(docs)
    if len(json.dumps(doc, separators=(",", ":"))) > _INLINE_LIMIT:
        doc = _compact(doc)
    return doc


def _document(value: Any) -> Any:
    """A policy document as IAM returns it (a dict, or URL-encoded JSON), parsed."""
    if isinstance(value, str):
        return json.loads(unquote(value))
    return value


def _canon(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def ensure_role(
    iam: Any, name: str, *, trust: dict[str, Any], permissions: dict[str, Any],
    dry_run: bool, update: bool, settle: Callable[[], str],
) -> tuple[str, list[Step]]:  # fmt: skip
    """Create or find the role; its ARN and the steps. ``settle`` waits after a change and
    says how long."""
    try:
        role = aws_call(iam, "GetRole", expect=("NoSuchEntity",), RoleName=name)["Role"]
    except ClientError:
        role = None
    if role is None:
        return _create(iam, name, trust, permissions, dry_run, settle)
    arn = str(role["Arn"])
    try:
        have = aws_call(
            iam, "GetRolePolicy", expect=("NoSuchEntity",), RoleName=name, PolicyName=POLICY_NAME
        )["PolicyDocument"]  # fmt: skip
    except ClientError:
        have = None
    stale = []
    if _canon(_document(role.get("AssumeRolePolicyDocument"))) != _canon(trust):
        stale.append("trust policy")
    if have is None or _canon(_document(have)) != _canon(permissions):
        stale.append(f"permissions policy {POLICY_NAME}")
    if not stale:
        return arn, [Step("role", name, FOUND)]
    differs = " and ".join(stale)
    if not update:
        return arn, [Step("role", name, FOUND, f"its {differs} differ from this setup's; 'setup --update' replaces them")]  # fmt: skip
    if dry_run:
        return arn, [Step("role", name, "would update", differs)]
    if "trust policy" in stale:
        aws_call(iam, "UpdateAssumeRolePolicy", RoleName=name, PolicyDocument=json.dumps(trust))
    if stale[-1].startswith("permissions"):
        aws_call(
            iam, "PutRolePolicy", RoleName=name, PolicyName=POLICY_NAME,
            PolicyDocument=json.dumps(permissions),
        )  # fmt: skip
    return arn, [Step("role", name, UPDATED, differs), Step("IAM", "propagation", "waited", settle())]  # fmt: skip


def _create(
    iam: Any, name: str, trust: dict[str, Any], permissions: dict[str, Any], dry_run: bool,
    settle: Callable[[], str],
) -> tuple[str, list[Step]]:  # fmt: skip
    detail = f"trusts bedrock.amazonaws.com for this account's batch jobs; inline policy {POLICY_NAME}"  # fmt: skip
    if dry_run:
        return "", [Step("role", name, "would create", detail)]
    created = aws_call(
        iam, "CreateRole", RoleName=name, AssumeRolePolicyDocument=json.dumps(trust),
        Description="Service role Bedrock assumes for bedrock_batch jobs (bedrock-batch setup)",
    )  # fmt: skip
    aws_call(
        iam, "PutRolePolicy", RoleName=name, PolicyName=POLICY_NAME,
        PolicyDocument=json.dumps(permissions),
    )  # fmt: skip
    steps = [Step("role", name, CREATED, detail), Step("IAM", "propagation", "waited", settle())]
    return str(created["Role"]["Arn"]), steps
