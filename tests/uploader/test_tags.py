"""Job tags: AWS reserves the ``aws:`` prefix; such a key is refused before anything is uploaded."""

from __future__ import annotations

import pytest

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch.local import LocalBedrock

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/R"


@pytest.mark.parametrize("key", ["aws:createdBy", "AWS:team", "Aws:x"])
def test_aws_tag_keys_are_refused_before_upload(key: str) -> None:
    with LocalBedrock() as local:
        session = local.session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket="bkt")
        with BatchJob(HAIKU, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session, tags={key: "v", "team": "a"}) as job:  # fmt: skip
            for i in range(3):
                job.add_prompt(f"q{i}", max_tokens=5)
            with pytest.raises(ValidationError, match="reserved for AWS") as err:
                job.plan()
            assert any(p.field == "tags" for p in err.value.problems)
            with pytest.raises(ValidationError, match="reserved for AWS"):
                job.submit()
        assert s3.list_objects_v2(Bucket="bkt").get("KeyCount", 0) == 0


def test_other_tag_keys_go_through() -> None:
    with LocalBedrock() as local:
        session = local.session()
        session.client("s3").create_bucket(Bucket="bkt")
        with BatchJob(HAIKU, ROLE, "s3://bkt/in/", "s3://bkt/out/", session=session, tags={"team": "a", "awsome": "b"}) as job:  # fmt: skip
            for i in range(3):
                job.add_prompt(f"q{i}", max_tokens=5)
            assert job.plan().records == 3
