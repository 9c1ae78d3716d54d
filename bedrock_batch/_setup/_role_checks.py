"""``doctor``'s role checks: the role exists, Bedrock may assume it for this account's jobs, and
its policies let it read the inputs, write the outputs and invoke the model.

The permissions are evaluated from the role's documents (inline policies, attached managed
policies' default versions) by :mod:`._policy`: no real call is made on the role's behalf. What
doctor cannot read or evaluate turns a pass into "cannot tell": a permissions boundary, an AWS
Organization (its SCPs), a bucket policy with a Deny, a bucket encrypted with a customer KMS key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import attrs

from .._common._s3uri import S3Uri
from ..iam import partition_of
from ._policy import (
    CANNOT_TELL,
    FAIL,
    PASS,
    WARN,
    Access,
    Target,
    evaluate,
    evaluate_trust,
    statements,
)

__all__ = ["RoleChecks", "Subject", "client_error_code"]

_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/\S+$")
Docs = list[tuple[str, Any]]


def client_error_code(err: Any) -> str:
    """The error code of a botocore ``ClientError``."""
    return str((getattr(err, "response", None) or {}).get("Error", {}).get("Code") or "Unknown")


def _uri(text: str | None) -> S3Uri | None:
    try:
        return S3Uri.parse(text) if text else None
    except ValueError:
        return None  # the bucket check says why


def _more(arns: list[str]) -> str:
    """`` and 3 more in us-east-1, us-east-2, us-west-2`` (the regions of more ARNs)."""
    if not arns:
        return ""
    return f" and {len(arns)} more in {', '.join(a.split(':')[3] or '-' for a in arns)}"


class Checks(Protocol):
    """What the role checks need of the doctor running them."""

    def add(self, name: str, verdict: Any, summary: str, fix: str | None = None) -> bool:
        """Record one check."""

    def client(self, service: str) -> Any:
        """A client in the job's region."""


@attrs.frozen
class Subject:
    """What the role is checked for."""

    account: str
    region: str
    role_arn: str | None
    input_uri: str | None
    output_uri: str | None
    model_arns: list[str] | None  # None: the model was not named or not reached
    model_id: str | None


