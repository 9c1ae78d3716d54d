"""``bedrock-batch iam-policy``: inputs checked before any document is printed."""

from __future__ import annotations

import argparse
import json
import re

from ._errors import EXIT_OK, CliError

__all__ = ["iam_policy"]

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:\S+$")


def _events(args: argparse.Namespace) -> int:
    from ..iam import event_queue_policy

    for flag, value, kind in (("--queue-arn", args.queue_arn, ":sqs:"), ("--rule-arn", args.rule_arn, ":events:")):  # fmt: skip
        if not value:
            raise CliError(f"iam-policy --events needs {flag}")
        if not _ARN.match(value) or kind not in value:
            raise CliError(f"{flag} {value!r} is not an ARN of the right kind ({kind.strip(':')})")
    print(json.dumps(event_queue_policy(args.queue_arn, args.rule_arn), indent=2))
    return EXIT_OK


def _region(args: argparse.Namespace) -> str:
    region = args.region
    if not region:
        import os

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise CliError("no region: pass --region (the policies name the region's ARNs)")
    if not _REGION.match(region):
        raise CliError(f"--region {region!r} is not an AWS region name (e.g. us-east-1)")
    return str(region)


def iam_policy(args: argparse.Namespace) -> int:
    """Validate the inputs and print the documents."""
    if args.events:
        return _events(args)
    from .._catalog import model_problem
    from .._common._s3uri import S3Uri
    from ..iam import policies

    missing = [f for f, v in (("--model-id", args.model), ("--account", args.account),
               ("--input-uri", args.input_uri), ("--output-uri", args.output_uri)) if not v]  # fmt: skip
    if missing:
        raise CliError(f"iam-policy needs {', '.join(missing)}")
    if not re.fullmatch(r"\d{12}", args.account):
        raise CliError(f"--account {args.account!r} is not a 12-digit AWS account id")
    region = _region(args)
    problem = model_problem(args.model, region)
    if problem:
        raise CliError(f"--model-id: {problem}")
    for flag, uri in (("--input-uri", args.input_uri), ("--output-uri", args.output_uri),
                      *(("--extra-read-prefix", u) for u in args.extra_read_prefix)):  # fmt: skip
        try:
            S3Uri.parse(uri)
        except ValueError as err:
            raise CliError(f"{flag}: {err}") from None
    if args.role and not _ARN.match(args.role):
        raise CliError(f"--role-arn {args.role!r} is not an IAM role ARN")
    docs = policies(
        args.model, args.input_uri, args.output_uri, account_id=args.account, region=region,
        role_arn=args.role, routed_regions=args.routed_region or None,
        kms_key_arn=args.kms_key_arn, extra_read_uris=args.extra_read_prefix or None,
    )  # fmt: skip
    print(json.dumps(docs[args.only] if args.only else docs, indent=2))
    return EXIT_OK
