"""What one ``submit()`` costs: the service model is not loaded a second time, and every input
file up to the single-PUT threshold goes up in one PutObject (no multipart calls)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bedrock_batch import BatchJob, Quotas
from bedrock_batch._batch import _spec

from ..conftest import BUCKET, claude_body

SMALL = Quotas(min_records_per_job=10, max_records_per_file=40)


def test_planning_uses_the_clients_service_model_not_a_second_copy(
    make_job: Callable[..., BatchJob],
) -> None:
    _spec._create_operation.cache_clear()
    job = make_job(quotas=SMALL)
    job.add_prompt("hello", max_tokens=10)
    job.plan()
    assert _spec._create_operation.cache_info().currsize == 0


def test_a_submit_puts_each_small_file_once_with_no_multipart_calls(
    make_job: Callable[..., BatchJob], session: Any
) -> None:
    job = make_job(quotas=SMALL)
    job.add_records({"modelInput": claude_body(f"q{i}")} for i in range(100))
    job.submit()
    assert job._batch is not None
    calls = job._batch.store.s3.calls
    files = len(job.plan().shards)
    assert files == 3
    assert not {"Upload", "CreateMultipartUpload", "UploadPart"} & set(calls)
    # the index and each input file one PUT each; the ledger's own writes beside them
    ledger_puts = calls["PutObject"] - files - 1
    assert 1 <= ledger_puts <= 4
    s3 = session.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="in/").get("Contents", [])]
    assert sum(k.endswith(".jsonl") and "/runs/" in k for k in keys) == files
