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


def _session(args: argparse.Namespace) -> Any:
    import boto3

    return boto3.Session(region_name=args.region, profile_name=args.profile)


def _out(args: argparse.Namespace, data: Any, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, default=str) if args.json else text)


def _status_dict(status: Any) -> dict[str, Any]:
    return {
        "status": status.status,
        "jobArns": status.job_arns,
        "pending": status.pending,
        "totalRecordCount": status.total_records,
        "processedRecordCount": status.processed_records,
        "successRecordCount": status.succeeded_records,
        "errorRecordCount": status.errored_records,
        "message": status.message,
    }


def _status_text(status: Any) -> str:
    lines = [
        f"{status.status}: {status.processed_records or 0}/{status.total_records or 0} records, {status.errored_records or 0} errors"
    ]
    lines += [
        f"  {j.job_arn}  {j.status}  {j.processed_records or 0}/{j.total_records or 0}"
        for j in status.jobs
    ]
    if status.pending:
        lines.append(f"  {status.pending} job(s) waiting for a free slot")
    if status.message:
        lines.append(f"  message: {status.message}")
    return "\n".join(lines)


def _build_job(args: argparse.Namespace, session: Any) -> BatchJob:
    fast = (
        PollConfig(initial=0.05, max_interval=0.25, jitter=0.05)
        if getattr(args, "local", False)
        else None
    )
    job = BatchJob(
        args.model,
        args.role,
        args.input_uri,
        args.output_uri,
        session=session,
        invocation_type=args.invocation_type,
        job_name=args.job_name,
        timeout_hours=args.timeout_hours,
        mode=args.mode,
        poll=fast,
    )
    job.add_jsonl(args.input)
    return job


def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "status": summary.status,
        "records": summary.total,
        "succeeded": summary.succeeded,
        "errored": summary.errored,
        "missing": summary.missing,
        "inputTokens": summary.usage.input_tokens,
        "outputTokens": summary.usage.output_tokens,
        "costUsd": summary.cost_usd,
        "consistent": summary.consistent,
        "discrepancies": list(summary.discrepancies),
        "anomalies": [str(a) for a in summary.anomalies],
    }


