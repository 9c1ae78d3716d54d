"""``bedrock-batch retry`` (issue 20): before sending it says how many errored records are not
retryable and leaves them out unless ``--include-non-retryable``; the progress of ``retry
--wait`` counts the batch's records, not every attempt's. In-process against a server."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bedrock_batch.local import Quotas

from ..conftest import HAIKU, ROLE, claude_body
from .conftest import cli

BUCKET = "retry-command"
N = 200
pytestmark = pytest.mark.emulator(
    bucket=BUCKET, time_scale=5000, quotas={HAIKU: Quotas(min_records_per_job=10)}
)


def test_retry_says_what_is_not_retryable_and_counts_the_batchs_records(
    env: Any, capsys: Any, module_server: Any, tmp_path: Path
) -> None:
    faults = module_server.local.faults
    faults.record_error_rate = faults.retryable_record_error_rate = 0.08
    src = tmp_path / "q.jsonl"
    src.write_text("".join(json.dumps({"modelInput": claude_body(f"q{i}")}) + "\n" for i in range(N)))  # fmt: skip
    out = tmp_path / "first.jsonl"
    code, stdout, err = cli(
        capsys, "run", str(src), "--model-id", HAIKU, "--role-arn", ROLE, "--mode", "batch",
        "--input-uri", f"s3://{BUCKET}/in/", "--output-uri", f"s3://{BUCKET}/out/",
        "--output", str(out), "--json", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    faults.record_error_rate = faults.retryable_record_error_rate = 0.0
    handle = json.loads(stdout)["handle"]
    codes = Counter(json.loads(line).get("error", {}).get("code") for line in out.read_text().splitlines())  # fmt: skip
    assert codes[400] > 3 and codes[429] > 3, codes

    code, stdout, err = cli(capsys, "retry", handle, "--wait")  # progress on stderr
    assert code == 0, err
    assert f"{codes[400]} errored record(s) are not retryable" in err and "left out" in err
    assert f"retrying {codes[429]} record(s)" in stdout  # before: the 400s were sent too
    totals = {int(t) for t in re.findall(r"\d+/(\d+) records", err)}
    assert totals == {N}, err[-1500:]  # before: N + the records retried

    code, stdout, err = cli(capsys, "retry", handle, "--include-non-retryable", "--wait", "--json")
    assert code == 0, err
    assert "sending them again (--include-non-retryable)" in err
    assert json.loads(stdout)["retried"] == codes[400]
