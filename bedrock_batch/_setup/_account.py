"""``bedrock_batch.setup()``: an account's batch resources in one call, idempotently.

In the account and region of the session's credentials it makes (or finds) an S3 bucket for
inputs and outputs and a service role Bedrock can assume for batch jobs, then saves the role
ARN and the two S3 prefixes as the defaults of later jobs (:mod:`._config`). Nothing that
exists is changed silently: a found bucket is reused as it is, a found role keeps its
policies unless ``update=True``. ``dry_run=True`` makes only read calls.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from .._catalog import lookup_model
from .._common._clients import default_config
from .._errors import Problem, SetupError, ValidationError
from ..iam import trust_policy
from ._bucket import ensure_bucket
from ._calls import aws_call
from ._config import SavedDefaults, config_path, find_saved, save_defaults
from ._role import batch_models, ensure_role, permissions_policy, role_arn_for
from ._steps import FOUND, SetupReport, Step

if TYPE_CHECKING:
    import boto3

__all__ = [
    "DEFAULT_INPUT_PREFIX",
    "DEFAULT_OUTPUT_PREFIX",
    "DEFAULT_ROLE_NAME",
    "SETTLE_ENV",
    "SETTLE_SECONDS",
    "default_bucket_name",
    "setup",
]

log = logging.getLogger("bedrock_batch")

DEFAULT_ROLE_NAME = "BedrockBatchServiceRole"
DEFAULT_INPUT_PREFIX = "inputs/"
DEFAULT_OUTPUT_PREFIX = "outputs/"
#: Seconds ``setup`` waits after ``GetRole`` first sees a role it created or changed: IAM is
#: eventually consistent, and no API proves Bedrock can assume the role yet. 0 against a
#: loopback endpoint (Local Bedrock); ``BEDROCK_BATCH_IAM_SETTLE_SECONDS`` or
#: ``settle_seconds=`` set it.
SETTLE_SECONDS = 10.0
SETTLE_ENV = "BEDROCK_BATCH_IAM_SETTLE_SECONDS"
_BUCKET = re.compile(r"(?!xn--)(?!.*-s3alias$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]+/")


def default_bucket_name(account: str, region: str) -> str:
    """``bedrock-batch-{account}-{region}``: the bucket ``setup`` makes unless told another."""
    return f"bedrock-batch-{account}-{region}"


def _seconds(value: object, what: str) -> float:
    """A settle time: a finite number of seconds, at least 0."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise ValidationError(f"{what} must be a number of seconds, at least 0, not {value!r}")
    return seconds


def _settle_seconds(given: float | None, endpoint: str) -> float:
    if given is not None:
        return _seconds(given, "settle_seconds")
    text = os.environ.get(SETTLE_ENV)
    if text:
        return _seconds(text, SETTLE_ENV)
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost" or host.startswith("127.") or host == "::1":
        return 0.0
    return SETTLE_SECONDS


def _settler(
    iam: Any, name: str, seconds: float, sleep: Callable[[float], None],
    progress: Callable[[str], None] | None,
) -> Callable[[], str]:  # fmt: skip
    def settle() -> str:
        for _ in range(60):  # IAM: a new role is not always readable at once
            try:
                aws_call(iam, "GetRole", expect=("NoSuchEntity",), RoleName=name)
                break
            except ClientError:
                sleep(1.0)
        if seconds:
            log.info("waiting %gs for IAM to propagate the role %s", seconds, name)
            if progress is not None:
                progress(f"waiting {seconds:g}s for IAM to propagate the role {name} (eventually consistent)")  # fmt: skip
            sleep(seconds)
        return (
            f"GetRole sees the role; then {seconds:g}s more, as IAM is eventually consistent "
            "and no API proves Bedrock can assume it yet"
        )

    return settle


def _check(
    role_name: str, bucket: str, input_prefix: str, output_prefix: str, models: Sequence[str]
) -> None:  # fmt: skip
    problems = []
    if not _ROLE_NAME.fullmatch(role_name):
        problems.append(Problem("is not an IAM role name (1-64 letters, digits and '+=,.@_-')", field="role_name"))  # fmt: skip
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        problems.append(Problem("is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-')", field="bucket"))  # fmt: skip
    for name, prefix in (("input_prefix", input_prefix), ("output_prefix", output_prefix)):
        if not _PREFIX.fullmatch(prefix) or prefix.startswith("/") or "//" in prefix:
            problems.append(Problem(f"{prefix!r} is not an S3 prefix like 'inputs/'", field=name))
    if input_prefix.startswith(output_prefix) or output_prefix.startswith(input_prefix):
        problems.append(Problem("inputs and outputs must be separate prefixes, neither inside the other", field="output_prefix"))  # fmt: skip
    for model in models:
        if lookup_model(model)[0] is None:
            problems.append(Problem(f"{model!r} is not a model this version knows", field="model_ids"))  # fmt: skip
    if problems:
        raise ValidationError("invalid setup parameters", problems)


