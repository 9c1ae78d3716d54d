"""``bedrock-batch local serve``: every knob of Local Bedrock, as command-line flags.

:func:`add_arguments` defines the flags on a parser, :func:`build` turns parsed flags into a
:class:`LocalBedrock`, :func:`run` serves it until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import attrs

from ._config import (
    AFTER_FAULT_KINDS,
    JOB_FAULT_KINDS,
    AfterFault,
    Faults,
    JobFault,
    OperationFaults,
    PromptCaching,
    Quotas,
    Timings,
)
from ._emulator import LocalBedrock
from ._service._lifecycle import ACTIVE
from ._wire._responses import QuotaResponses
from ._wire._routing import OPERATIONS
from ._wire._server import LOOPBACK_HOSTS

__all__ = [
    "DEFAULT_PORT",
    "EXAMPLES",
    "add_arguments",
    "banner",
    "build",
    "parse_after_fault",
    "parse_job_fault",
    "run",
]

#: The default port: not 4566, which LocalStack uses.
DEFAULT_PORT = 4599

EXAMPLES = """examples:
  bedrock-batch local serve                  # port 4599; prints the export lines to paste
  bedrock-batch local serve --port 0         # any free port (the banner says which)
  bedrock-batch local serve --time-scale 1 --records-per-second 50     # real time
  bedrock-batch local serve --region eu-west-1 --legacy-quotas --min-records 10
  bedrock-batch local serve --throttle-rate 0.05 --server-error CreateModelInvocationJob=0.2
  bedrock-batch local serve --record-error-rate 0.01 --retryable-record-error-rate 0.02 \\
      --record-error-id rec-00042
  bedrock-batch local serve --job-fault fail_validation:name=bad \\
      --job-fault fail_late:name=late,message="Customer doesn't have permissions to invokeModel" \\
      --job-fault expire:name=queued --job-fault timeout:name=slow,at=0.4 \\
      --job-fault stall:name=stuck,times=3
  bedrock-batch local serve --event-drop-rate 0.1 --idempotency-window-hours 1
  bedrock-batch local serve --lost-answer CreateModelInvocationJob=0.2 \\
      --after-fault lost_answer:CreateModelInvocationJob,times=8 \\
      --after-fault server_error:StopModelInvocationJob

job faults (--job-fault KIND[:key=value,...], repeatable; applied to the next matching jobs):
  fail_validation   Failed in Validating with the message
  fail_late         Failed at the end of InProgress with the message (no outputs)
  expire            never leaves Scheduled; Expired at the job's timeout
  timeout           stops at fraction `at` of the records; PartiallyCompleted at the timeout
  stall             stops at fraction `at` of the records and stays InProgress (until stopped)
  keys: name (the job name contains it), message, at (0..1, default 0.5), times (default 1)

faults after the operation took effect (the call does its work, then its answer is lost):
  --lost-answer OP=RATE         no answer: the connection is dropped (a read timeout)
  --server-error-after OP=RATE  the answer is a 500 InternalServerException
  --after-fault KIND:OP[,times=N]  the next N calls of OP (default 1); KIND is lost_answer or
                                server_error. botocore retries them: 8 lose one call of the library.
  (an OP given to --throttle/--server-error/--lost-answer/--server-error-after takes its rates
  from those flags only, not from --throttle-rate/--server-error-rate)

