"""Roles and buckets for the doctor's tests, built with boto3 IAM from ``bedrock_batch.iam``'s
documents (independent of ``setup``)."""

from __future__ import annotations

import json
from typing import Any

from bedrock_batch import iam

ACCOUNT = "123456789012"


def make_role(
    session: Any,
    name: str,
    model: str,
    input_uri: str,
    output_uri: str,
    *,
    region: str = "us-east-1",
    trust: dict[str, Any] | None = None,
    permissions: dict[str, Any] | None = None,
    managed: bool = False,
) -> str:
    """Create a role with the library's trust and permission policies (or the ones given);
    ``managed`` attaches the permissions as a managed policy instead of an inline one."""
    docs = iam.policies(model, input_uri, output_uri, account_id=ACCOUNT, region=region)
    client = session.client("iam")
    arn = client.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or docs["trust"])
    )["Role"]["Arn"]
    body = json.dumps(permissions or docs["permissions"])
    if managed:
        policy = client.create_policy(PolicyName=f"{name}-policy", PolicyDocument=body)
        client.attach_role_policy(RoleName=name, PolicyArn=policy["Policy"]["Arn"])
    else:
        client.put_role_policy(RoleName=name, PolicyName="batch", PolicyDocument=body)
    return str(arn)


def without(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    """The policy without the statement ``sid``."""
    return {**policy, "Statement": [s for s in policy["Statement"] if s.get("Sid") != sid]}


def permissions(model: str, input_uri: str, output_uri: str, region: str = "us-east-1") -> Any:
    """The library's permission policy for the role."""
    return iam.service_role_policy(model, input_uri, output_uri, account_id=ACCOUNT, region=region)


EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def make_bucket(session: Any, bucket: str, region: str = "us-east-1") -> None:
    """A bucket in ``region`` (``LocationConstraint`` omitted in us-east-1)."""
    s3 = session.client("s3", region_name=region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
