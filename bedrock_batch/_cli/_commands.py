"""The ``bedrock-batch`` commands (parsed by ``_cli``; one function per command)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import re
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import attrs

from .._budget import Budget
from .._common._s3uri import S3Uri
from .._errors import NotFinishedError, PollTimeoutError, ServiceError, StateError
from .._job import BatchJob
from .._lifecycle._polling import PollConfig
from .._pricing import Price
from ._demo import demo_questions, demo_report
from ._errors import (
    EXIT_ENDED,
    EXIT_JOB_FAILED,
    EXIT_NOT_FINISHED,
    EXIT_OK,
    EXIT_SERVICE,
    EXIT_TIMEOUT,
    CliError,
)
from ._examples import DEMO_MODEL, DEMO_ROLE
from ._output import check_output, emit, output_format, table, write_results

__all__: list[str] = []

_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_FILE_KEY = re.compile(r"\.(?:jsonl|json|ndjson|csv|tsv|parquet|txt|out)$", re.IGNORECASE)
_JOB_ID = re.compile(r"[a-z0-9]{12}")

LOCAL_POLL = PollConfig(initial=0.05, max_interval=0.25, jitter=0.02)

# -- sessions, handles, jobs -----------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _models(data_path: str | None) -> Any:
    """botocore's loader of service models for ``data_path`` (``AWS_DATA_PATH``), one per
    path: a program that runs many commands in one process (``main([...])`` from a notebook, a
    scheduler, the test suite) parses botocore's JSON models once, as the emulator does."""
    import botocore.loaders

    return botocore.loaders.create_loader(data_path)


def profile_session(args: argparse.Namespace) -> Any:
    """A boto3 session of ``--profile``/``--region`` (the region may be unset), or a one-line
    error for a profile the AWS config does not have."""
    import boto3
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    try:
        core = botocore.session.Session(profile=args.profile)
        loader = _models(core.get_config_variable("data_path"))
        core.register_component("data_loader", loader)
        session = boto3.Session(region_name=args.region, botocore_session=core)
    except ProfileNotFound as err:
        raise CliError(
            f"the AWS profile {err.kwargs.get('profile')!r} is not in your AWS config "
            "(~/.aws/config); check --profile or AWS_PROFILE"
        ) from None
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 appends its own each time
    return session


