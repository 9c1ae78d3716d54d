"""IAM policies for batch inference: the service role's trust and permissions, and the caller's.

Structure follows the Bedrock user guide (batch-iam-sr): the service principal
``bedrock.amazonaws.com`` with ``aws:SourceAccount`` / ``aws:SourceArn`` conditions, S3 read on
the inputs and write on the outputs, and ``bedrock:InvokeModel`` on the model — for an inference
profile, on the profile *and* on the foundation model in every region it routes to (without
those, jobs fail at the end of InProgress with "Customer doesn't have permissions to
invokeModel"). The caller needs the four job operations and ``iam:PassRole`` on the role.

The regions a geographic profile routes to change over time; the table here is a best effort
(UNVERIFIED) — pass ``routed_regions=`` with the regions your profile lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ._catalog import base_model_id
from ._common._s3uri import S3Uri

__all__ = [
    "caller_policy",
    "event_queue_policy",
    "partition_of",
    "policies",
    "service_role_policy",
    "trust_policy",
]

#: Regions each cross-region profile prefix routes to (best effort; override per call).
PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us": ("us-east-1", "us-east-2", "us-west-2"),
    "us-gov": ("us-gov-east-1", "us-gov-west-1"),
    "eu": ("eu-central-1", "eu-west-1", "eu-west-3", "eu-north-1"),
    "apac": ("ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2"),
    "jp": ("ap-northeast-1", "ap-northeast-3"),
    "au": ("ap-southeast-2", "ap-southeast-4"),
    "ca": ("ca-central-1", "ca-west-1"),
    "global": ("*",),
}


def partition_of(region: str) -> str:
    """The AWS partition of a region: ``aws-cn``, ``aws-us-gov`` or ``aws``."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def trust_policy(account_id: str, region: str = "*") -> dict[str, Any]:
    """The service role's trust policy, limited to batch jobs of ``account_id``."""
    part = partition_of(region)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "bedrock.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnEquals": {
                        "aws:SourceArn": f"arn:{part}:bedrock:{region}:{account_id}:model-invocation-job/*"
                    },
                },
            }
        ],
    }


def _s3_statements(
    input_uri: str,
    output_uri: str,
    account_id: str,
    part: str = "aws",
    extra_read: Sequence[str] = (),
) -> list[dict[str, Any]]:
    inp, out = S3Uri.parse(input_uri), S3Uri.parse(output_uri)
    extra = [S3Uri.parse(u) for u in extra_read]
    buckets = sorted({inp.bucket, out.bucket, *(e.bucket for e in extra)})
    reads = [f"arn:{part}:s3:::{inp.bucket}/{inp.prefix}*"]
    reads += [f"arn:{part}:s3:::{e.bucket}/{e.prefix}*" for e in extra]
    return [
        {
            "Sid": "ReadInputs",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": list(dict.fromkeys(reads)),
            "Condition": {"StringEquals": {"aws:ResourceAccount": account_id}},
        },
        {
            "Sid": "ListBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:{part}:s3:::{b}" for b in buckets],
            "Condition": {"StringEquals": {"aws:ResourceAccount": account_id}},
        },
        {
            "Sid": "WriteOutputs",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": [f"arn:{part}:s3:::{out.bucket}/{out.prefix}*"],
            "Condition": {"StringEquals": {"aws:ResourceAccount": account_id}},
        },
    ]


def default_extra_reads(model_id: str, input_uri: str) -> list[str]:
    """Content the records of this model usually reference beside the inputs: a ``videos/``
    folder next to the input prefix for Nova models (as in the AWS example)."""
    if ".nova-" not in f".{base_model_id(model_id)}":
        return []
    inp = S3Uri.parse(input_uri)
    parent = inp.prefix.rstrip("/").rpartition("/")[0]
    return [f"s3://{inp.bucket}/{parent + '/' if parent else ''}videos/"]


def _model_resources(
    model_id: str, account_id: str, region: str, routed_regions: Sequence[str] | None
) -> list[str]:
    part = partition_of(region)
    base = base_model_id(model_id)
    if model_id.startswith("arn:"):
        kind = model_id.split(":", 5)[5].split("/", 1)[0]
        if kind == "foundation-model":
            return [model_id]
        profile = model_id.split("/", 1)[1]
        profile_arn = model_id
    elif base != model_id:
        profile = model_id
        profile_arn = f"arn:{part}:bedrock:{region}:{account_id}:inference-profile/{model_id}"
    else:
        return [f"arn:{part}:bedrock:{region}::foundation-model/{model_id}"]
    prefix = profile.split(".", 1)[0]
    regions = tuple(routed_regions) if routed_regions else PROFILE_REGIONS.get(prefix, (region,))
    models = [f"arn:{part}:bedrock:{r}::foundation-model/{base}" for r in regions]
    return [profile_arn, *models]


