"""The ``bedrock-batch`` command line: the parser and the error boundary (the exit codes are
in :mod:`._errors`).

This module imports only the standard library (and :mod:`._errors`, :mod:`._examples`,
:mod:`._doctor`'s flags):
``bedrock-batch --help`` stays fast and loads no boto3. The commands live in :mod:`._commands`
(imported when one runs), the output writers in :mod:`._output`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .._reader._formats import FORMATS, ORDERS
from ._doctor import add_arguments as add_doctor_arguments
from ._errors import (
    EXIT_BUG,
    EXIT_CODES,
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_JOB_FAILED,
    EXIT_NOT_FINISHED,
    EXIT_PIPE,
    EXIT_SERVICE,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CliError,
)
from ._examples import EXAMPLES

__all__ = ["main"]

STATUSES = (
    "Submitted", "Validating", "Scheduled", "InProgress", "Stopping", "Completed",
    "PartiallyCompleted", "Failed", "Stopped", "Expired",
)  # fmt: skip


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``prog: error: … (see prog --help)``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _globals(p: argparse.ArgumentParser, *, top: bool) -> None:
    """Options accepted before and after the subcommand (the subcommand's win)."""
    kw: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument("--region", help="AWS region (default: AWS_REGION, the profile's)", **kw)
    p.add_argument("--profile", help="AWS profile from your AWS config", **kw)
    p.add_argument(
        "--endpoint-url", help="send every AWS call here (as AWS_ENDPOINT_URL does)", **kw
    )
    p.add_argument("--debug", action="store_true", help="log everything; tracebacks", **kw)
    v_kw = {"default": argparse.SUPPRESS} if not top else {"default": 0}
    p.add_argument("-v", "--verbose", action="count", help="log more (-vv: everything)", **v_kw)


def _max_results(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 1000, not {text!r}")
    return value


def _positive(text: str) -> int:
    value = int(text) if text.isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _dollars(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive amount of US dollars, not {text!r}")
    return value


def _price(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        values = tuple(float(x) for x in parts)
    except ValueError:
        values = ()
    if len(values) != 2 or not all(0 <= v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(
            f"must be INPUT,OUTPUT: on-demand US dollars per million tokens, not {text!r}"
        )
    return values[0], values[1]


def _max_cost(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-cost", type=_dollars, metavar="USD",
        help="refuse (exit 3, before anything is uploaded or sent) when the batch could cost "
        "more: a pessimistic bound from the price table (see docs/howto/cost-cap.md)",
    )  # fmt: skip
    p.add_argument(
        "--price", type=_price, metavar="IN,OUT",
        help="the model's on-demand price, US dollars per million input and output tokens "
        "(batch is half of it), for the cost estimate and --max-cost; default: the built-in table",
    )  # fmt: skip


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input",
        help="Bedrock-format JSONL ({recordId?, modelInput} lines, sent as written), or prompts: "
        ".csv, .parquet, .jsonl rows (the prompt in --prompt-column) or a text file, one a line",
    )
    p.add_argument(
        "--prompt-column", metavar="NAME",
        help="the column (or JSONL field) holding each prompt (default: prompt); builds the "
        "requests for the model with add_prompt",
    )  # fmt: skip
    p.add_argument(
        "--key-column", metavar="NAME",
        help="a column kept as each record's key, next to its result (text files: the line)",
    )  # fmt: skip
    p.add_argument("--system", help="a system prompt for every prompt")
    p.add_argument("--max-tokens", type=_positive, help="the answer's token limit, per prompt")
    p.add_argument(
        "--output-schema", metavar="FILE.json",
        help="a JSON Schema the answers must follow (structured outputs), read from the file",
    )  # fmt: skip
    p.add_argument(
        "--model-id", "--model", dest="model", required=True,
        help="model id, inference-profile id or ARN",
    )  # fmt: skip
    p.add_argument(
        "--role-arn", "--role", dest="role",
        help="the service role Bedrock assumes (see iam-policy); default: "
        "BEDROCK_BATCH_ROLE_ARN, else what 'bedrock-batch setup' saved",
    )  # fmt: skip
    p.add_argument("--input-uri", help="S3 prefix the inputs are uploaded to (default: BEDROCK_BATCH_INPUT_URI, else setup's)")  # fmt: skip
    p.add_argument("--output-uri", help="S3 prefix Bedrock writes outputs to (default: BEDROCK_BATCH_OUTPUT_URI, else setup's)")  # fmt: skip
    p.add_argument(
        "--invocation-type", default=None, choices=["InvokeModel", "Converse"],
        help="how Bedrock calls the model (default: the model's; InvokeModel for most, Converse "
        "where the native body is not established)",
    )  # fmt: skip
    p.add_argument(
        "--mode", default="auto", choices=["auto", "batch", "on_demand"],
        help="auto: batches below the model's minimum run on demand (default)",
    )  # fmt: skip
    p.add_argument("--job-name", help="the Bedrock job's name (default: derived from content)")
    _max_cost(p)
    p.add_argument(
        "--dedupe", action="store_true",
        help="send identical requests once; every record that asked gets the answer",
    )  # fmt: skip
    p.add_argument(
        "--reuse", metavar="S3_PREFIX",
        help="an answer cache (s3://bucket/prefix/): questions answered there are not sent, and "
        "this batch's answers are added to it (see docs/howto/reuse.md)",
    )  # fmt: skip
    p.add_argument("--timeout-hours", type=int, help="Bedrock's job timeout (24-168)")
    p.add_argument(
        "--allow-unknown-model", action="store_true",
        help="accept a model id this version does not know (a model released after it)",
    )  # fmt: skip
    p.add_argument(
        "--tags", nargs="+", metavar="KEY=VALUE", default=[], help="tags on every job created"
    )
    p.add_argument(
        "--skip-invalid", action="store_true",
        help="send the valid lines and list the refused ones (default: refuse the whole file)",
    )  # fmt: skip
    p.add_argument(
        "--rejects-output", metavar="FILE",
        help="where --skip-invalid writes the refused lines (default: INPUT.rejected.jsonl)",
    )  # fmt: skip


def _wait_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--poll-interval", type=float, help="first seconds between polls (adapts)")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _handle(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "handle",
        metavar="HANDLE",
        help="a job ARN of the batch, or its state URI (s3://…/bedrock-batch.json) from submit",
    )


def _output(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument(
        "--output", default=default,
        help="file (.jsonl, .csv, .parquet) or - for stdout"
        + (f" (default {default})" if default else ""),
    )  # fmt: skip
    p.add_argument("--format", choices=FORMATS, help="override the file's extension")
    p.add_argument(
        "--order", choices=ORDERS, default="input",
        help="input: the order the records were added (default); output: Bedrock's order",
    )  # fmt: skip
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def parser(local_serve: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``local serve``'s flags only with ``local_serve`` (they import
    the emulator)."""
    p = Parser(
        prog="bedrock-batch",
        description="Amazon Bedrock batch inference, end to end. "
        "AWS_ENDPOINT_URL and --endpoint-url are honoured (e.g. Local Bedrock).",
        epilog="examples:\n  " + "\n  ".join(EXAMPLES["demo"].splitlines()[:1])
        + "\n  bedrock-batch run --help    # and every command's own examples\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    _globals(p, top=True)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def cmd(name: str, help_text: str, parent: Any = sub) -> argparse.ArgumentParser:
        examples = "\n  ".join(EXAMPLES[name].splitlines())
        sp: argparse.ArgumentParser = parent.add_parser(
            name, help=help_text, description=help_text,
            epilog=f"examples:\n  {examples}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )  # fmt: skip
        sp.set_defaults(func=name)
        _globals(sp, top=False)
        if name != "serve":
            sp.add_argument("--json", action="store_true", help="JSON output (camelCase keys)")
        return sp

    d = cmd("demo", "the walkthrough: 1,000 questions to Claude 3 Haiku on Local Bedrock")
    d.add_argument("--records", type=int, default=1000, help="how many questions (default 1000)")
    d.add_argument("--show", type=int, default=3, help="joined results to print (default 3)")
    d.add_argument("--seed", type=int, default=0, help="Local Bedrock's random seed")
    d.add_argument(
        "--time-scale", type=float, default=100.0,
        help="emulated seconds per real second (default 100: about 5 s in all)",
    )  # fmt: skip
    d.add_argument("--quiet", action="store_true", help="no progress display")

    r = cmd("run", "run a whole batch from a file and write the joined results")
    _job_args(r)
    _output(r, "results.jsonl")
    _wait_args(r)
    r.add_argument("--local", action="store_true", help="run on an embedded Local Bedrock")
    r.add_argument("--seed", type=int, default=0, help="Local Bedrock's seed (with --local)")
    r.add_argument("--no-wait", action="store_true", help="submit, print the handle, return")
    sp = cmd("plan", "check an input file and the parameters; show what submit would do")
    _job_args(sp)
    sp = cmd("submit", "upload and create the job(s); print the batch's handle and job ARNs")
    _job_args(sp)

    for name, text in (
        ("status", "show a batch's status, judged by each record's latest attempt"),
        ("stop", "stop a running batch (processed records keep their outputs)"),
        ("attach", "show a batch's jobs and status, and its summary once it has ended"),
    ):
        _handle(cmd(name, text))
    w = cmd("wait", "wait for a batch to end (exit 0 only when it completed)")
    _handle(w)
    w.add_argument("--timeout", type=float, help="give up after this many seconds (exit 6)")
    _wait_args(w)
    res = cmd("results", "write joined results, one row per input record")
    _handle(res)
    _output(res, "results.jsonl")
    res.add_argument("--partial", action="store_true", help="read a batch that has not ended")
    sm = cmd("summary", "counts, tokens and cost, reconciled with Bedrock's manifests")
    _handle(sm)
    sm.add_argument("--partial", action="store_true", help="summarise a batch not ended yet")
    rt = cmd("retry", "run errored and missing records again")
    _handle(rt)
    rt.add_argument(
        "--include-non-retryable", action="store_true",
        help="send the errors that are not retryable too (retryable=false, or a 4xx other than "
        "408/429): by default they are left out, as they would fail and be paid for again",
    )  # fmt: skip
    rt.add_argument(
        "--retryable-only", action="store_true",
        help="only the errors Bedrock marked retryable (and the missing records)",
    )  # fmt: skip
    rt.add_argument("--wait", action="store_true", help="wait for the retry to finish")
    _max_cost(rt)
    _wait_args(rt)
    ls = cmd("list", "list model invocation jobs, newest first")
    ls.add_argument(
        "--status-equals", "--status", dest="status", choices=STATUSES, metavar="STATUS",
        help="only jobs in this status: " + ", ".join(STATUSES),
    )  # fmt: skip
    ls.add_argument("--name-contains", help="only jobs whose name contains this")
    ls.add_argument(
        "--max-results", "--max", dest="max", type=_max_results, default=50,
        help="at most this many jobs, 1-1000 (default 50)",
    )  # fmt: skip
    from ._setup import HELP as SETUP_HELP  # standard library only
    from ._setup import add_setup_arguments

    add_setup_arguments(cmd("setup", SETUP_HELP))
    iam = cmd("iam-policy", "print the IAM policies a batch needs (role trust, role, caller)")
    iam.add_argument("--model-id", "--model", dest="model", help="model or inference-profile id")
    iam.add_argument("--input-uri", help="S3 prefix of the inputs")
    iam.add_argument("--output-uri", help="S3 prefix of the outputs")
    iam.add_argument("--account", help="your 12-digit AWS account id")
    iam.add_argument("--role-arn", "--role", dest="role", help="the service role (for PassRole)")
    iam.add_argument(
        "--routed-region", action="append", default=[],
        help="a region the inference profile routes to (repeat; default: a built-in table)",
    )  # fmt: skip
    iam.add_argument("--kms-key-arn", help="the KMS key that encrypts the outputs")
    iam.add_argument(
        "--extra-read-prefix", action="append", default=[], metavar="S3_URI",
        help="more S3 content the records reference (repeat); Nova models get videos/ beside "
        "the inputs by default",
    )  # fmt: skip
    iam.add_argument(
        "--only", choices=["trust", "permissions", "caller"], help="print one document"
    )
    iam.add_argument(
        "--events", action="store_true",
        help="print the SQS queue policy that lets an EventBridge rule feed the queue",
    )  # fmt: skip
    iam.add_argument("--queue-arn", help="the SQS queue (with --events)")
    iam.add_argument("--rule-arn", help="the EventBridge rule (with --events)")

    doc = cmd("doctor", "check credentials, region, model, bucket, role and quotas; one line each")
    add_doctor_arguments(doc)

    loc = sub.add_parser("local", help="Local Bedrock, the offline emulator (local serve)")
    lsub = loc.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    s = lsub.add_parser(
        "serve", help="serve S3, Bedrock, bedrock-runtime and Service Quotas on one endpoint",
        description="Serve Local Bedrock (S3, Bedrock, bedrock-runtime, Service Quotas) on one "
        "loopback endpoint, and print the exports to paste into another shell.",
    )  # fmt: skip
    s.set_defaults(func="serve", region=None, profile=None, endpoint_url=None, debug=False)
    if local_serve:  # its flags come with the emulator: only loaded when asked for
        from ..local._serve_cli import add_arguments

        add_arguments(s)
        s.epilog = (s.epilog or "") + "\n" + EXIT_CODES
    return p


def _errors_to_codes() -> list[tuple[type[BaseException], int]]:
    from .._errors import (
        BatchError,
        JobFailedError,
        NotFinishedError,
        PollTimeoutError,
        ServiceError,
        ValidationError,
    )

    return [
        (ValidationError, EXIT_INVALID),
        (JobFailedError, EXIT_JOB_FAILED),
        (ServiceError, EXIT_SERVICE),
        (PollTimeoutError, EXIT_TIMEOUT),
        (NotFinishedError, EXIT_NOT_FINISHED),
        (BatchError, EXIT_SERVICE),
    ]


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 2000 else text[:1997] + "..."


def _is_url(text: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0  # reading .port checks it
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and port_ok


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bedrock-batch`` console script."""
    started = time.monotonic()  # wait --timeout counts from here: attaching is waiting too
    words = list(sys.argv[1:] if argv is None else argv)
    args = parser(local_serve="local" in words).parse_args(words)
    restore = _configure_logging(2 if args.debug else args.verbose)
    try:
        args.started = started
        return _run(args, words)
    finally:
        restore()


#: Loggers whose level the verbosity sets: the library's own, then its dependencies' requests.
_LIBRARY_LOGGERS = ("bedrock_batch",)


def _configure_logging(verbosity: int) -> Callable[[], None]:
    """One stderr handler (credentials masked) at the verbosity's levels; returns what puts
    the previous logging back (``main`` may run in-process: tests, notebooks).

    0: warnings; ``-v``: the library's INFO, nothing of botocore or urllib3 (their credential
    and connection lines would come before the library's own); ``-vv`` (or ``--debug``): DEBUG
    everywhere, botocore's and urllib3's request logs included.
    """
    from .._common._redact import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # botocore logs requests (signatures, tokens): never a secret
    secrets = [os.environ.get(k, "") for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]  # fmt: skip
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    library = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]
    before = [(logger, logger.level) for logger in (root, *library)]
    root.setLevel(logging.DEBUG if verbosity >= 2 else logging.WARNING)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    for logger in library:
        logger.setLevel(level)
    handler.setLevel(level)  # loggers that set their own level (werkzeug: INFO) wait for -v
    root.addHandler(handler)

    def restore() -> None:
        root.removeHandler(handler)
        for logger, old in before:
            logger.setLevel(old)

    return restore


def _run(args: argparse.Namespace, words: list[str]) -> int:
    if args.endpoint_url:
        if not _is_url(args.endpoint_url):
            print(f"error: --endpoint-url {args.endpoint_url!r} is not a URL "
                  "(like http://127.0.0.1:4599)", file=sys.stderr)  # fmt: skip
            return EXIT_USAGE
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    args.argv, args.resume, args.resume_same = words, None, False
    if args.func == "serve":
        from ..local._serve_cli import run

        return run(args)  # set by commands that wait: the command that resumes after Ctrl-C
    try:
        from . import _commands as _cli_commands
        from ._doctor import cmd_doctor
        from ._setup import cmd_setup

        command = {"doctor": cmd_doctor, "setup": cmd_setup}.get(args.func)
        command = command or getattr(_cli_commands, "cmd_" + args.func.replace("-", "_"))
        code = int(command(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except KeyboardInterrupt:
        if args.resume_same:  # run: the same command attaches to the batch it submitted
            print("\nstopped waiting; the batch keeps running. Run the same command again to "
                  f"resume it (nothing is sent twice): {args.resume}", file=sys.stderr)  # fmt: skip
        elif args.resume:
            print(f"\nstopped waiting; the batch keeps running. Resume with: {args.resume}", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (| head): say nothing, and keep Python from complaining at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except CliError as err:
        if args.debug:
            raise
        print(f"error: {err}", file=sys.stderr)
        return err.code
    except Exception as err:
        if args.debug:
            raise
        for kind, code in _errors_to_codes():
            if isinstance(err, kind):
                # invalid input: one problem a line (the library shows at most twenty)
                text = str(err).strip() if code == EXIT_INVALID else _one_line(err)
                print(f"error: {text}", file=sys.stderr)
                return code
        print(f"error: {type(err).__name__}: {_one_line(err)} (--debug shows where)", file=sys.stderr)  # fmt: skip
        return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