def _session(args: argparse.Namespace) -> Any:
    """A boto3 session, or a one-line error naming what is missing."""
    session = profile_session(args)
    if not session.region_name:
        raise CliError("no AWS region: pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
    if not _REGION.fullmatch(session.region_name):
        raise CliError(
            f"{session.region_name!r} is not an AWS region name (like us-east-1): check --region, "
            "AWS_REGION or the profile's region"
        )
    if session.get_credentials() is None:
        raise CliError(
            "no AWS credentials found: run 'aws configure', pass --profile, or export "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    return session


def _local(args: argparse.Namespace, **kwargs: Any) -> Any:
    from ..local import LocalBedrock

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


def _poll(args: argparse.Namespace, base: PollConfig | None = None) -> PollConfig | None:
    interval = getattr(args, "poll_interval", None)
    if interval is None:
        return base
    if interval <= 0:
        raise CliError("--poll-interval must be more than 0 seconds")
    config = base or PollConfig()
    return attrs.evolve(config, initial=interval, max_interval=max(config.max_interval, interval))


def _tags(args: argparse.Namespace) -> dict[str, str]:
    tags = {}
    for item in args.tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--tags takes KEY=VALUE pairs, not {item!r}")
        tags[key] = value
    return tags


def _build_job(
    args: argparse.Namespace, session: Any, *, local: bool = False, write_rejects: bool = True
) -> BatchJob:
    for flag, uri in (("--input-uri", args.input_uri), ("--output-uri", args.output_uri)):
        if uri is not None and _FILE_KEY.search(uri):
            raise CliError(
                f"{flag} {uri} looks like a file, but it is the S3 prefix (folder) the batch "
                f"uses: pass the folder, e.g. {uri.rsplit('/', 1)[0]}/"
            )
    path = Path(args.input)
    if not path.exists():
        raise CliError(f"the input file {args.input} does not exist")
    if path.is_dir():
        raise CliError(f"{args.input} is a folder; pass a file (JSONL, CSV, Parquet or text)")
    job = BatchJob(
        args.model, args.role, args.input_uri, args.output_uri, session=session,
        invocation_type=args.invocation_type, job_name=args.job_name,
        timeout_hours=args.timeout_hours, mode=args.mode, tags=_tags(args) or None,
        allow_unknown_model=args.allow_unknown_model, max_cost_usd=args.max_cost,
        prices=_prices(args, args.model), poll=_poll(args, LOCAL_POLL if local else None),
        dedupe=args.dedupe, reuse=args.reuse,
    )  # fmt: skip
    from ._inputs import add_input

    try:
        refused = add_input(job, path, args)
    except (OSError, UnicodeDecodeError) as err:
        job.close()
        raise CliError(f"cannot read {args.input}: {err}") from None
    except BaseException:
        job.close()
        raise
    rejected = [*job.rejected, *refused]
    if rejected and write_rejects:
        _write_rejects(rejected, Path(args.rejects_output or f"{args.input}.rejected.jsonl"))
    elif rejected:
        print(f"{len(rejected)} invalid line(s) would be skipped", file=sys.stderr)
    return job


def _write_rejects(rejected: list[Any], target: Path) -> None:
    """The refused lines, one JSON object each; a one-line note on stderr."""
    rows = [
        {
            "line": p.line,
            "recordId": p.record_id,
            "key": p.key,
            "field": p.field,
            "message": p.message,
        }
        for p in rejected
    ]
    try:
        target.write_text("".join(json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows))  # fmt: skip
    except OSError as err:
        raise CliError(f"cannot write the list of refused lines to {target}: {err}") from None
    print(f"skipped {len(rows)} invalid line(s); the list is in {target}", file=sys.stderr)


_HANDLE = re.compile(r"^(arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:model-invocation-job/\S+|s3://\S+)$")  # fmt: skip


def _prices(args: argparse.Namespace, model_id: str) -> dict[str, Price] | None:
    """``--price IN,OUT`` as the job's price table for ``model_id``."""
    given = getattr(args, "price", None)
    return None if not given else {model_id: Price(*given)}


def _attach(args: argparse.Namespace) -> BatchJob:
    if _JOB_ID.fullmatch(args.handle):  # a bare job id: Bedrock knows its ARN
        session = _session(args)
        try:
            found = session.client("bedrock").get_model_invocation_job(jobIdentifier=args.handle)
        except Exception as err:
            if "ResourceNotFound" not in type(err).__name__ + str(err):
                raise
            raise CliError(
                f"no model invocation job {args.handle!r} in {session.region_name}: check the "
                "id and --region, or pass the job ARN or the state URI that submit printed"
            ) from None
        args.handle = found["jobArn"]
    if not _HANDLE.match(args.handle):
        raise CliError(
            f"{args.handle!r} is not a batch handle: pass a job ARN "
            "(arn:aws:bedrock:REGION:ACCOUNT:model-invocation-job/ID), its 12-character job id, "
            "or the state URI (s3://…/bedrock-batch.json) that submit printed"
        )
    if args.handle.startswith("arn:"):
        region = args.handle.split(":")[3]
        if args.region and args.region != region:
            raise CliError(
                f"the handle is a job in {region}, but --region is {args.region}: "
                "drop --region or pass the job's region"
            )
        args.region = region  # a job ARN names its region: use it
    try:
        cap = getattr(args, "max_cost", None)
        job = BatchJob.attach(args.handle, session=_session(args), poll=_poll(args), max_cost_usd=cap)  # fmt: skip
        prices = _prices(args, job.model_id)  # the model is known once attached
        if prices:
            job.prices = prices
            job.budget = Budget.of(cap, prices)
        return job
    except StateError as err:
        if type(err) is not StateError or not args.handle.startswith("s3://"):
            raise
        raise CliError(
            f"no batch was submitted at {args.handle} ({err}): plan only shows where the state "
            "would be; submit or run sends the batch"
        ) from None


def _handle_of(job: BatchJob) -> str:
    return job.state_uri or job.job_arn or "?"


def _wait(args: argparse.Namespace, job: BatchJob, **kwargs: Any) -> Any:
    if not args.resume:  # run sets its own: the same command
        args.resume = f"bedrock-batch wait {_handle_of(job)}"
    timeout = kwargs.get("timeout")
    if timeout is not None and timeout <= 0:
        raise CliError("--timeout must be more than 0 seconds")
    if timeout is not None:  # the deadline counts from the command's start, as its user sees it
        kwargs["timeout"] = max(0.001, timeout - (time.monotonic() - args.started))
    try:
        return job.wait(progress=not args.quiet and not args.json, **kwargs)
    except PollTimeoutError as err:
        raise CliError(
            f"gave up waiting after {err.waited:.0f}s (last status {err.status}); the batch keeps "
            f"running: '{args.resume}' picks it up again",
            EXIT_TIMEOUT,
        ) from None


def _submit(args: argparse.Namespace, job: BatchJob) -> Any:
    """``job.submit()``; a missing bucket is named in one line."""
    try:
        return job.submit()
    except ServiceError as err:
        if err.code != "NoSuchBucket":
            raise
        buckets = sorted({S3Uri.parse(job.input_uri).bucket, S3Uri.parse(job.output_uri).bucket})
        raise CliError(
            f"the S3 bucket {' or '.join(buckets)} does not exist (--input-uri, --output-uri): "
            "create it first",
            EXIT_SERVICE,
        ) from None


def _submitted_before(session: Any, state_uri: str) -> bool:
    """True when a batch of this content was submitted before (its ledger is there): submit
    attaches to it instead of sending anything again."""
    from botocore.exceptions import ClientError

    uri = S3Uri.parse(state_uri)
    try:
        session.client("s3").head_object(Bucket=uri.bucket, Key=uri.key)
    except ClientError:
        return False
    return True


def _buckets_exist(job: BatchJob, session: Any) -> None:
    """The buckets of --input-uri and --output-uri exist (as submit would find out)."""
    from botocore.exceptions import ClientError

    s3 = session.client("s3")
    for uri in (job.input_uri, job.output_uri):
        try:
            bucket = S3Uri.parse(uri).bucket
        except ValueError:
            continue  # BatchJob.plan() reports the bad URI with the other problems
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
                raise CliError(
                    f"the S3 bucket {bucket} does not exist (--input-uri, --output-uri): "
                    "create it first",
                    EXIT_SERVICE,
                ) from None
            # 403 and the like: submit will say; plan stays a dry run


def _not_finished(err: NotFinishedError) -> CliError:
    """The library's NotFinishedError in the CLI's words."""
    so_far = (
        f"{err.processed or 0} of {err.total} records answered so far"
        if err.total
        else "no records answered yet"
    )
    return CliError(
        f"the batch is {err.status}: {so_far}; --partial reads them anyway", EXIT_NOT_FINISHED
    )


# -- status rendering --------------------------------------------------------------------------


def _status_dict(status: Any, handle: str | None = None) -> dict[str, Any]:
    return {
        "handle": handle,
        "status": status.status,
        "jobArns": status.job_arns,
        "pendingJobs": status.pending,
        "totalRecordCount": status.total_records,
        "processedRecordCount": status.processed_records,
        "successRecordCount": status.succeeded_records,
        "errorRecordCount": status.errored_records,
        "message": status.message,
        "jobs": [
            {"jobArn": j.job_arn, "status": j.status, "superseded": j.job_arn in status.superseded,
             "totalRecordCount": j.total_records, "processedRecordCount": j.processed_records}
            for j in status.jobs
        ],
    }  # fmt: skip


def _status_text(status: Any, handle: str | None = None) -> str:
    from .._lifecycle._status import status_text

    return status_text(status, handle)


def _summary_dict(summary: Any) -> dict[str, Any]:
    return {
        "status": summary.status,
        "records": summary.total,
        "succeeded": summary.succeeded,
        "errored": summary.errored,
        "missing": summary.missing,
        "rejected": summary.rejected,
        "deduplicated": summary.deduplicated,
        "reused": summary.reused,
        "inputTokens": summary.usage.input_tokens,
        "outputTokens": summary.usage.output_tokens,
        "costUsd": summary.cost_usd,
        "consistent": summary.consistent,
        "discrepancies": list(summary.discrepancies),
        "anomalies": [str(a) for a in summary.anomalies],
    }


def _plan_dict(plan: Any) -> dict[str, Any]:
    return {
        "modelId": plan.model_id,
        "mode": plan.mode,
        "records": plan.records,
        "bytes": plan.bytes,
        "stateUri": plan.state_uri,
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
        "costCap": plan.budget,
        "deduplicated": plan.deduplicated,
        "reused": plan.reused,
    }


# -- commands ----------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    """The walkthrough on an embedded Local Bedrock (answers are synthetic)."""
    with _local(args, time_scale=args.time_scale) as local:
        session = local.session()
        inputs, outputs = "s3://demo-bucket/batch/input/", "s3://demo-bucket/batch/output/"
        _make_buckets(session, inputs)
        job = BatchJob(DEMO_MODEL, DEMO_ROLE, inputs, outputs, session=session, poll=LOCAL_POLL)
        for record_id, key, question in demo_questions(args.records):
            job.add_prompt(question, max_tokens=1024, record_id=record_id, key=key)
        print(
            "Local Bedrock, in this process: no AWS account, no network, no cost. "
            "The answers are synthetic (generated, not from Claude).\n"
        )
        print("Plan:", job.plan(), sep="\n")
        job.submit()
        print(
            f"\nSubmitted {job.job_arn or 'on demand'}\n  inputs   {inputs}\n  outputs  {outputs}"
        )
        job.wait(progress=not args.quiet)
        print(demo_report(job, args.show))
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Run a whole job from a JSONL file and write the joined results."""
    fmt = output_format(args.output, args.format)
    check_output(args.output, force=args.force)
    with contextlib.ExitStack() as stack:
        if args.local:
            local = stack.enter_context(_local(args))
            session = local.session()
        else:
            session = _session(args)
        job = stack.enter_context(_build_job(args, session, local=args.local))
        plan = job.plan()  # the role and prefixes are known from here (given or defaults)
        if args.local:
            _make_buckets(session, job.input_uri, job.output_uri)
        print(plan, file=sys.stderr)
        # from here on, the same command picks the batch up again (its ledger is written first)
        args.resume, args.resume_same = "bedrock-batch " + shlex.join(args.argv), True
        again = _submitted_before(session, plan.state_uri)
        status = _submit(args, job)
        handle = _handle_of(job)
        print(f"{'resumed' if again else 'submitted'}: {handle}", file=sys.stderr)
        if args.no_wait:
            emit(args.json, _status_dict(status, handle), handle)
            return EXIT_OK
        _wait(args, job)
        counts = write_results(job.results(), args.output, fmt, force=args.force, order=args.order)
        summary = job.summary()
        data = {"handle": handle, "jobArns": job.job_arns, "output": args.output,
                "counts": counts, "deduplicated": summary.deduplicated, "reused": summary.reused,
                "consistent": summary.consistent}  # fmt: skip
        emit(args.json, data, str(summary))
        if not args.json:
            print(f"wrote {sum(counts.values())} results to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    """Check a JSONL file and the job parameters; print what submit would do."""
    session = _session(args)
    with _build_job(args, session, write_rejects=False) as job:
        plan = job.plan()
        _buckets_exist(job, session)
    emit(args.json, _plan_dict(plan), str(plan))
    return EXIT_OK


def cmd_submit(args: argparse.Namespace) -> int:
    """Upload a JSONL file and create the job(s); prints the batch's handle."""
    with _build_job(args, _session(args)) as job:
        status = _submit(args, job)
    handle = _handle_of(job)
    text = table([("handle", handle), *(("job", a) for a in status.job_arns)])
    if not status.job_arns:
        text += "\n(answered on demand: no Bedrock job; use the handle with status and results)"
    emit(args.json, _status_dict(status, handle), text)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    """Show a batch's status."""
    job = _attach(args)
    status = job.describe()
    emit(args.json, _status_dict(status, _handle_of(job)), _status_text(status, _handle_of(job)))
    return EXIT_OK


def cmd_wait(args: argparse.Namespace) -> int:
    """Wait for a batch to end."""
    job = _attach(args)
    status = _wait(args, job, timeout=args.timeout, raise_on_failure=False)
    emit(args.json, _status_dict(status, _handle_of(job)), _status_text(status, _handle_of(job)))
    if status.failures or status.stopped_early:  # stopped with records never run: exit 4 too
        why = status.failures[0].message or status.failures[0].job_arn if status.failures else status.message  # fmt: skip
        print(f"error: the batch ended {status.status}: {why}; "
              f"'bedrock-batch retry {_handle_of(job)}' runs the rest", file=sys.stderr)  # fmt: skip
        return EXIT_JOB_FAILED
    return EXIT_OK


def cmd_results(args: argparse.Namespace) -> int:
    """Write a batch's joined results."""
    fmt = output_format(args.output, args.format)
    check_output(args.output, force=args.force)
    job = _attach(args)
    try:
        results = job.results(partial=args.partial)
    except NotFinishedError as err:
        raise _not_finished(err) from None
    counts = write_results(results, args.output, fmt, force=args.force, order=args.order)
    if args.output != "-":
        text = f"wrote {sum(counts.values())} results to {args.output}\n" + table(
            sorted(counts.items())
        )
        emit(args.json, {"output": args.output, "format": fmt, "counts": counts}, text)
    return EXIT_OK


def cmd_summary(args: argparse.Namespace) -> int:
    """Print a batch's reconciled summary."""
    try:
        summary = _attach(args).summary(partial=args.partial)
    except NotFinishedError as err:
        raise _not_finished(err) from None
    emit(args.json, _summary_dict(summary), str(summary))
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    """Stop a batch's running jobs (processed records keep their outputs)."""
    job = _attach(args)
    status = job.describe()
    if status.is_terminal:
        raise CliError(f"the batch already ended ({status.status}); there is nothing to stop",
                       EXIT_ENDED)  # fmt: skip
    stopped = job.stop()
    text = "stopping " + (", ".join(stopped) or "the batch (no job was running yet)")
    emit(args.json, {"handle": _handle_of(job), "stopping": stopped}, text)
    return EXIT_OK


def _iso(value: Any, timespec: str = "auto") -> Any:
    """A time as ISO 8601 (``2026-12-03T09:02:46+00:00``); anything else unchanged."""
    return value.isoformat(timespec=timespec) if hasattr(value, "isoformat") else value


def cmd_list(args: argparse.Namespace) -> int:
    """List model invocation jobs, newest first."""
    from .._common._bedrock import iter_jobs

    bedrock = _session(args).client("bedrock")
    jobs = []
    for n, d in enumerate(iter_jobs(bedrock, status=args.status, name_contains=args.name_contains)):
        if n >= args.max:
            break
        jobs.append(d)
    data = [
        {"jobArn": d.job_arn, "jobName": d.job_name, "status": d.status, "modelId": d.model_id,
         "submitTime": _iso(d.submit_time)}
        for d in jobs
    ]  # fmt: skip
    rows = [(d.job_arn, d.status, d.job_name, _iso(d.submit_time, "seconds")) for d in jobs]
    text = table(rows, ("JOB ARN", "STATUS", "NAME", "SUBMITTED")) if rows else "no jobs"
    emit(args.json, data, text)
    return EXIT_OK


def cmd_retry(args: argparse.Namespace) -> int:
    """Run a batch's errored and missing records again."""
    job = _attach(args)
    status = job.describe()
    if not status.is_terminal:
        raise CliError(
            f"the batch is {status.status}; wait for it to end before retrying "
            f"('bedrock-batch wait {_handle_of(job)}')",
            EXIT_NOT_FINISHED,
        )
    _say_non_retryable(job, args.include_non_retryable)
    n = job.retry(
        retryable_only=args.retryable_only, include_non_retryable=args.include_non_retryable
    )
    if args.wait and n:
        _wait(args, job)
    emit(args.json, {"handle": _handle_of(job), "retried": n, "jobArns": job.job_arns},
         f"retrying {n} record(s); handle {_handle_of(job)}" if n else "nothing to retry: every record succeeded")  # fmt: skip
    return EXIT_OK


def _say_non_retryable(job: BatchJob, included: bool) -> None:
    """Before sending: how many errored records are not retryable, and what becomes of them."""
    from .._reader._reader import not_retryable

    n = sum(
        1 for r in job.results(partial=True) if r.status == "errored" and not_retryable(r.error)
    )
    if not n:
        return
    what = f"{n} errored record(s) are not retryable (retryable=false, or a 4xx error other than 408/429)"  # fmt: skip
    if included:
        print(f"{what}: sending them again (--include-non-retryable); they are paid for again "
              "and may fail the same way", file=sys.stderr)  # fmt: skip
    else:
        print(f"{what}: left out, as they would fail the same way and be paid for again; "
              "--include-non-retryable sends them too", file=sys.stderr)  # fmt: skip


def cmd_attach(args: argparse.Namespace) -> int:
    """Show what a batch holds: its jobs, status, and summary once ended."""
    job = _attach(args)
    status = job.describe()
    data: dict[str, Any] = _status_dict(status, _handle_of(job))
    text = _status_text(status, _handle_of(job))
    if status.is_terminal:
        summary = job.summary()
        data.update(_summary_dict(summary))
        text += "\n\n" + str(summary)
    emit(args.json, data, text)
    return EXIT_OK


def cmd_iam_policy(args: argparse.Namespace) -> int:
    """Print the IAM policies."""
    from ._iam import iam_policy

    return iam_policy(args)
