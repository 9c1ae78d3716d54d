"""``doctor``: is this account ready for a first batch? Each check gives a one-line verdict
(pass, warn, fail, cannot tell) and the fix.

The checks, in order (later ones say "cannot tell" when an earlier one they need failed):
credentials and account (``GetCallerIdentity``); the region; the job's defaults (role and URIs:
argument, else environment, else the saved entry of this profile, account and region); the model
(``GetFoundationModel``, or the inference profile, ``GetInferenceProfile``); each bucket
(``HeadBucket`` with ``ExpectedBucketOwner``, ``GetBucketLocation``); a write probe under the
input prefix (``PutObject`` then ``DeleteObject``); the role, its trust and its permissions
(:mod:`._role_checks`, evaluated from the documents); the quotas that will apply.

Nothing here claims that a model supports batch inference: no API says so (facts §12.6).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._batch._quotas import Quotas, resolve_quotas
from .._catalog import base_model_id, lookup_model
from .._common._s3uri import S3Uri
from .._errors import ConfigError
from ._config import DEFAULT_PROFILE, load_saved
from ._policy import CANNOT_TELL, FAIL, PASS, WARN
from ._report import DoctorCheck, DoctorReport, Setting, doctor_settings
from ._role_checks import RoleChecks, Subject, client_error_code

__all__ = ["doctor"]

log = logging.getLogger("bedrock_batch")

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_PROFILE_ARN = re.compile(r"^arn:[a-z-]+:bedrock:[a-z0-9-]*:\d*:(application-)?inference-profile/")
_SETUP = "run 'bedrock-batch setup'"


def _gb(n: int) -> str:
    return f"{n / 1e9:g} GB"


class Doctor:
    """Runs the checks for one session; :meth:`run` gives the report."""

    def __init__(
        self,
        session: Any,
        *,
        model_id: str | None,
        role_arn: str | None,
        input_uri: str | None,
        output_uri: str | None,
        config: Path | None,
        probe: bool,
        region: str | None = None,
    ) -> None:
        self.session = session
        self.model_id = model_id
        self.given = {"role_arn": role_arn, "input_uri": input_uri, "output_uri": output_uri}
        self.config = config
        self.probe = probe
        self.region: str | None = region or session.region_name
        self.account: str | None = None
        self.checks: list[DoctorCheck] = []
        self.settings: dict[str, Setting] = {}
        self.model_arns: list[str] | None = None  # what InvokeModel must be allowed on
        self.owned: set[str] = set()  # buckets HeadBucket found owned by this account
        self._clients: dict[str, Any] = {}

    def add(self, name: str, verdict: Any, summary: str, fix: str | None = None) -> bool:
        """Record one check; True when it passed (or warned)."""
        self.checks.append(DoctorCheck(name, verdict, summary, fix))
        return bool(verdict in (PASS, WARN))

    def client(self, service: str) -> Any:
        """A client in the job's region (one per service)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    def _guarded(self, step: str, run: Callable[..., object], *args: object) -> None:
        """Run one step; an AWS error it did not expect is one "cannot tell" line, not a crash
        (the checks it had recorded stay)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            run(*args)
        except (ClientError, BotoCoreError) as err:
            what = client_error_code(err) if isinstance(err, ClientError) else type(err).__name__
            operation = getattr(err, "operation_name", "") or "a call"
            self.add(step, CANNOT_TELL, f"{operation} failed ({what})",
                     "check the permissions and the network, then run doctor again")  # fmt: skip

    def run(self) -> DoctorReport:
        """Every check, in order."""
        has_account = self.credentials()
        has_region = self.check_region()
        ready = has_account and has_region
        self.defaults(ready)
        self._guarded("model", self.model, ready)
        self._guarded("bucket checks", self.buckets, ready)
        subject = Subject(
            account=self.account or "",
            region=self.region or "",
            role_arn=self.settings["role_arn"].value,
            input_uri=self.settings["input_uri"].value,
            output_uri=self.settings["output_uri"].value,
            model_arns=self.model_arns,
            model_id=self.model_id,
        )
        self._guarded(
            "role checks", lambda: RoleChecks(self, subject).run(ready, frozenset(self.owned))
        )
        self._guarded("quotas", self.quotas)
        return DoctorReport(
            tuple(self.checks),
            account=self.account,
            region=self.region,
            model_id=self.model_id,
            role_arn=self.settings["role_arn"],
            input_uri=self.settings["input_uri"],
            output_uri=self.settings["output_uri"],
        )

    # -- account, region, defaults ------------------------------------------------------------

    def credentials(self) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        no_credentials = ("no AWS credentials found", "run 'aws configure' or 'aws sso login', "
                          "pass --profile, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")  # fmt: skip
        if self.session.get_credentials() is None:
            return self.add("credentials", FAIL, *no_credentials)
        try:  # STS answers in any region: without one, the global endpoint's
            sts = self.session.client("sts", region_name=self.region or "us-east-1")
            who = sts.get_caller_identity()
        except ClientError as err:
            code = client_error_code(err)
            return self.add("credentials", FAIL, f"STS GetCallerIdentity refused them ({code})",
                            "renew or replace the credentials (aws sso login, aws configure, "
                            "--profile)")  # fmt: skip
        except BotoCoreError as err:
            name = type(err).__name__
            if name in ("NoCredentialsError", "PartialCredentialsError"):
                return self.add("credentials", FAIL, *no_credentials)
            return self.add("credentials", CANNOT_TELL, f"STS could not be reached ({name})",
                            "check the network, the region and AWS_ENDPOINT_URL")  # fmt: skip
        self.account = str(who["Account"])
        return self.add("credentials", PASS, f"account {self.account} as {who.get('Arn', '?')}")

    def check_region(self) -> bool:
        region = self.region
        if not region:
            return self.add("region", FAIL, "no AWS region set",
                            "pass --region or set AWS_REGION (or the profile's region)")  # fmt: skip
        if not _REGION.fullmatch(region):
            return self.add("region", FAIL, f"{region!r} is not an AWS region name",
                            "pass a region like us-east-1 (--region, AWS_REGION)")  # fmt: skip
        known = {
            r
            for p in self.session.get_available_partitions()
            for r in self.session.get_available_regions("bedrock", partition_name=p)
        }
        if region in known:
            return self.add("region", PASS, f"{region} (Bedrock is offered there)")
        return self.add("region", WARN, f"{region}: this botocore does not list Bedrock there",
                        "use a Bedrock region, or upgrade botocore if it is new")  # fmt: skip

    def defaults(self, ready: bool) -> None:
        profile = getattr(self.session, "profile_name", None) or DEFAULT_PROFILE
        problem = None
        try:
            entries = load_saved(self.config)
        except ConfigError as err:
            entries, problem = [], str(err)
        self.settings, entry = doctor_settings(
            account=self.account, region=self.region, profile=profile, entries=entries,
            **self.given,
        )  # fmt: skip
        missing = [n for n, s in self.settings.items() if not s.value]
        if problem:  # a job given all three (arguments, environment) never reads the file
            verdict = FAIL if missing else WARN
            self.add("defaults", verdict, problem, f"fix or delete the file, then {_SETUP} again")
            return
        where = "; ".join(f"{n} from {s.source}" for n, s in self.settings.items() if s.value)
        if missing and not ready:
            self.add("defaults", CANNOT_TELL, f"no {', '.join(missing)} given; the saved ones "
                     "are per account and region (above)")  # fmt: skip
            return
        unused = ""
        others = [e for e in entries if e is not entry]
        if entry is None and others:
            seen = ", ".join(f"{e.profile}/{e.account}/{e.region}" for e in others[:3])
            unused = (f"; a saved entry exists for another profile, account or region ({seen}), "
                      f"not used for {profile}/{self.account}/{self.region}")  # fmt: skip
        if missing:
            flags = ", ".join("--" + n.replace("_", "-") for n in missing)
            self.add("defaults", FAIL, f"no {', '.join(missing)}{unused}",
                     f"pass {flags}, set the BEDROCK_BATCH_* variables, or {_SETUP}"
                     + (" in this account and region" if unused else ""))  # fmt: skip
            return
        self.add("defaults", WARN if unused else PASS, where + unused,
                 f"{_SETUP} here to save this account's own" if unused else None)  # fmt: skip

    # -- model --------------------------------------------------------------------------------

    def _catalogue_note(self, model_id: str) -> str:
        info, _ = lookup_model(model_id)
        if info is None:
            return ("not in bedrock_batch's catalogue: only CreateModelInvocationJob says whether "
                    "it runs batch jobs")  # fmt: skip
        return (f"the catalogue lists batch support for {info.display_name} as "
                f"{info.batch_support} (its source: bedrock-facts §10, §12.1); only "
                "CreateModelInvocationJob decides")  # fmt: skip

    def model(self, ready: bool) -> None:
        model_id = self.model_id
        if not model_id:
            self.add("model", WARN, "no model named: reachability and InvokeModel not checked",
                     "pass --model-id MODEL to check them")  # fmt: skip
            return
        if not ready:
            self.add("model", CANNOT_TELL, "needs credentials and a region (above)")
            return
        bedrock = self.client("bedrock")
        base = base_model_id(model_id)
        note = self._catalogue_note(model_id)
        _, via_profile = lookup_model(model_id)  # a profile id or ARN (not an FM ARN)
        if via_profile or _PROFILE_ARN.match(model_id):
            self._through_profile(bedrock, model_id, note)
            return
        from botocore.exceptions import ClientError

        try:
            details = bedrock.get_foundation_model(modelIdentifier=model_id)["modelDetails"]
        except ClientError as err:
            code = client_error_code(err)
            if code in ("AccessDeniedException", "UnauthorizedOperation"):
                self.add("model", CANNOT_TELL, f"GetFoundationModel was refused ({code})",
                         "allow bedrock:GetFoundationModel to the caller")  # fmt: skip
                return
            profiles = self._profiles_for(bedrock, base)
            fix = (f"use --model-id {profiles[0]} (an inference profile usable from "
                   f"{self.region})" if profiles else
                   "use a region where the model is offered (--region)")  # fmt: skip
            self.add("model", FAIL, f"{model_id} is not offered in {self.region} ({code}); {note}", fix)  # fmt: skip
            return
        kinds = [str(k) for k in details.get("inferenceTypesSupported") or []]
        info, _ = lookup_model(model_id)
        if "ON_DEMAND" not in kinds and ("INFERENCE_PROFILE" in kinds or (info and info.requires_profile)):  # fmt: skip
            profiles = self._profiles_for(bedrock, base)
            fix = f"use --model-id {profiles[0]}" if profiles else "use an inference profile id"
            self.add("model", FAIL, f"{model_id} is reached only through an inference profile in "
                     f"{self.region} ({', '.join(profiles) or 'none listed'}); {note}", fix)  # fmt: skip
            return
        self.model_arns = [str(details.get("modelArn") or "")]
        self.add("model", PASS, f"{model_id} is reachable directly in {self.region}; {note}")

    def _profiles_for(self, bedrock: Any, base: str) -> list[str]:
        """The system inference profiles usable from this region that route to ``base``."""
        from botocore.exceptions import BotoCoreError, ClientError

        found: list[str] = []
        try:
            for page in bedrock.get_paginator("list_inference_profiles").paginate():
                for p in page.get("inferenceProfileSummaries", []):
                    arns = [str(m.get("modelArn", "")) for m in p.get("models", [])]
                    if any(a.endswith(f"/{base}") for a in arns):
                        found.append(str(p["inferenceProfileId"]))
        except (ClientError, BotoCoreError) as err:
            log.info("ListInferenceProfiles failed: %s", err)
        geo = (self.region or "").split("-")[0] + "."  # the region's own geography first
        return sorted(found, key=lambda p: (not p.startswith(geo), p))

    def _through_profile(self, bedrock: Any, model_id: str, note: str) -> None:
        from botocore.exceptions import ClientError

        try:
            profile = bedrock.get_inference_profile(inferenceProfileIdentifier=model_id)
        except ClientError as err:
            code = client_error_code(err)
            if code in ("AccessDeniedException", "UnauthorizedOperation"):
                self.add("model", CANNOT_TELL, f"GetInferenceProfile was refused ({code})",
                         "allow bedrock:GetInferenceProfile to the caller")  # fmt: skip
                return
            others = self._profiles_for(bedrock, base_model_id(model_id))
            fix = (f"use --model-id {others[0]} (usable from {self.region})" if others else
                   "use a region the profile is offered in (--region)")  # fmt: skip
            self.add("model", FAIL, f"no inference profile {model_id} in {self.region} "
                     f"({code}); {note}", fix)  # fmt: skip
            return
        arns = [str(m["modelArn"]) for m in profile.get("models", [])]
        self.model_arns = [str(profile["inferenceProfileArn"]), *arns]
        regions = sorted({a.split(":")[3] for a in arns})
        self.add("model", PASS, f"{model_id} is reachable through inference profile "
                 f"{profile['inferenceProfileId']} (routes to {', '.join(regions)}); {note}")  # fmt: skip

    # -- buckets ------------------------------------------------------------------------------

    def buckets(self, ready: bool) -> bool:
        uris = [(n, self.settings[n].value) for n in ("input_uri", "output_uri")]
        if not ready or not all(u for _, u in uris):
            self.add("bucket", CANNOT_TELL, "needs credentials, a region and both URIs (above)")
            return False
        parsed: dict[str, S3Uri] = {}
        for name, uri in uris:
            try:
                parsed[name] = S3Uri.parse(str(uri))
            except ValueError as err:
                return self.add("bucket", FAIL, f"{name}: {err}", "pass an s3://bucket/prefix/ URI")  # fmt: skip
        ok = True
        names = list(dict.fromkeys(p.bucket for p in parsed.values()))
        for bucket in names:
            label = "bucket" if len(names) == 1 else f"bucket {bucket}"
            ok = self._bucket(bucket, label) and ok
        if not ok:
            return self.add("bucket writable", CANNOT_TELL, "needs the bucket (above)")
        return self._write_probe(parsed["input_uri"])

    def _bucket(self, bucket: str, label: str) -> bool:
        from botocore.exceptions import ClientError

        s3 = self.client("s3")
        try:
            s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=self.account)
        except ClientError as err:
            code = client_error_code(err)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return self.add(label, FAIL, f"{bucket} does not exist",
                                f"{_SETUP}, or create it in {self.region}")  # fmt: skip
            return self.add(label, FAIL, f"{bucket} is not this account's, or you may not "
                            f"list it ({code})", "use a bucket of this account (bedrock-batch "
                            "setup creates one), or allow s3:ListBucket")  # fmt: skip
        try:
            where = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
        except ClientError as err:
            return self.add(label, CANNOT_TELL, f"{bucket} exists; GetBucketLocation refused "
                            f"({client_error_code(err)})", "allow s3:GetBucketLocation")  # fmt: skip
        self.owned.add(bucket)
        bucket_region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(where, where)
        if bucket_region != self.region:
            return self.add(label, WARN, f"{bucket} is in {bucket_region}, the job in "
                            f"{self.region} (the facts do not say this fails; it may cost "
                            "cross-region transfer)",
                            f"use a bucket in {self.region}, or run the job in {bucket_region}")  # fmt: skip
        return self.add(label, PASS, f"{bucket} exists, owned by {self.account}, in {self.region}")

    def _write_probe(self, inputs: S3Uri) -> bool:
        from botocore.exceptions import ClientError

        if not self.probe:
            return self.add("bucket writable", WARN, "not checked (no write probe asked)")
        key = f"{inputs.prefix}.bedrock-batch-doctor-{uuid.uuid4().hex[:12]}.probe"
        s3 = self.client("s3")
        try:
            s3.put_object(Bucket=inputs.bucket, Key=key, Body=b"bedrock-batch doctor probe\n",
                          ExpectedBucketOwner=self.account)  # fmt: skip
        except ClientError as err:
            return self.add("bucket writable", FAIL, f"you may not write under "
                            f"s3://{inputs.bucket}/{inputs.prefix} ({client_error_code(err)})",
                            "allow s3:PutObject on the input prefix to the caller")  # fmt: skip
        try:
            s3.delete_object(Bucket=inputs.bucket, Key=key, ExpectedBucketOwner=self.account)
        except ClientError as err:
            return self.add("bucket writable", WARN, f"wrote s3://{inputs.bucket}/{key} but "
                            f"could not delete it ({client_error_code(err)})",
                            "delete that object; allow s3:DeleteObject to the caller")  # fmt: skip
        return self.add("bucket writable", PASS, f"wrote and deleted the probe "
                        f"s3://{inputs.bucket}/{key}")  # fmt: skip

    # -- quotas -------------------------------------------------------------------------------

    def quotas(self) -> None:
        if not self.model_id:
            self.add("quotas", WARN, "no model named: quotas are per model",
                     "pass --model-id MODEL")  # fmt: skip
            return
        info, _ = lookup_model(self.model_id)
        quotas, source = resolve_quotas(
            info,
            override=None,
            use_service_quotas=self.account is not None and self.region is not None,
            list_quotas=lambda: self.client("service-quotas").list_service_quotas,
        )
        q: Quotas = quotas
        text = (f"{q.min_records_per_job:,}-{q.max_records_per_job:,} records a job, "
                f"{q.max_records_per_file:,} a file, {_gb(q.max_file_bytes)} a file, "
                f"{_gb(q.max_job_bytes)} a job, {q.max_concurrent_jobs} jobs at once "
                f"(from {source.name}{': ' + source.warning if source.warning else ''})")  # fmt: skip
        if source.name == "service-quotas":
            self.add("quotas", PASS, text)
        else:
            self.add("quotas", WARN, text, "the account's values may differ: see Service Quotas "
                     "(service code bedrock)")  # fmt: skip


def doctor(
    model_id: str | None = None,
    *,
    role_arn: str | None = None,
    input_uri: str | None = None,
    output_uri: str | None = None,
    session: Any = None,
    region: str | None = None,
    profile: str | None = None,
    config: str | Path | None = None,
    probe: bool = True,
) -> DoctorReport:
    """Check that the current credentials can run a batch, and say what to fix.

    The role ARN and the URIs are taken as a job takes them: the arguments, else
    ``BEDROCK_BATCH_ROLE_ARN`` / ``BEDROCK_BATCH_INPUT_URI`` / ``BEDROCK_BATCH_OUTPUT_URI``,
    else the saved entry (``bedrock-batch setup``) for this profile, account and region.
    ``probe=False`` skips the write probe (a small object put then deleted under the input
    prefix). The role's permissions are evaluated from its policy documents: no job is created
    and nothing is invoked. Returns a :class:`DoctorReport`; ``report.ok`` is True when every
    check passed (warnings allowed).
    """
    if session is None:
        import boto3

        session = boto3.Session(region_name=region, profile_name=profile)
    return Doctor(
        session,
        model_id=model_id,
        role_arn=role_arn,
        input_uri=input_uri,
        output_uri=output_uri,
        config=Path(config) if config is not None else None,
        probe=probe,
        region=region,
    ).run()