def service_role_policy(
    model_id: str,
    input_uri: str,
    output_uri: str,
    *,
    account_id: str,
    region: str,
    routed_regions: Sequence[str] | None = None,
    kms_key_arn: str | None = None,
    extra_read_uris: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The permissions the service role needs for one model and one pair of S3 locations.

    ``extra_read_uris`` are more S3 prefixes the records reference (images, videos); None
    means the model's usual ones (``videos/`` beside the inputs for Nova models), ``[]`` none.
    """
    extra = default_extra_reads(model_id, input_uri) if extra_read_uris is None else extra_read_uris
    statements = _s3_statements(input_uri, output_uri, account_id, partition_of(region), extra)
    statements.append(
        {
            "Sid": "InvokeModel",
            "Effect": "Allow",
            "Action": ["bedrock:InvokeModel"],
            "Resource": _model_resources(model_id, account_id, region, routed_regions),
        }
    )
    if kms_key_arn:
        statements.append(
            {
                "Sid": "EncryptOutputs",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": [kms_key_arn],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def caller_policy(
    role_arn: str, input_uri: str, output_uri: str, *, region: str = "*", account_id: str = "*"
) -> dict[str, Any]:
    """What the user (or CI role) running ``bedrock_batch`` needs: jobs, S3, PassRole, quotas."""
    inp, out = S3Uri.parse(input_uri), S3Uri.parse(output_uri)
    from_role = role_arn.split(":")[1] if role_arn.startswith("arn:") else "aws"
    part = partition_of(region) if region != "*" else from_role
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BatchJobs",
                "Effect": "Allow",
                "Action": [
                    "bedrock:CreateModelInvocationJob",
                    "bedrock:GetModelInvocationJob",
                    "bedrock:ListModelInvocationJobs",
                    "bedrock:StopModelInvocationJob",
                    "bedrock:TagResource",
                ],
                "Resource": "*",
            },
            {
                "Sid": "OnDemandFallback",
                "Effect": "Allow",
                "Action": ["bedrock:InvokeModel"],
                "Resource": "*",
            },
            {
                "Sid": "PassServiceRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
            },
            {
                "Sid": "InputsAndOutputs",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [
                    f"arn:{part}:s3:::{inp.bucket}/{inp.prefix}*",
                    f"arn:{part}:s3:::{out.bucket}/{out.prefix}*",
                ],
            },
            {
                "Sid": "ListLocations",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": sorted(
                    {f"arn:{part}:s3:::{inp.bucket}", f"arn:{part}:s3:::{out.bucket}"}
                ),
            },
            {
                "Sid": "ReadQuotas",
                "Effect": "Allow",
                "Action": ["servicequotas:ListServiceQuotas", "servicequotas:GetServiceQuota"],
                "Resource": f"arn:{part}:servicequotas:{region}:{account_id}:bedrock/*"
                if account_id != "*"
                else "*",
            },
        ],
    }


def policies(
    model_id: str,
    input_uri: str,
    output_uri: str,
    *,
    account_id: str,
    region: str,
    role_arn: str | None = None,
    routed_regions: Sequence[str] | None = None,
    kms_key_arn: str | None = None,
    extra_read_uris: Sequence[str] | None = None,
) -> dict[str, Any]:
    """All three documents: ``{"trust", "permissions", "caller"}``."""
    role = role_arn or f"arn:{partition_of(region)}:iam::{account_id}:role/BedrockBatchInference"
    return {
        "trust": trust_policy(account_id, region),
        "permissions": service_role_policy(
            model_id,
            input_uri,
            output_uri,
            account_id=account_id,
            region=region,
            routed_regions=routed_regions,
            kms_key_arn=kms_key_arn,
            extra_read_uris=extra_read_uris,
        ),
        "caller": caller_policy(role, input_uri, output_uri, region=region, account_id=account_id),
    }


def event_queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """The SQS queue policy that lets one EventBridge rule send to the queue (the rule that
    :func:`bedrock_batch.events.create_event_queue` creates for Bedrock's job state changes)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BedrockBatchEvents",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }
