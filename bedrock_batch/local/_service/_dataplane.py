"""The data plane: read a job's inputs from S3, answer its records, write its outputs to S3.

- **Validating** (:meth:`DataPlane.stage`): every ``.jsonl`` under the input URI is streamed to
  a local temporary file and checked line by line (a JSON object with a ``modelInput`` object
  and an optional string ``recordId``), against the file and job quotas. Memory does not grow
  with file size.
- **InProgress** (:meth:`DataPlane.process`): records are answered in order and written
  through a bounded shuffle buffer to temporary ``.out`` files. Each line is parsed once.
- **End** (:meth:`DataPlane.write_outputs`): ``{output}/{jobId}/{input}.out`` per input file
  and one ``manifest.json.out``.

Nothing of S3 is emulated: reads and writes go through a boto3 S3 client. Nothing here takes
the backend's lock; the backend calls in from its worker and commits the results.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import random
import tempfile
import zlib
from collections.abc import Callable, Iterator
from json.encoder import encode_basestring
from typing import Any
from zlib import crc32

import attrs
from botocore.exceptions import ClientError

from .._config import FaultEvent, Faults, Quotas
from .._encoding import ENCODER
from .._families._answers import Answerer
from .._families._context import RecordContext, RecordError
from .._families._schema_instances import INVALID_BIT
from .._families._usage import cache_tokens
from .._s3 import S3Location, split_s3_uri
from ._lifecycle import Job
from ._work import JobWork, StagedFile

__all__ = ["DataPlane", "JobWork", "StageFailure", "Tally"]

_NOT_FOUND = frozenset({"404", "NoSuchKey", "NotFound"})
_RID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Records allocate many short-lived, acyclic objects that reference counting frees:
    pausing the cyclic garbage collector meanwhile makes reading and answering them faster."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StageFailure(Exception):
    """Validation failed: the job ends Failed with this message."""


@attrs.frozen
class Tally:
    """What one slice of processing did."""

    processed: int = 0
    success: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


def _check_line(line: bytes, line_no: int, key: str) -> None:
    try:
        obj = json.loads(line)
    except ValueError:
        reason = "the line is not valid JSON"
    else:
        if not isinstance(obj, dict):
            reason = "the line is not a JSON object"
        elif not isinstance(obj.get("modelInput"), dict):
            reason = "the record has no modelInput object"
        elif obj.get("recordId") is not None and not isinstance(obj["recordId"], str):
            reason = "recordId must be a string"
        else:
            return
    raise StageFailure(f"The input file {key} has an invalid record at line {line_no}: {reason}")


def _draw(seed: object, job_id: str, record_id: str) -> float:
    """A uniform draw in [0, 1) for one record of one job: a real hash (blake2b), so the draws
    of two jobs are independent (CRC32 is affine: jobs whose ids have the same length picked
    almost the same records, and a retry job failed the records its parent failed)."""
    digest = hashlib.blake2b(f"{seed}:{job_id}:{record_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def input_folder(job: Job) -> str:
    """The job's input location as a folder (a single ``.jsonl`` object's folder)."""
    uri = str(job.request["inputDataConfig"]["s3InputDataConfig"]["s3Uri"])
    if uri.endswith(".jsonl"):
        return uri.rsplit("/", 1)[0] + "/"
    return uri if uri.endswith("/") else uri + "/"


class DataPlane:
    """Reads inputs, answers records and writes outputs through a boto3 S3 client."""

    def __init__(
        self,
        *,
        s3: Callable[[], Any],
        answerer: Answerer,
        faults: Faults,
        seed: int,
        output_paths: str,
        shuffle_window: int,
        linked_content_in_folder: bool = True,
    ) -> None:
        self._s3 = s3
        #: Refuse a record linking an object outside its job's input folder (facts §1).
        self.linked_content_in_folder = linked_content_in_folder
        self.answerer = answerer
        self.faults = faults
        self.seed = seed
        self.output_paths = output_paths
        self.shuffle_window = max(1, shuffle_window)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None  # made by the first job

    def close(self) -> None:
        """Delete every temporary file."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _scratch(self) -> str:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="local-bedrock-")
        return self._tmp.name

    # -- Validating ------------------------------------------------------------------------

    def stage(self, job: Job, quota: Quotas) -> JobWork:
        """Check and copy the inputs (raises :class:`StageFailure` with the job's message)."""
        in_cfg = job.request["inputDataConfig"]["s3InputDataConfig"]
        out_cfg = job.request["outputDataConfig"]["s3OutputDataConfig"]
        source = split_s3_uri(in_cfg["s3Uri"])
        owner = in_cfg.get("s3BucketOwner")
        try:
            target = split_s3_uri(out_cfg["s3Uri"])
            extra = (
                {"ExpectedBucketOwner": out_cfg["s3BucketOwner"]}
                if out_cfg.get("s3BucketOwner")
                else {}
            )
            self._s3().head_bucket(Bucket=target.bucket, **extra)
            files = self._list_inputs(source, owner)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            raise StageFailure(
                f"Unable to access the S3 location for input or output data ({code}). Check that the service role can read the input location and write to the output location."
            ) from err
        if not files:
            raise StageFailure(
                f"No .jsonl files were found at the input location {in_cfg['s3Uri']}."
            )
        name = job.model.display_name
        tmpdir = tempfile.mkdtemp(dir=self._scratch(), prefix=job.job_id)
        out = split_s3_uri(out_cfg["s3Uri"]).join(job.job_id)
        work = JobWork([], tmpdir, random.Random(f"{self.seed}:{job.job_id}"), self.shuffle_window)
        work.out_bucket, work.out_prefix = out.bucket, out.key
        if out_cfg.get("s3EncryptionKeyId"):
            work.out_extra.update(
                ServerSideEncryption="aws:kms", SSEKMSKeyId=out_cfg["s3EncryptionKeyId"]
            )
        if out_cfg.get("s3BucketOwner"):
            work.out_extra["ExpectedBucketOwner"] = out_cfg["s3BucketOwner"]
        try:
            total_bytes = 0
            for n, (key, rel, size) in enumerate(files):
                if size > quota.max_file_bytes:
                    raise StageFailure(
                        f"The input file {key} is {size} bytes, over the quota of {quota.max_file_bytes} bytes per file for {name}."
                    )
                path = os.path.join(tmpdir, f"in-{n}")
                with _collector_paused():
                    records = self._copy(source.bucket, key, path, owner)
                if records > quota.max_records_per_file:
                    raise StageFailure(
                        f"The input file {key} has {records} records, over the quota of {quota.max_records_per_file} records per file for {name}."
                    )
                work.files.append(StagedFile(key, rel, path, records, out.join(rel + ".out").key))
                total_bytes += size
            total = sum(f.records for f in work.files)
            if total_bytes > quota.max_job_bytes:
                raise StageFailure(
                    f"The job's input is {total_bytes} bytes, over the quota of {quota.max_job_bytes} bytes per job for {name}."
                )
            if total > quota.max_records_per_job:
                raise StageFailure(
                    f"The job has {total} records, over the quota of {quota.max_records_per_job} records per job for {name}."
                )
            if total < quota.min_records_per_job:
                raise StageFailure(
                    f"The job has {total} records, fewer than the minimum of {quota.min_records_per_job} records per batch inference job for {name}."
                )
        except BaseException:
            work.discard()
            raise
        return work

    def _list_inputs(self, uri: S3Location, owner: str | None) -> list[tuple[str, str, int]]:
        """(key, output name relative to {jobId}/, size) of every .jsonl at the input location."""
        s3 = self._s3()
        extra = {"ExpectedBucketOwner": owner} if owner else {}
        if uri.key and not uri.key.endswith("/"):
            try:
                head = s3.head_object(Bucket=uri.bucket, Key=uri.key, **extra)
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") not in _NOT_FOUND:
                    raise
            else:
                if uri.key.endswith(".jsonl"):
                    return [(uri.key, uri.key.rsplit("/", 1)[-1], int(head["ContentLength"]))]
        prefix = uri.key if not uri.key or uri.key.endswith("/") else uri.key + "/"
        found = []
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=uri.bucket, Prefix=prefix, **extra
        ):
            for obj in page.get("Contents", []):
                key = obj["Key"]
                if key.endswith(".jsonl"):
                    rel = (
                        key[len(prefix) :]
                        if self.output_paths == "relative"
                        else key.rsplit("/", 1)[-1]
                    )
                    found.append((key, rel, int(obj["Size"])))
        return sorted(found)

    def _copy(self, bucket: str, key: str, path: str, owner: str | None) -> int:
        extra = {"ExpectedBucketOwner": owner} if owner else {}
        try:
            body = self._s3().get_object(Bucket=bucket, Key=key, **extra)["Body"]
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            raise StageFailure(f"Unable to read the input file {key} ({code}).") from err
        records = line_no = 0
        pending = b""
        with open(path, "wb") as out:
            for chunk in body.iter_chunks(1 << 20):
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                kept = []
                for line in lines:
                    line_no += 1
                    if line.strip():
                        _check_line(line, line_no, key)
                        kept.append(line)
                if kept:
                    kept.append(b"")
                    out.write(b"\n".join(kept))
                    records += len(kept) - 1
            if pending.strip():
                _check_line(pending, line_no + 1, key)
                out.write(pending + b"\n")
                records += 1
        return records

    # -- InProgress ------------------------------------------------------------------------

    def process(self, job: Job, count: int) -> Tally:
        """Answer up to ``count`` records of ``job`` (fewer at the end of its input)."""
        if job.work is None:
            return Tally()
        with _collector_paused():
            return self._process(job, job.work, count)

    def _process(self, job: Job, work: JobWork, count: int) -> Tally:
        encode = ENCODER.encode
        quote = encode_basestring
        decoder = json.JSONDecoder()
        loads = decoder.decode
        answer = self._answer
        processed = success = errors = tokens_in = tokens_out = 0
        caching = self.answerer.batch_cache is not None
        cache_read = cache_write = 0
        for _ in range(count):
            raw = work.next_line()
            if raw is None:
                break
            obj = loads(raw.decode("utf-8"))
            record_id = obj.get("recordId")
            if not isinstance(record_id, str) or not record_id:
                record_id = self._record_id(job, work.line_no)
            body = obj["modelInput"]
            body_json = encode(body)
            try:
                output, used_in, used_out = answer(job, record_id, body, body_json)
            except RecordError as err:
                errors += 1
                error = {
                    "errorCode": err.code,
                    "errorMessage": err.message,
                    "expired": err.expired,
                    "retryable": err.retryable,
                }
                line = f'{{"modelInput":{body_json},"error":{encode(error)},"recordId":{quote(record_id)}}}\n'
            else:
                success += 1
                tokens_in += used_in
                tokens_out += used_out
                if caching:
                    read, write = cache_tokens(loads(output))
                    cache_read += read
                    cache_write += write
                line = f'{{"modelInput":{body_json},"modelOutput":{output},"recordId":{quote(record_id)}}}\n'
            work.emit(line.encode("utf-8"))
            processed += 1
        return Tally(processed, success, errors, tokens_in, tokens_out, cache_read, cache_write)

    def _record_id(self, job: Job, line_no: int) -> str:
        """An 11-character id for a record that has none (format UNVERIFIED)."""
        value = zlib.crc32(f"{self.seed}:{job.job_id}:{line_no}".encode()) * 2654435761 + line_no
        chars = []
        for _ in range(11):
            value, digit = divmod(value, 36)
            chars.append(_RID_ALPHABET[digit])
        return "".join(chars)

    def _answer(self, job: Job, record_id: str, body: Any, body_json: str) -> tuple[str, int, int]:
        """The record's ``modelOutput`` as JSON text, and its input and output tokens."""
        faults = self.faults
        if record_id in faults.record_error_ids:
            faults.log.append(FaultEvent("record_error", job_id=job.job_id, record_id=record_id))
            raise RecordError(400, "Injected record error.")
        if faults.record_error_rate or faults.retryable_record_error_rate:
            draw = _draw(self.seed, job.job_id, record_id)
            if draw < faults.record_error_rate:
                faults.log.append(
                    FaultEvent("record_error", job_id=job.job_id, record_id=record_id)
                )
                raise RecordError(400, "Injected record error.")
            if draw < faults.record_error_rate + faults.retryable_record_error_rate:
                faults.log.append(
                    FaultEvent("retryable_record_error", job_id=job.job_id, record_id=record_id)
                )
                raise RecordError(
                    429, "Too many tokens, please wait before trying again.", retryable=True
                )
        answerer = self.answerer
        family = answerer.family(job.model, job.invocation_type)
        folder = input_folder(job) if self.linked_content_in_folder else None
        answerer.check(
            job.model, job.invocation_type, body, bucket=job.input_bucket, on_demand=False,
            folder=folder,
        )  # fmt: skip
        ctx = RecordContext(
            record_id,
            job.model_id,
            job.model,
            job.invocation_type,
            body,
            False,
            crc32(body_json.encode("utf-8")),
            answerer.batch_cache,
        )
        if record_id in faults.invalid_output_ids or (
            faults.invalid_output_rate
            and _draw(self.seed, job.job_id, f"invalid/{record_id}") < faults.invalid_output_rate
        ):
            faults.log.append(FaultEvent("invalid_output", job_id=job.job_id, record_id=record_id))  # fmt: skip
            ctx = attrs.evolve(ctx, seed=ctx.seed | INVALID_BIT)
        if answerer.synthetic:
            fast = family.encoded_answer(ctx)
            if fast is not None:
                return fast
        output = answerer.respond(ctx)
        used_in, used_out = family.usage(body, output)
        return ENCODER.encode(family.batch_output(output)), used_in, used_out

    # -- the end ---------------------------------------------------------------------------

    def write_outputs(self, job: Job) -> None:
        """Upload the ``.out`` files and ``manifest.json.out`` (once)."""
        work = job.work
        if work is None or work.written:
            return
        s3 = self._s3()
        for staged, path in work.finish():
            if path is not None:
                with open(path, "rb") as fh:
                    s3.put_object(
                        Bucket=work.out_bucket, Key=staged.out_key, Body=fh, **work.out_extra
                    )
        manifest_key = S3Location(work.out_bucket, work.out_prefix).join("manifest.json.out").key
        manifest = {
            "totalRecordCount": job.total,
            "processedRecordCount": job.processed,
            "successRecordCount": job.success,
            "errorRecordCount": job.errors,
            "inputTokenCount": job.input_tokens,
            "outputTokenCount": job.output_tokens,
        }
        if self.answerer.batch_cache is not None:  # the batch-cache knob (UNVERIFIED fields)
            manifest["cacheReadInputTokenCount"] = job.cache_read_tokens
            manifest["cacheWriteInputTokenCount"] = job.cache_write_tokens
        s3.put_object(
            Bucket=work.out_bucket,
            Key=manifest_key,
            Body=json.dumps(manifest).encode(),
            **work.out_extra,
        )
        work.written = True
