"""The ``bedrock-batch`` command line: run a whole job, the demo, and Local Bedrock's server.

Exit codes: 0 success; 2 bad usage; 3 invalid input (nothing was uploaded or created);
4 the job ended Failed, Expired or Stopped; 5 an AWS call failed; 6 waiting timed out;
130 interrupted (the job keeps running).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from ._errors import BatchError, JobFailedError, PollTimeoutError, ServiceError, ValidationError
from ._job import BatchJob
from ._polling import PollConfig
from ._s3uri import S3Uri

__all__ = ["main"]

EXIT_OK, EXIT_USAGE, EXIT_INVALID, EXIT_JOB_FAILED, EXIT_SERVICE, EXIT_TIMEOUT, EXIT_INTERRUPTED = (
    0,
    2,
    3,
    4,
    5,
    6,
    130,
)

DEMO_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
DEMO_ROLE = "arn:aws:iam::123456789012:role/BedrockBatchDemo"
_TOPICS = [
    "仏教", "神道", "茶道", "華道", "書道", "武道", "着物", "和食", "温泉", "桜",
    "富士山", "京都", "歌舞伎", "能楽", "相撲", "俳句", "祭り", "正月", "庭園", "城",
]  # fmt: skip
_ASPECTS = [
    "儀式の意味", "歴史", "地域による違い", "現代での役割", "作法",
    "代表的な例", "季節との関係", "海外での評価", "よくある誤解", "学び方",
]  # fmt: skip
_ASKS = ["を教えてください。", "を簡単に説明してください。", "を初心者向けに解説してください。",
         "を三つのポイントでまとめてください。", "を歴史的な背景とともに説明してください。"]  # fmt: skip


def demo_questions(n: int = 1000) -> Iterator[tuple[str, dict[str, str], str]]:
    """(record id, key, question): generated questions about Japan, as in the walkthrough."""
    count = 0
    for ask in _ASKS:
        for aspect in _ASPECTS:
            for topic in _TOPICS:
                if count >= n:
                    return
                count += 1
                yield (
                    f"JP{count:04d}",
                    {"topic": topic, "aspect": aspect},
                    f"日本の{topic}における{aspect}{ask}",
                )


def _local(args: argparse.Namespace, **kwargs: Any) -> Any:
    from .local import LocalBedrock

    return LocalBedrock(seed=getattr(args, "seed", 0), **kwargs)


def _make_buckets(session: Any, *uris: str) -> None:
    s3 = session.client("s3")
    for uri in uris:
        try:
            bucket = S3Uri.parse(uri).bucket
        except ValueError:
            continue  # BatchJob.plan() reports the bad URI with the other problems
        with contextlib.suppress(Exception):
            s3.create_bucket(Bucket=bucket)


def _print_results(job: BatchJob, show: int) -> None:
    for shown, r in enumerate(job.results()):
        if shown >= show:
            break
        print(
            f"\n[{r.record_id}] key={r.key} status={r.status} tokens={r.usage.input_tokens}+{r.usage.output_tokens}"
        )
        print(f"  Q: {_question(r.model_input)}")
        print(f"  A: {(r.text or (r.error and r.error.message) or '')[:160]}")


def _question(model_input: Any) -> str:
    from ._schemas import input_text

    return input_text(model_input).strip()[:160]


def cmd_demo(args: argparse.Namespace) -> int:
    """The walkthrough: 1,000 questions about Japan to Claude 3 Haiku on embedded Local Bedrock."""
    with _local(args) as local:
        session = local.session()
        _make_buckets(session, "s3://demo-bucket/")
        job = BatchJob(
            DEMO_MODEL,
            DEMO_ROLE,
            "s3://demo-bucket/batch/input/",
            "s3://demo-bucket/batch/output/",
            session=session,
            poll=PollConfig(initial=0.05, max_interval=0.25, jitter=0.05),
        )
        for record_id, key, question in demo_questions(args.records):
            job.add_prompt(question, max_tokens=1024, record_id=record_id, key=key)
        print("Plan:", job.plan(), sep="\n")
        desc = job.submit()
        print(f"\nSubmitted {desc.job_arn}")
        job.wait(progress=not args.quiet)
        print("\nSummary:", job.summary(), sep="\n")
        _print_results(job, args.show)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run a whole job from a JSONL file and write the joined results."""
    stack = contextlib.ExitStack()
    with stack:
        session = None
        if args.local:
            local = stack.enter_context(_local(args))
            session = local.session()
            _make_buckets(session, args.input_uri, args.output_uri)
        else:
            import boto3

            session = boto3.Session(region_name=args.region, profile_name=args.profile)
        job = BatchJob(
            args.model,
            args.role,
            args.input_uri,
            args.output_uri,
            session=session,
            invocation_type=args.invocation_type,
            job_name=args.job_name,
            timeout_hours=args.timeout_hours,
            poll=PollConfig(initial=0.05, max_interval=0.25, jitter=0.05) if args.local else None,
        )
        job.add_jsonl(args.input)
        plan = job.plan()
        print(plan, file=sys.stderr)
        desc = job.submit()
        print(f"submitted {desc.job_arn}", file=sys.stderr)
        if args.no_wait:
            print(json.dumps({"jobArn": desc.job_arn}))
            return EXIT_OK
        job.wait(progress=not args.quiet)
        counts = job.results().to_jsonl(args.output)
        summary = job.summary()
        if args.json:
            print(
                json.dumps(
                    {
                        "jobArn": desc.job_arn,
                        "output": args.output,
                        "counts": counts,
                        "consistent": summary.consistent,
                    }
                )
            )
        else:
            print(summary)
            print(f"wrote {sum(counts.values())} results to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve Local Bedrock on one loopback endpoint until interrupted."""
    from .local import Faults, Quotas

    base = Quotas.legacy_2024() if args.legacy_quotas else Quotas()
    overrides = {
        "min_records_per_job": args.min_records,
        "max_records_per_job": args.max_records_per_job,
        "max_records_per_file": args.max_records_per_file,
        "max_concurrent_jobs": args.max_concurrent_jobs,
    }
    quotas = attrs.evolve(base, **{k: v for k, v in overrides.items() if v is not None})
    faults = Faults(
        throttle_rate=args.throttle_rate,
        server_error_rate=args.server_error_rate,
        record_error_rate=args.record_error_rate,
    )
    local = _local(args, time_scale=args.time_scale, default_quotas=quotas, faults=faults)
    server = local.serve(host=args.host, port=args.port)
    print(
        f"Local Bedrock on {server.endpoint_url} — export AWS_ENDPOINT_URL={server.endpoint_url}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bedrock-batch",
        description="Amazon Bedrock batch inference, end to end.",
        epilog="examples:\n  bedrock-batch demo\n  bedrock-batch run questions.jsonl --local --model "
        f"{DEMO_MODEL} --role {DEMO_ROLE} --input-uri s3://b/in/ --output-uri s3://b/out/\n"
        "  bedrock-batch local serve --port 4566",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="the walkthrough on an embedded Local Bedrock")
    d.add_argument("--records", type=int, default=1000)
    d.add_argument("--show", type=int, default=3, help="joined results to print")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="no progress bar")
    d.set_defaults(func=cmd_demo)

    r = sub.add_parser(
        "run", help="run a whole job from a JSONL file of {recordId, modelInput} lines"
    )
    r.add_argument("input", help="JSONL file")
    r.add_argument("--model", required=True)
    r.add_argument("--role", required=True, help="service role ARN")
    r.add_argument("--input-uri", required=True)
    r.add_argument("--output-uri", required=True)
    r.add_argument(
        "--output", default="results.jsonl", help="where joined results go (default results.jsonl)"
    )
    r.add_argument("--invocation-type", default="InvokeModel", choices=["InvokeModel", "Converse"])
    r.add_argument("--job-name")
    r.add_argument("--timeout-hours", type=int)
    r.add_argument("--region")
    r.add_argument("--profile")
    r.add_argument("--local", action="store_true", help="run on an embedded Local Bedrock")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--no-wait", action="store_true", help="submit and print the job ARN")
    r.add_argument("--json", action="store_true", help="machine-readable output")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_run)

    loc = sub.add_parser("local", help="Local Bedrock")
    lsub = loc.add_subparsers(dest="local_command", required=True)
    s = lsub.add_parser(
        "serve", help="serve S3, Bedrock, bedrock-runtime and Service Quotas on one endpoint"
    )
    s.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    s.add_argument("--port", type=int, default=4566)
    s.add_argument(
        "--time-scale", type=float, default=1000.0, help="emulated seconds per real second"
    )
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--legacy-quotas",
        action="store_true",
        help="the 2024 quotas (1,000 min, 200 MB/file, 1 GB/job, 3 jobs)",
    )
    s.add_argument("--min-records", type=int, help="minimum records per job (default 100)")
    s.add_argument("--max-records-per-job", type=int, help="default 50,000")
    s.add_argument("--max-records-per-file", type=int, help="default 50,000")
    s.add_argument("--max-concurrent-jobs", type=int, help="default 20")
    s.add_argument("--throttle-rate", type=float, default=0.0)
    s.add_argument("--server-error-rate", type=float, default=0.0)
    s.add_argument("--record-error-rate", type=float, default=0.0)
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``bedrock-batch`` console script."""
    args = _parser().parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except ValidationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INVALID
    except JobFailedError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_JOB_FAILED
    except ServiceError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_SERVICE
    except PollTimeoutError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_TIMEOUT
    except BatchError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_SERVICE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
