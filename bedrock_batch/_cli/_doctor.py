"""``bedrock-batch doctor``: the checks of :func:`bedrock_batch.doctor`, one line each.

Standard library only at import (``bedrock-batch --help`` loads no boto3); the checks are
imported when the command runs. Exit 0 when every check passed (warnings allowed), 2 when one
failed or cannot tell.
"""

from __future__ import annotations

import argparse
import json

__all__ = ["add_arguments", "cmd_doctor"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The doctor's own flags (the global ones come from the parser)."""
    p.add_argument(
        "--model-id", "--model", dest="model",
        help="the model or inference-profile id to check (reachability, InvokeModel, quotas)",
    )  # fmt: skip
    p.add_argument("--role-arn", "--role", dest="role", help="the service role (default: saved)")
    p.add_argument("--input-uri", help="S3 prefix of the inputs (default: saved)")
    p.add_argument("--output-uri", help="S3 prefix of the outputs (default: saved)")
    p.add_argument(
        "--no-probe", action="store_true",
        help="do not write (then delete) a small probe object under the input prefix",
    )  # fmt: skip


def cmd_doctor(args: argparse.Namespace) -> int:
    """Run the checks; print one line per check (or ``--json``); 0 when all passed."""
    from .._setup._doctor import doctor
    from ._commands import profile_session

    session = profile_session(args)  # no region is one of doctor's own checks
    report = doctor(
        args.model,
        role_arn=args.role,
        input_uri=args.input_uri,
        output_uri=args.output_uri,
        session=session,
        probe=not args.no_probe,
    )
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print("\n".join(report.lines()))
    return report.exit_code