class RoleChecks:
    """The five role checks: ``role``, ``role trust``, ``role reads inputs``, ``role writes
    outputs``, ``role invokes model``."""

    NAMES = ("role trust", "role reads inputs", "role writes outputs", "role invokes model")

    def __init__(self, doctor: Checks, subject: Subject) -> None:
        self.doctor = doctor
        self.s = subject
        self.part = partition_of(subject.region or "us-east-1")
        self.iam = doctor.client("iam")

    def _rest(self, verdict: Any, why: str) -> None:
        for name in self.NAMES:
            self.doctor.add(name, verdict, why)

    def run(self, ready: bool, owned: frozenset[str]) -> None:
        """Every role check, in order (the later ones "cannot tell" without the role)."""
        from botocore.exceptions import ClientError

        s = self.s
        if not ready or not s.role_arn:
            self.doctor.add("role", CANNOT_TELL, "needs credentials, a region and a role ARN (above)")  # fmt: skip
            self._rest(CANNOT_TELL, "needs the role (above)")
            return
        if not _ROLE_ARN.match(s.role_arn):
            self.doctor.add("role", FAIL, f"{s.role_arn!r} is not an IAM role ARN",
                            "pass arn:aws:iam::ACCOUNT:role/NAME (--role-arn)")  # fmt: skip
            self._rest(CANNOT_TELL, "needs the role (above)")
            return
        name = s.role_arn.rsplit("/", 1)[-1]
        if s.role_arn.split(":")[4] != s.account:
            self.doctor.add("role", CANNOT_TELL, f"{s.role_arn} is not a role of account "
                            f"{s.account} (doctor reads this account's roles only)",
                            "use a role of the account the jobs run in")  # fmt: skip
            self._rest(CANNOT_TELL, "needs the role (above)")
            return
        try:
            role = self.iam.get_role(RoleName=name)["Role"]
        except ClientError as err:
            code = client_error_code(err)
            if code == "NoSuchEntity":
                self.doctor.add("role", FAIL, f"no role {name} in account {s.account}",
                                "run 'bedrock-batch setup', or create it with the documents of "
                                "'bedrock-batch iam-policy'")  # fmt: skip
            else:
                self.doctor.add("role", CANNOT_TELL, f"GetRole {name} refused ({code})",
                                "allow iam:GetRole to the caller")  # fmt: skip
            self._rest(CANNOT_TELL, "needs the role (above)")
            return
        if str(role.get("Arn")) != s.role_arn:
            self.doctor.add("role", FAIL, f"the role named {name} is {role.get('Arn')}, not "
                            f"{s.role_arn}", f"use --role-arn {role.get('Arn')}")  # fmt: skip
            self._rest(CANNOT_TELL, "needs the role (above)")
            return
        self.doctor.add("role", PASS, f"{s.role_arn} exists")
        self.trust(role)
        self.permissions(role, owned)

    def trust(self, role: Mapping[str, Any]) -> None:
        """Bedrock may assume the role for this account's jobs in this region."""
        s = self.s
        job = f"arn:{self.part}:bedrock:{s.region}:{s.account}:model-invocation-job/abcdefgh1234"
        access = evaluate_trust(role.get("AssumeRolePolicyDocument") or {}, s.account, job)
        fix = None
        if access.verdict != PASS:
            fix = (f"set the trust policy printed by 'bedrock-batch iam-policy --only trust "
                   f"--account {s.account} --region {s.region} ...' with 'aws iam "
                   f"update-assume-role-policy --role-name {role.get('RoleName')} "
                   "--policy-document file://trust.json'")  # fmt: skip
        self.doctor.add("role trust", access.verdict, access.reason, fix)

    # -- permissions ---------------------------------------------------------------------------

    def documents(self, name: str) -> Docs:
        """The role's inline policies and its attached managed policies' default versions."""
        docs: Docs = []
        for page in self.iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy in page.get("PolicyNames", []):
                doc = self.iam.get_role_policy(RoleName=name, PolicyName=policy)
                docs.append((f"inline policy {policy}", doc["PolicyDocument"]))
        for page in self.iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page.get("AttachedPolicies", []):
                arn = attached["PolicyArn"]
                version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
                doc = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)
                docs.append((f"policy {attached['PolicyName']}", doc["PolicyVersion"]["Document"]))
        return docs

    def _organization(self) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.doctor.client("organizations").describe_organization()
        except ClientError as err:
            code = client_error_code(err)
            if code == "AWSOrganizationsNotInUseException":
                return None
            return f"whether the account is in an AWS Organization (DescribeOrganization: {code})"
        except BotoCoreError as err:
            return f"whether the account is in an AWS Organization ({type(err).__name__})"
        return "the AWS Organization's service control policies"

    def _bucket_limits(self, bucket: str) -> Iterator[tuple[str, bool]]:
        """What the bucket adds that doctor does not evaluate: (text, may grant)."""
        from botocore.exceptions import ClientError

        s3 = self.doctor.client("s3")
        try:
            text = s3.get_bucket_policy(Bucket=bucket)["Policy"]
            sts = statements(text)
            if any(st.get("Effect") == "Deny" for st in sts):
                yield f"the bucket policy of {bucket} (it has a Deny)", False
            elif sts:
                yield f"the bucket policy of {bucket} (it may grant the role access)", True
        except ClientError as err:
            if client_error_code(err) != "NoSuchBucketPolicy":
                yield f"the bucket policy of {bucket} (unreadable: {client_error_code(err)})", True
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
            for rule in rules.get("Rules", []):
                default = rule.get("ApplyServerSideEncryptionByDefault") or {}
                if str(default.get("SSEAlgorithm", "")).startswith("aws:kms") and default.get("KMSMasterKeyID"):  # fmt: skip
                    yield f"the KMS key policy of {default['KMSMasterKeyID']}", False
        except ClientError as err:
            if "NotFound" not in client_error_code(err):
                yield f"the encryption of {bucket} ({client_error_code(err)})", False

    def permissions(self, role: Mapping[str, Any], owned: frozenset[str]) -> None:
        """Reads the inputs, writes the outputs, invokes the model: from the documents."""
        from botocore.exceptions import ClientError

        name = str(role.get("RoleName"))
        try:
            docs = self.documents(name)
        except ClientError as err:
            why = f"the role's policies could not be read ({client_error_code(err)})"
            for check in self.NAMES[1:]:
                self.doctor.add(check, CANNOT_TELL, why, "allow iam:ListRolePolicies, "
                                "iam:GetRolePolicy, iam:ListAttachedRolePolicies, "
                                "iam:GetPolicy and iam:GetPolicyVersion to the caller")  # fmt: skip
            return
        common: list[str] = []
        boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:
            common.append(f"the permissions boundary {boundary}")
        org = self._organization()
        if org:
            common.append(org)
        s = self.s
        inputs, outputs = _uri(s.input_uri), _uri(s.output_uri)
        seen: dict[str, list[tuple[str, bool]]] = {}  # each bucket's limits, read once
        for check, uri, wanted in (
            ("role reads inputs", inputs, "s3:GetObject"),
            ("role writes outputs", outputs, "s3:PutObject"),
        ):
            if uri is None:
                self.doctor.add(check, CANNOT_TELL, "needs a valid S3 URI (above)")
                continue
            prefix = Target(f"arn:{self.part}:s3:::{uri.bucket}/{uri.prefix}", prefix=True)
            bucket = Target(f"arn:{self.part}:s3:::{uri.bucket}")
            # the condition on the resource's account holds for a bucket HeadBucket found ours
            ctx = {"aws:ResourceAccount": s.account} if uri.bucket in owned else {}
            results = [
                (wanted, prefix, evaluate(docs, wanted, prefix, context=ctx)),
                ("s3:ListBucket", bucket, evaluate(docs, "s3:ListBucket", bucket, context=ctx)),
            ]
            if uri.bucket in owned and uri.bucket not in seen:
                seen[uri.bucket] = list(self._bucket_limits(uri.bucket))
            limits = seen.get(uri.bucket, [])
            self._verdict(check, results, common, limits)
        self.invoke(docs, common)

    def invoke(self, docs: Docs, common: list[str]) -> None:
        """InvokeModel on the model: for a profile, on it and on every model ARN it lists."""
        s = self.s
        if s.model_arns is None:
            if s.model_id:
                self.doctor.add("role invokes model", CANNOT_TELL, "needs the model reached (above)")  # fmt: skip
            else:
                self.doctor.add("role invokes model", WARN, "no model named: not checked",
                                "pass --model-id MODEL")  # fmt: skip
            return
        results = [
            ("bedrock:InvokeModel", Target(arn), evaluate(docs, "bedrock:InvokeModel", Target(arn)))
            for arn in s.model_arns
        ]
        self._verdict("role invokes model", results, common, [])

    def _verdict(
        self,
        check: str,
        results: list[tuple[str, Target, Access]],
        common: list[str],
        limits: list[tuple[str, bool]],
    ) -> None:
        missing = [(a, t, r) for a, t, r in results if r.verdict == FAIL]
        unsure = [r.reason for _, _, r in results if r.verdict == CANNOT_TELL]
        may_grant = [text for text, grants in limits if grants]
        not_read = common + [text for text, _ in limits]
        if missing and not (unsure or may_grant):
            needed = "; ".join(f"{a} on {t}" for a, t, _ in missing)
            self.doctor.add(check, FAIL, f"the role's policies do not allow {needed}",
                            f"add {needed} to the role (bedrock-batch iam-policy --only "
                            "permissions prints the policy)")  # fmt: skip
            return
        if missing or unsure or not_read:
            parts = [f"not allowed by the role's policies: {a} on {t}" for a, t, _ in missing]
            parts += unsure + ([f"not evaluated: {', '.join(not_read)}"] if not_read else [])
            self.doctor.add(check, CANNOT_TELL, "; ".join(parts),
                            "check these by hand (IAM policy simulator, or a small job)")  # fmt: skip
            return
        by_action: dict[str, list[str]] = {}
        for a, t, _ in results:
            by_action.setdefault(a, []).append(str(t))
        what = ", ".join(f"{a} on {ts[0]}" + _more(ts[1:]) for a, ts in by_action.items())
        self.doctor.add(check, PASS, f"the role's policies allow {what}")
