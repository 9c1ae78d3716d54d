"""EventBridge: "Batch Inference Job State Change" events reach an SQS queue through a rule."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import boto3

from bedrock_batch.local import Faults, JobFault, LocalBedrock

from ..conftest import BUCKET, create_job, put_records

SAMPLE = json.loads(
    (Path(__file__).parents[1] / "data" / "batch_job_state_change_event.json").read_text(
        encoding="utf-8"
    )
)
PATTERN = {"source": ["aws.bedrock"], "detail-type": ["Batch Inference Job State Change"]}
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def subscribe(events: Any, sqs: Any) -> str:
    """A rule on the default bus with an SQS target; returns the queue URL."""
    url = sqs.create_queue(QueueName="bedrock-jobs")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="bedrock-batch", EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule="bedrock-batch", Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        out.extend(json.loads(m["Body"]) for m in got)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )


def test_state_changes_reach_sqs_through_an_eventbridge_rule() -> None:
    with LocalBedrock(clock="manual") as local:
        events, sqs, s3 = local.client("events"), local.client("sqs"), local.client("s3")
        url = subscribe(events, sqs)
        s3.create_bucket(Bucket=BUCKET)
        put_records(s3, 100)
        arn = create_job(local.client("bedrock"), jobName="watched")
        local.run_until_idle()
        delivered = drain(sqs, url)
        emitted = local.events
    assert [m["detail"]["status"] for m in delivered] == [
        "Submitted",
        "Validating",
        "Scheduled",
        "InProgress",
        "Completed",
    ]
    for message in delivered:
        assert message["source"] == "aws.bedrock"
        assert message["detail-type"] == "Batch Inference Job State Change"
        assert message["resources"] == [arn]
        assert set(message["detail"]) == set(SAMPLE["detail"])
        assert (
            message["detail"]["batchJobArn"] == arn
            and message["detail"]["batchJobName"] == "watched"
        )
        assert message["detail"]["failureMessage"] == ""
    assert [e["detail"] for e in emitted] == [m["detail"] for m in delivered]
    for event in emitted:  # as Bedrock shapes them, the odd time formats included
        assert set(event) == set(SAMPLE) and set(event["detail"]) == set(SAMPLE["detail"])
        assert re.fullmatch(
            r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}", event["time"]
        )
        assert re.fullmatch(
            r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} [AP]M",
            event["detail"]["creationTime"],
        )
        assert (
            event["detail"]["batchModelId"]
            == f"arn:aws:bedrock:us-east-1::foundation-model/{event['detail']['batchModelId'].rsplit('/', 1)[1]}"
        )
        assert event["detail"]["version"] == "0.0" and event["version"] == "0"


def _six_failing_jobs(drop_rate: float) -> tuple[list[dict[str, Any]], int]:
    faults = Faults(jobs=[JobFault("fail_validation", message="no access", name_contains="bad")])
    with LocalBedrock(clock="manual", faults=faults, event_drop_rate=drop_rate, seed=11) as local:
        local.client("s3").create_bucket(Bucket=BUCKET)
        bedrock = local.client("bedrock")
        for i in range(6):  # one fault-injected failure, five with no input at all
            create_job(bedrock, jobName="bad-0" if i == 0 else f"job-{i}")
        local.run_until_idle()
        return local.events, sum(e.kind == "event_dropped" for e in local.fault_log)


def test_failure_messages_and_seeded_dropped_events() -> None:
    everything, none_dropped = _six_failing_jobs(0.0)
    assert none_dropped == 0 and len(everything) == 6 * 3  # Submitted, Validating, Failed
    failed = [e["detail"] for e in everything if e["detail"]["status"] == "Failed"]
    assert {d["failureMessage"] for d in failed if d["batchJobName"] == "bad-0"} == {"no access"}
    assert all(
        d["failureMessage"].startswith("No .jsonl files")
        for d in failed
        if d["batchJobName"] != "bad-0"
    )
    emitted, dropped = _six_failing_jobs(0.5)
    assert 0 < dropped < 18 and len(emitted) + dropped == 18
    assert _six_failing_jobs(0.5) == (emitted, dropped)  # seeded


def test_events_through_the_server() -> None:
    with LocalBedrock(clock="manual").serve(port=0) as server:
        session = boto3.session.Session(region_name="eu-west-1", **CREDS)
        events, sqs, s3, bedrock = (
            session.client(n, endpoint_url=server.endpoint_url)
            for n in ("events", "sqs", "s3", "bedrock")
        )
        url = subscribe(events, sqs)
        s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        put_records(s3, 100)
        arn = create_job(bedrock)
        server.local.run_until_idle()
        deadline = time.monotonic() + 30
        delivered: list[dict[str, Any]] = []
        while len(delivered) < 5 and time.monotonic() < deadline:
            delivered += drain(sqs, url)
    assert [m["detail"]["status"] for m in delivered] == [
        "Submitted",
        "Validating",
        "Scheduled",
        "InProgress",
        "Completed",
    ]
    assert {m["region"] for m in delivered} == {"eu-west-1"}
    assert delivered[0]["resources"] == [arn] and ":eu-west-1:" in arn
