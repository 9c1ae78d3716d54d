"""``bedrock-batch setup``: its flags (standard library only, for a fast ``--help``) and its
command, which calls :func:`bedrock_batch.setup` and prints the report."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

__all__ = ["add_setup_arguments", "cmd_setup"]

HELP = (
    "create (or find) the S3 bucket and the service role batch jobs need, in the account and "
    "region of your credentials, and save them as the defaults of run/plan/submit and "
    "BatchJob(model)"
)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, at least 0, not {text!r}")
    return value


def add_setup_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``setup``."""
    p.add_argument(
        "--bucket", help="the S3 bucket for inputs and outputs (default: "
        "bedrock-batch-ACCOUNT-REGION); an existing one is used only if this account owns it",
    )  # fmt: skip
    p.add_argument(
        "--role-name", default="BedrockBatchServiceRole",
        help="the service role's name (default BedrockBatchServiceRole)",
    )  # fmt: skip
    p.add_argument(
        "--model-id", "--model", dest="models", action="append", default=[], metavar="MODEL",
        help="a model the role may invoke (repeat; default: every model of the catalogue "
        "whose batch support the facts give, with its inference profiles from this region)",
    )  # fmt: skip
    p.add_argument("--input-prefix", default="inputs/", help="the inputs' prefix (default inputs/)")  # fmt: skip
    p.add_argument("--output-prefix", default="outputs/", help="the outputs' prefix (default outputs/)")  # fmt: skip
    p.add_argument(
        "--dry-run", action="store_true",
        help="print what setup would do; no write call, nothing saved",
    )  # fmt: skip
    p.add_argument(
        "--update", action="store_true",
        help="replace the policies of an existing role when they differ (nothing else changes)",
    )  # fmt: skip
    p.add_argument(
        "--settle-seconds", type=_seconds, metavar="S",
        help="seconds to wait after GetRole sees a new or changed role (default 10; 0 against "
        "a loopback endpoint): IAM is eventually consistent",
    )  # fmt: skip


def cmd_setup(args: argparse.Namespace) -> int:
    """Create or find the bucket and the role; print what was done; save the defaults."""
    from .._setup._account import setup
    from ._commands import _session
    from ._errors import EXIT_OK
    from ._output import emit

    report: Any = setup(
        session=_session(args), bucket=args.bucket, role_name=args.role_name,
        model_ids=args.models, input_prefix=args.input_prefix, output_prefix=args.output_prefix,
        dry_run=args.dry_run, update=args.update,
        settle_seconds=args.settle_seconds,
        progress=None if args.json else lambda line: print(line, file=sys.stderr, flush=True),
    )  # fmt: skip
    emit(args.json, report.to_json(), str(report))
    return EXIT_OK