def cmd_run(args: argparse.Namespace) -> int:
    """Run a whole job from a JSONL file and write the joined results."""
    with contextlib.ExitStack() as stack:
        if args.local:
            local = stack.enter_context(_local(args))
            session = local.session()
            _make_buckets(session, args.input_uri, args.output_uri)
        else:
            session = _session(args)
        job = _build_job(args, session)
        print(job.plan(), file=sys.stderr)
        status = job.submit()
        print(f"submitted {', '.join(status.job_arns) or 'on demand'}", file=sys.stderr)
        if args.no_wait:
            print(json.dumps({"jobArns": status.job_arns}))
            return EXIT_OK
        job.wait(progress=not args.quiet)
        counts = job.results().to_jsonl(args.output)
        summary = job.summary()
        if args.json:
            print(
                json.dumps(
                    {
                        "jobArn": status.job_arn,
                        "jobArns": job.job_arns,
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


def cmd_plan(args: argparse.Namespace) -> int:
    """Check a JSONL file and the job parameters; print what submit would do."""
    plan = _build_job(args, _session(args)).plan()
    data = {
        "mode": plan.mode,
        "records": plan.records,
        "bytes": plan.bytes,
        "jobs": [
            {"name": p.job_name, "records": p.records, "files": len(p.shards), "input": p.input_uri}
            for p in plan.parts
        ],
        "quotas": attrs.asdict(plan.quotas),
        "quotaSource": plan.quota_source,
        "estimatedInputTokens": plan.estimated_input_tokens,
        "maxOutputTokens": plan.max_output_tokens,
        "costUsd": {
            "batch": plan.cost.batch,
            "onDemand": plan.cost.on_demand,
            "pricesAsOf": plan.cost.prices_as_of,
        },
    }
    _out(args, data, str(plan))
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    """Upload a JSONL file and create the job(s); prints the job ARNs."""
    status = _build_job(args, _session(args)).submit()
    _out(args, _status_dict(status), "\n".join(status.job_arns) or "answered on demand")
    return EXIT_OK


def _attach(args: argparse.Namespace) -> BatchJob:
    return BatchJob.attach(args.job_arn, session=_session(args))


def cmd_status(args: argparse.Namespace) -> int:
    """Show a batch's status (any of its job ARNs)."""
    status = _attach(args).describe()
    _out(args, _status_dict(status), _status_text(status))
    return EXIT_OK


def cmd_wait(args: argparse.Namespace) -> int:
    """Wait for a batch to end."""
    status = _attach(args).wait(progress=not args.quiet and not args.json, timeout=args.timeout)
    _out(args, _status_dict(status), _status_text(status))
    return EXIT_OK


def cmd_results(args: argparse.Namespace) -> int:
    """Write a batch's joined results (one JSON line per input record)."""
    job = _attach(args)
    if args.output == "-":
        results = job.results()
        for r in results:
            print(json.dumps(r.to_dict(), ensure_ascii=False, default=str))
        counts = results.counts
    else:
        counts = job.results().to_jsonl(args.output)
        _out(
            args,
            {"output": args.output, "counts": counts},
            f"wrote {sum(counts.values())} results to {args.output}: {counts}",
        )
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop a batch's running jobs (processed records keep their outputs)."""
    job = _attach(args)
    job.stop()
    _out(args, {"stopped": job.job_arns}, f"stopping {', '.join(job.job_arns)}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    """List model invocation jobs, newest first."""
    from ._bedrock import iter_jobs

    bedrock = _session(args).client("bedrock")
    jobs = []
    for n, d in enumerate(iter_jobs(bedrock, status=args.status, name_contains=args.name_contains)):
        if n >= args.max:
            break
        jobs.append(d)
    data = [
        {
            "jobArn": d.job_arn,
            "jobName": d.job_name,
            "status": d.status,
            "modelId": d.model_id,
            "submitTime": d.submit_time,
        }
        for d in jobs
    ]
    text = "\n".join(f"{d.job_arn}  {d.status:<18} {d.job_name}" for d in jobs) or "no jobs"
    _out(args, data, text)
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    """Run a batch's errored and missing records again."""
    job = _attach(args)
    n = job.retry(retryable_only=args.retryable_only)
    if args.wait and n:
        job.wait(progress=not args.quiet and not args.json)
    _out(args, {"retried": n, "jobArns": job.job_arns}, f"retrying {n} record(s)")
    return EXIT_OK


def cmd_attach(args: argparse.Namespace) -> int:
    """Show what a batch holds: its jobs, records and summary."""
    job = _attach(args)
    summary = job.summary()
    _out(args, {"jobArns": job.job_arns, **_summary_dict(summary)}, str(summary))
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    """Print the service role's trust and permissions policies and the caller's policy."""
    from .iam import policies

    docs = policies(
        args.model,
        args.input_uri,
        args.output_uri,
        account_id=args.account,
        region=args.region or "us-east-1",
        role_arn=args.role,
        routed_regions=args.routed_region or None,
        kms_key_arn=args.kms_key_arn,
    )
    print(json.dumps(docs if args.json or not args.only else docs[args.only], indent=2))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve Local Bedrock on one loopback endpoint until interrupted."""
    from .local._serve_cli import run

    return run(args)


EXAMPLES = f"""examples:
  bedrock-batch demo                                   # the walkthrough, offline
  bedrock-batch run questions.jsonl --local --model {DEMO_MODEL} \\
      --role {DEMO_ROLE} --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/
  bedrock-batch plan questions.jsonl --model ... --role ... --input-uri ... --output-uri ... --json
  bedrock-batch submit questions.jsonl --model ... --role ... --input-uri ... --output-uri ...
  bedrock-batch status arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456
  bedrock-batch wait ARN && bedrock-batch results ARN --output results.jsonl
  bedrock-batch retry ARN --retryable-only --wait
  bedrock-batch iam-policy --model us.{DEMO_MODEL} --account 123456789012 \\
      --region us-east-1 --input-uri s3://my-bucket/in/ --output-uri s3://my-bucket/out/
  bedrock-batch local serve --port 4566                # then AWS_ENDPOINT_URL=http://127.0.0.1:4566

exit codes: 0 ok, 2 bad usage, 3 invalid input (nothing uploaded or created), 4 a job ended
Failed/Expired/Stopped, 5 an AWS call failed, 6 waiting timed out, 130 interrupted
"""


def _job_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help="JSONL file of {recordId, modelInput} lines")
    p.add_argument("--model", required=True, help="model id, inference-profile id or ARN")
    p.add_argument("--role", required=True, help="service role ARN")
    p.add_argument("--input-uri", required=True, help="S3 prefix for the inputs")
    p.add_argument("--output-uri", required=True, help="S3 prefix Bedrock writes to")
    p.add_argument("--invocation-type", default="InvokeModel", choices=["InvokeModel", "Converse"])
    p.add_argument(
        "--mode",
        default="auto",
        choices=["auto", "batch", "on_demand"],
        help="below the minimum: auto runs on demand",
    )
    p.add_argument("--job-name")
    p.add_argument("--timeout-hours", type=int)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help="AWS region (default: the session's)")
    p.add_argument("--profile", help="AWS profile")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--quiet", action="store_true", help="no progress display")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bedrock-batch",
        description="Amazon Bedrock batch inference, end to end. AWS_ENDPOINT_URL is honoured (e.g. Local Bedrock).",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    sub = p.add_subparsers(dest="command", required=True)

    def cmd(name: str, fn: Any, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.set_defaults(func=fn)
        return sp

    d = cmd(
        "demo",
        cmd_demo,
        "the walkthrough (1,000 questions about Japan to Claude 3 Haiku) on an embedded Local Bedrock",
    )
    d.add_argument("--records", type=int, default=1000)
    d.add_argument("--show", type=int, default=3, help="joined results to print")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true", help="no progress bar")

    r = cmd("run", cmd_run, "run a whole batch from a JSONL file and write joined results")
    _job_args(r)
    _common(r)
    r.add_argument(
        "--output", default="results.jsonl", help="where joined results go (default results.jsonl)"
    )
    r.add_argument("--local", action="store_true", help="run on an embedded Local Bedrock")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--no-wait", action="store_true", help="submit and print the job ARNs")

    for name, fn, text in (
        (
            "plan",
            cmd_plan,
            "check a JSONL file and parameters; show what submit would do (no side effects)",
        ),
        ("submit", cmd_submit, "upload and create the job(s); print the job ARNs"),
    ):
        sp = cmd(name, fn, text)
        _job_args(sp)
        _common(sp)

    for name, fn, text in (
        ("status", cmd_status, "show a batch's status"),
        ("stop", cmd_stop, "stop a batch's running jobs"),
        ("attach", cmd_attach, "show a batch's jobs, records and reconciled summary"),
    ):
        sp = cmd(name, fn, text)
        sp.add_argument("job_arn", help="any job ARN of the batch")
        _common(sp)
    w = cmd("wait", cmd_wait, "wait for a batch to end")
    w.add_argument("job_arn")
    w.add_argument("--timeout", type=float, help="seconds")
    _common(w)
    res = cmd("results", cmd_results, "write joined results, one JSON line per input record")
    res.add_argument("job_arn")
    res.add_argument("--output", default="results.jsonl", help="file, or - for stdout")
    _common(res)
    rt = cmd("retry", cmd_retry, "run errored and missing records again")
    rt.add_argument("job_arn")
    rt.add_argument("--retryable-only", action="store_true")
    rt.add_argument("--wait", action="store_true", help="wait for the retry to finish")
    _common(rt)
    ls = cmd("list", cmd_list, "list model invocation jobs, newest first")
    ls.add_argument("--status")
    ls.add_argument("--name-contains")
    ls.add_argument("--max", type=int, default=50)
    _common(ls)
    iam = cmd(
        "iam-policy", cmd_iam_policy, "print the IAM trust and permissions policies a batch needs"
    )
    iam.add_argument("--model", required=True)
    iam.add_argument("--input-uri", required=True)
    iam.add_argument("--output-uri", required=True)
    iam.add_argument("--account", required=True, help="12-digit account id")
    iam.add_argument("--role", help="the service role's ARN (for the caller's iam:PassRole)")
    iam.add_argument(
        "--routed-region", action="append", help="a region the inference profile routes to (repeat)"
    )
    iam.add_argument("--kms-key-arn")
    iam.add_argument(
        "--only", choices=["trust", "permissions", "caller"], help="print one document"
    )
    _common(iam)

    loc = sub.add_parser("local", help="Local Bedrock, the offline emulator")
    lsub = loc.add_subparsers(dest="local_command", required=True)
    s = lsub.add_parser(
        "serve",
        help="serve S3, Bedrock, bedrock-runtime and Service Quotas on one loopback endpoint",
    )
    from .local._serve_cli import add_arguments

    add_arguments(s)
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