Time: --time-scale shortens every phase and timeout (1000: a 24-hour timeout passes in 86 s);
timestamps the API reports stay wall-clock times.
"""


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is within [0, 1], not {text}")
    return value


#: The operations faults can be aimed at (the names the emulator answers).
FAULT_OPERATIONS = tuple(sorted({*OPERATIONS.values(), *QuotaResponses.OPERATIONS}))


def _operation_rate(text: str) -> tuple[str, float]:
    operation, sep, rate = text.partition("=")
    if not sep or not operation:
        raise argparse.ArgumentTypeError(f"expected OPERATION=RATE, not {text!r}")
    if operation not in FAULT_OPERATIONS:
        raise argparse.ArgumentTypeError(
            f"unknown operation {operation!r}; one of {', '.join(FAULT_OPERATIONS)}"
        )
    return operation, _rate(rate)


def _port(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a TCP port is 0-65535 (0: any free port), not {text!r}")
    return value


def _time_scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text!r}")
    return value


def parse_job_fault(text: str) -> JobFault:
    """``KIND[:key=value,...]`` → :class:`JobFault` (a message may contain commas)."""
    kind, _, rest = text.partition(":")
    if kind not in JOB_FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown job fault {kind!r}; one of {', '.join(JOB_FAULT_KINDS)}"
        )
    pairs: list[list[str]] = []
    for part in rest.split(",") if rest else []:
        key, sep, value = part.partition("=")
        if sep and key.strip() in ("name", "message", "at", "times"):
            pairs.append([key.strip(), value])
        elif pairs:
            pairs[-1][1] += "," + part
        else:
            raise argparse.ArgumentTypeError(f"expected key=value in {text!r}")
    fields: dict[str, object] = {}
    try:
        for key, value in pairs:
            if key == "name":
                fields["name_contains"] = value
            elif key == "message":
                fields["message"] = value.strip().strip('"')
            elif key == "at":
                fields["at_fraction"] = float(value)
            else:
                fields["times"] = int(value)
        return JobFault(kind, **fields)  # type: ignore[arg-type]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from err


def parse_after_fault(text: str) -> AfterFault:
    """``KIND:OPERATION[,times=N]`` → :class:`AfterFault`."""
    kind, _, rest = text.partition(":")
    if kind not in AFTER_FAULT_KINDS:
        raise argparse.ArgumentTypeError(
            f"unknown fault after an operation {kind!r}; one of {', '.join(AFTER_FAULT_KINDS)}"
        )
    operation, _, option = rest.partition(",")
    if not operation:
        raise argparse.ArgumentTypeError(f"expected KIND:OPERATION[,times=N], not {text!r}")
    times = 1
    if option:
        key, sep, value = option.partition("=")
        if key.strip() != "times" or not sep:
            raise argparse.ArgumentTypeError(f"expected times=N in {text!r}")
        try:
            times = int(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r}: {err}") from err
    if operation.strip() not in FAULT_OPERATIONS:
        raise argparse.ArgumentTypeError(
            f"unknown operation {operation.strip()!r}; one of {', '.join(FAULT_OPERATIONS)}"
        )
    try:
        return AfterFault(operation.strip(), kind, times)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from err


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Define the flags of ``local serve`` on ``parser``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLES
    net = parser.add_argument_group("server")
    net.add_argument(
        "--host", default="127.0.0.1", help="bind address (default 127.0.0.1, loopback only)"
    )
    net.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"TCP port (default {DEFAULT_PORT}, not LocalStack's 4566; 0 picks a free port)",
    )
    net.add_argument(
        "--region",
        default="us-east-1",
        help="region of unsigned requests (signed ones use their own)",
    )
    net.add_argument(
        "--account-id", default="123456789012", help="the account in ARNs (default 123456789012)"
    )
    net.add_argument("--seed", type=int, default=0, help="job ids, output order, faults and events")

    time = parser.add_argument_group("time")
    time.add_argument(
        "--time-scale",
        type=_time_scale,
        default=1000.0,
        help="emulated seconds per real second (default 1000)",
    )
    time.add_argument(
        "--records-per-second", type=float, default=5.0, help="emulated processing rate (default 5)"
    )
    defaults = Timings()
    for phase in ("submitted", "validating", "scheduled", "stopping"):
        time.add_argument(
            f"--{phase}-seconds",
            type=float,
            default=getattr(defaults, phase),
            help=f"emulated length of {phase.capitalize()} (default {getattr(defaults, phase):g})",
        )
    time.add_argument(
        "--default-timeout-hours", type=int, default=24, help="when a request omits it (UNVERIFIED)"
    )
    time.add_argument(
        "--idempotency-window-hours",
        type=float,
        default=24.0,
        help="clientRequestToken lifetime (UNVERIFIED)",
    )

    quotas = parser.add_argument_group("quotas")
    quotas.add_argument(
        "--legacy-quotas",
        action="store_true",
        help="the 2024 quotas (1,000 min, 200 MB/file, 1 GB/job, 3 jobs)",
    )
    quotas.add_argument("--min-records", type=int, help="minimum records per job (default 100)")
    quotas.add_argument("--max-records-per-job", type=int, help="default 50,000")
    quotas.add_argument("--max-records-per-file", type=int, help="default 50,000")
    quotas.add_argument("--max-file-bytes", type=int, help="default 1 GB")
    quotas.add_argument("--max-job-bytes", type=int, help="default 5 GB")
    quotas.add_argument("--max-concurrent-jobs", type=int, help="default 20")

    faults = parser.add_argument_group("faults")
    faults.add_argument(
        "--throttle-rate", type=_rate, default=0.0, help="429 ThrottlingException on any call"
    )
    faults.add_argument(
        "--server-error-rate",
        type=_rate,
        default=0.0,
        help="500 InternalServerException on any call",
    )
    faults.add_argument(
        "--throttle",
        type=_operation_rate,
        action="append",
        default=[],
        metavar="OPERATION=RATE",
        help="throttling rate of one operation (repeatable)",
    )
    faults.add_argument(
        "--server-error",
        type=_operation_rate,
        action="append",
        default=[],
        metavar="OPERATION=RATE",
        help="5xx rate of one operation (repeatable)",
    )
    faults.add_argument(
        "--lost-answer",
        type=_operation_rate,
        action="append",
        default=[],
        metavar="OPERATION=RATE",
        help="rate of calls of one operation that take effect and lose their answer (repeatable)",
    )
    faults.add_argument(
        "--server-error-after",
        type=_operation_rate,
        action="append",
        default=[],
        metavar="OPERATION=RATE",
        help="rate of calls of one operation that take effect and answer 500 (repeatable)",
    )
    faults.add_argument(
        "--after-fault",
        type=parse_after_fault,
        action="append",
        default=[],
        metavar="KIND:OPERATION[,times=N]",
        help="the next N calls of OPERATION take effect, then lose their answer or answer 500",
    )
    faults.add_argument(
        "--record-error-rate", type=_rate, default=0.0, help="records failing with a 400"
    )
    faults.add_argument(
        "--retryable-record-error-rate",
        type=_rate,
        default=0.0,
        help="records failing with a retryable 429",
    )
    faults.add_argument(
        "--invalid-output-rate",
        type=_rate,
        default=0.0,
        help="structured answers (native JSON or tool input) that break their schema",
    )
    faults.add_argument(
        "--record-error-id",
        action="append",
        default=[],
        metavar="ID",
        help="a record id that always fails (repeatable)",
    )
    faults.add_argument(
        "--job-fault",
        type=parse_job_fault,
        action="append",
        default=[],
        metavar="KIND[:key=value,...]",
        help="a job fault (repeatable; see below)",
    )

    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument("--no-events", action="store_true", help="emit no EventBridge events")
    behaviour.add_argument(
        "--event-drop-rate", type=_rate, default=0.0, help="fraction of EventBridge events dropped"
    )
    behaviour.add_argument(
        "--output-paths",
        choices=["relative", "basename"],
        default="relative",
        help="outputs of nested inputs (UNVERIFIED)",
    )
    behaviour.add_argument(
        "--stoppable",
        default=",".join(sorted(ACTIVE)),
        help="statuses a stop is accepted in (UNVERIFIED)",
    )
    behaviour.add_argument(
        "--no-record-counters", action="store_true", help="omit the 2026-04-01 record counters"
    )
    behaviour.add_argument(
        "--no-validate-inputs", action="store_true", help="answer records without checking them"
    )
    behaviour.add_argument(
        "--batch-prompt-caching",
        action="store_true",
        help="account for cache markers in batch jobs too (UNVERIFIED; off by default)",
    )
    behaviour.add_argument(
        "--accept-unknown-models",
        action="store_true",
        help="answer model ids it does not list whose provider has one body format "
        "(anthropic., meta.llama, openai., qwen.) in that family's shape; off: refused, like "
        "the service",
    )
    behaviour.add_argument(
        "--linked-content-anywhere",
        action="store_true",
        help="accept records linking S3 objects (Nova videos, documents) outside their job's "
        "input folder; by default such a record is errored, as the service requires (facts §1)",
    )
    behaviour.add_argument(
        "--prompt-cache-min-tokens",
        type=int,
        default=1024,
        help="the shortest prefix the emulated prompt cache takes (default 1,024 tokens)",
    )


def build(args: argparse.Namespace) -> LocalBedrock:
    """The :class:`LocalBedrock` the parsed flags describe."""
    base = Quotas.legacy_2024() if args.legacy_quotas else Quotas()
    overrides = {
        "min_records_per_job": args.min_records,
        "max_records_per_job": args.max_records_per_job,
        "max_records_per_file": args.max_records_per_file,
        "max_file_bytes": args.max_file_bytes,
        "max_job_bytes": args.max_job_bytes,
        "max_concurrent_jobs": args.max_concurrent_jobs,
    }
    quotas = attrs.evolve(base, **{k: v for k, v in overrides.items() if v is not None})
    per_operation: dict[str, OperationFaults] = {}
    for operation, rate in args.throttle:
        per_operation[operation] = attrs.evolve(
            per_operation.get(operation, OperationFaults()), throttle_rate=rate
        )
    for operation, rate in args.server_error:
        per_operation[operation] = attrs.evolve(
            per_operation.get(operation, OperationFaults()), server_error_rate=rate
        )
    for operation, rate in args.lost_answer:
        per_operation[operation] = attrs.evolve(
            per_operation.get(operation, OperationFaults()), lost_answer_rate=rate
        )
    for operation, rate in args.server_error_after:
        per_operation[operation] = attrs.evolve(
            per_operation.get(operation, OperationFaults()), server_error_after_rate=rate
        )
    faults = Faults(
        throttle_rate=args.throttle_rate,
        server_error_rate=args.server_error_rate,
        per_operation=per_operation,
        record_error_rate=args.record_error_rate,
        retryable_record_error_rate=args.retryable_record_error_rate,
        record_error_ids=args.record_error_id,
        invalid_output_rate=args.invalid_output_rate,
        jobs=args.job_fault,
        after=args.after_fault,
    )
    timings = Timings(
        submitted=args.submitted_seconds,
        validating=args.validating_seconds,
        scheduled=args.scheduled_seconds,
        stopping=args.stopping_seconds,
        records_per_second=args.records_per_second,
    )
    return LocalBedrock(
        region=args.region,
        account_id=args.account_id,
        time_scale=args.time_scale,
        timings=timings,
        default_quotas=quotas,
        faults=faults,
        seed=args.seed,
        record_counters=not args.no_record_counters,
        validate_inputs=not args.no_validate_inputs,
        output_paths=args.output_paths,
        events=not args.no_events,
        event_drop_rate=args.event_drop_rate,
        idempotency_window_hours=args.idempotency_window_hours,
        default_timeout_hours=args.default_timeout_hours,
        stoppable_statuses=[s.strip() for s in args.stoppable.split(",") if s.strip()],
        prompt_caching=PromptCaching(
            batch=args.batch_prompt_caching, min_tokens=args.prompt_cache_min_tokens
        ),
        accept_unknown_models=args.accept_unknown_models,
        linked_content_in_folder=not args.linked_content_anywhere,
    )


def banner(endpoint_url: str, region: str = "us-east-1") -> str:
    """What the server prints first: where it listens, and the exact exports for the AWS CLI
    and any SDK in another shell (dummy credentials: it checks none)."""
    return (
        f"Local Bedrock on {endpoint_url} (S3, Bedrock, bedrock-runtime, Service Quotas)\n"
        "In another shell, paste:\n"
        f"  export AWS_ENDPOINT_URL={endpoint_url}\n"
        "  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing\n"
        f"  export AWS_DEFAULT_REGION={region}\n"
        "Ctrl-C stops it (everything lives in memory)."
    )


def run(args: argparse.Namespace) -> int:
    """Serve Local Bedrock on one endpoint until interrupted; returns the exit code."""
    if args.host not in LOOPBACK_HOSTS:
        print(
            f"warning: Local Bedrock listens on {args.host}, not loopback: anyone who can reach "
            "this address can use it (it has no authentication).",
            file=sys.stderr,
            flush=True,
        )
    server = build(args).serve(host=args.host, port=args.port)
    print(banner(server.endpoint_url, args.region), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