def setup(
    *,
    session: boto3.Session | None = None,
    bucket: str | None = None,
    role_name: str = DEFAULT_ROLE_NAME,
    model_ids: Sequence[str] = (),
    input_prefix: str = DEFAULT_INPUT_PREFIX,
    output_prefix: str = DEFAULT_OUTPUT_PREFIX,
    dry_run: bool = False,
    update: bool = False,
    settle_seconds: float | None = None,
    save: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> SetupReport:
    """Make (or find) the S3 bucket and the service role batch jobs need, and save them as the
    defaults of ``BatchJob(model_id)`` for this profile, account and region.

    In the account (STS ``GetCallerIdentity``) and region of ``session`` (default: boto3's):

    - the bucket ``bucket`` (default ``bedrock-batch-{account}-{region}``): created with public
      access blocked and default encryption (SSE-S3), and no lifecycle rule (a batch's ledger,
      index and on-demand answers live beside its inputs, so no prefix rule can expire only
      old inputs; see ``docs/setup.md``). An existing bucket is used
      only when ``HeadBucket`` with ``ExpectedBucketOwner`` (this account) succeeds; a name
      another account owns raises :class:`SetupError`. A found bucket is never changed.
    - the role ``role_name``: trusted by ``bedrock.amazonaws.com`` for this account's batch
      jobs (:func:`bedrock_batch.iam.trust_policy`), with the inline policy ``bedrock-batch``
      (:func:`bedrock_batch.iam.service_role_policy` for each of ``model_ids``, by default every
      model of the catalogue whose batch support the facts give). A found role whose policies
      differ is reported and left alone unless ``update=True``, which replaces only them.
      After creating or changing it, setup waits until ``GetRole`` sees it and then
      ``settle_seconds`` more (:data:`SETTLE_SECONDS`; 0 against a loopback endpoint).
    - the defaults file (``save``): role ARN, ``s3://{bucket}/{input_prefix}``,
      ``s3://{bucket}/{output_prefix}``, bucket and region, readable by the user only.

    ``dry_run=True`` makes no write call and saves nothing: the report is the plan. Missing
    permissions raise :class:`SetupError` naming the IAM action (``setup needs
    iam:CreateRole``). ``progress`` is told (one line) before a wait. Returns a
    :class:`SetupReport` (``str()`` is the CLI's text).
    """
    import boto3

    session = session or boto3.Session()
    region = session.region_name
    if not region:
        raise SetupError("no AWS region: pass --region, or set AWS_REGION (or AWS_DEFAULT_REGION)")  # fmt: skip
    sts = session.client("sts", config=default_config())
    account = str(aws_call(sts, "GetCallerIdentity")["Account"])
    profile = session.profile_name or "default"
    bucket = bucket or default_bucket_name(account, region)
    if isinstance(model_ids, str):  # one model id, not its characters
        model_ids = [model_ids]
    models = list(model_ids) or batch_models(region)
    _check(role_name, bucket, input_prefix, output_prefix, list(model_ids))
    input_uri, output_uri = f"s3://{bucket}/{input_prefix}", f"s3://{bucket}/{output_prefix}"
    s3 = session.client("s3", config=default_config())
    iam = session.client("iam", config=default_config())
    seconds = _settle_seconds(settle_seconds, str(iam.meta.endpoint_url))  # before any write
    steps = ensure_bucket(s3, bucket, account=account, region=region, dry_run=dry_run)
    arn, role_steps = ensure_role(
        iam, role_name, trust=trust_policy(account, region),
        permissions=permissions_policy(models, input_uri, output_uri, account=account, region=region),
        dry_run=dry_run, update=update, settle=_settler(iam, role_name, seconds, sleep, progress),
    )  # fmt: skip
    steps += role_steps
    arn = arn or role_arn_for(account, region, role_name)
    entry = SavedDefaults(profile, account, region, arn, input_uri, output_uri, bucket)
    path = config_path()
    if save:
        same = find_saved(account, region, profile, path)
        if same is not None and same.to_json() | {"saved_at": ""} == entry.to_json():
            steps.append(Step("config file", str(path), FOUND))
        elif dry_run:
            steps.append(Step("config file", str(path), "would save"))
        else:
            save_defaults(entry, path)
            steps.append(Step("config file", str(path), "saved", f"profile {profile}, account {account}, region {region}"))  # fmt: skip
    waited = seconds if any(s.what == "IAM" for s in steps) else 0.0
    report = SetupReport(
        account, region, profile, bucket, arn, input_uri, output_uri, tuple(models),
        tuple(steps), str(path), dry_run=dry_run, settle_seconds=waited,
    )  # fmt: skip
    for step in report.steps:
        log.info("setup: %s", step)
    return report
