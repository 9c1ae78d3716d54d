"""``bedrock-batch wait`` on a batch stopped with records never run exits 4 (docs/cli.md: "the
batch ended Failed, Expired or Stopped"), as it does for a job that ended Stopped."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from bedrock_batch import BatchJob, PollConfig
from bedrock_batch.local import Quotas, Timings

from ..conftest import HAIKU, ROLE, endpoint_env
from ..support import cli_in_process

BUCKET = "stopped-exit"
pytestmark = pytest.mark.emulator(
    bucket=BUCKET,
    time_scale=5000,
    timings=Timings(records_per_second=50),
    quotas={HAIKU: Quotas(min_records_per_job=50, max_records_per_job=150, max_concurrent_jobs=2)},
)


def test_wait_exits_4_for_a_batch_stopped_after_two_of_four_jobs(server: Any) -> None:
    url = server.endpoint_url
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    clients = {
        f"{name}_client": session.client(service, endpoint_url=url)
        for name, service in (("bedrock", "bedrock"), ("s3", "s3"), ("runtime", "bedrock-runtime"))
    }
    job = BatchJob(
        HAIKU, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/",
        use_service_quotas=False, quotas=Quotas(min_records_per_job=50, max_records_per_job=150, max_concurrent_jobs=2),
        poll=PollConfig(initial=0.05, max_interval=0.2, jitter=0), **clients,
    )  # fmt: skip
    try:
        for i in range(600):
            job.add_prompt(f"question {i}", max_tokens=20)
        assert job.submit().pending == 2
        bedrock = clients["bedrock_client"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the first two jobs end; nobody creates the others
            statuses = [
                bedrock.get_model_invocation_job(jobIdentifier=a)["status"] for a in job.job_arns
            ]
            if statuses == ["Completed", "Completed"]:
                break
            time.sleep(0.1)
        job.stop()
        proc = cli_in_process(endpoint_env(url), "wait", job.state_uri or "", "--quiet")
    finally:
        job.close()
    assert proc.returncode == 4, (proc.stdout, proc.stderr)
    assert "Stopped" in proc.stdout and "300 records never run" in proc.stderr
