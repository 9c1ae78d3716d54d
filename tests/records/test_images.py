"""Images are checked before anything is uploaded: their bytes must be the PNG, JPEG, GIF or
WEBP image they claim to be (magic numbers), and no larger than the catalogue's per-model limit
(with its source); raw ``add()`` bodies carrying base64 images are held to the same rules. Nothing here submits:
the tests share one module emulator, each checking that it uploaded nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bedrock_batch import BatchJob, ValidationError
from bedrock_batch._catalog import CATALOG
from bedrock_batch.local import LocalBedrock

from ..conftest import BUCKET, HAIKU, job_factory

Make = Callable[..., BatchJob]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 24
NOVA = "amazon.nova-lite-v1:0"
TITAN_IMAGE = "amazon.titan-embed-image-v1"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[LocalBedrock, Any, Any]]:
    """One Local Bedrock (manual clock) for the module: it, a session and its S3 (bucket made)."""
    with LocalBedrock(clock="manual") as local:
        session = local.session()
        s3 = session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield local, session, s3


@pytest.fixture
def make_job(emulator: tuple[LocalBedrock, Any, Any]) -> Make:
    return job_factory(emulator[0], emulator[1])


@pytest.fixture
def s3(emulator: tuple[LocalBedrock, Any, Any]) -> Any:
    return emulator[2]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def claude(image: bytes, media_type: str = "image/png") -> dict[str, Any]:
    source = {"type": "base64", "media_type": media_type, "data": b64(image)}
    content = [{"type": "image", "source": source}, {"type": "text", "text": "What is it?"}]
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": content}],
    }


def nova(image: bytes, fmt: str = "png") -> dict[str, Any]:
    block = {"image": {"format": fmt, "source": {"bytes": b64(image)}}}
    return {"messages": [{"role": "user", "content": [block, {"text": "What is it?"}]}]}


def refused(action: Callable[[], Any]) -> str:
    with pytest.raises(ValidationError) as info:
        action()
    return str(info.value) + " " + " ".join(p.message for p in info.value.problems)


def untouched(s3: Any) -> None:
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


@pytest.mark.parametrize(
    "image",
    [(b"not an image", "png"), b"not an image", (JPEG, "png"), (PNG, "gif"), PNG[:4] + b"xx"],
    ids=["text-as-png", "text", "jpeg-as-png", "png-as-gif", "truncated-magic"],
)
def test_add_prompt_refuses_bytes_that_are_not_the_image_they_claim(
    make_job: Make, s3: Any, image: Any
) -> None:
    job = make_job()
    message = refused(lambda: job.add_prompt("What is it?", images=[image], max_tokens=50))
    assert "png" in message.lower() or "image" in message.lower()
    assert len(job) == 0
    untouched(s3)


def test_add_prompt_takes_real_image_headers(make_job: Make) -> None:
    job = make_job()
    job.add_prompt("a", images=[PNG, (JPEG, "jpg"), b"GIF89a" + b"\0" * 8], max_tokens=50)
    job.add_prompt("b", images=[b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 8], max_tokens=50)
    assert len(job) == 2


def test_an_image_over_claudes_limit_is_refused_naming_the_record_and_the_limit(
    make_job: Make, s3: Any
) -> None:
    limit = CATALOG[HAIKU].max_image_bytes
    assert limit is not None and CATALOG[HAIKU].max_image_bytes_source
    big = PNG + b"\0" * (20_000_000 - len(PNG))
    job = make_job()
    message = refused(lambda: job.add_prompt("What is it?", images=[big], max_tokens=50, record_id="r-big"))  # fmt: skip
    assert "r-big" in message and f"{limit:,}" in message and "Anthropic" in message
    at_limit = PNG + b"\0" * (limit - len(PNG))
    job.add_prompt("What is it?", images=[at_limit], max_tokens=50, record_id="r-ok")
    assert len(job) == 1
    untouched(s3)


@pytest.mark.parametrize(
    ("model", "body", "fragment"),
    [
        (HAIKU, claude(b"not an image"), "not a PNG"),
        (HAIKU, claude(JPEG, "image/png"), "claims to be png"),
        (HAIKU, claude(PNG + b"\0" * 4_000_000), "3,932,160"),
        (NOVA, nova(b"not an image"), "not a PNG"),
        (NOVA, nova(PNG, "jpeg"), "claims to be jpeg"),
        (TITAN_IMAGE, {"inputImage": b64(b"not an image")}, "not a PNG"),
        (TITAN_IMAGE, {"inputImage": "***"}, "not valid base64"),
    ],
    ids=["claude-text", "claude-jpeg-as-png", "claude-too-large", "nova-text", "nova-png-as-jpeg",
         "titan-text", "titan-bad-base64"],
)  # fmt: skip
def test_raw_bodies_with_base64_images_are_checked(
    make_job: Make, s3: Any, model: str, body: dict[str, Any], fragment: str
) -> None:
    job = make_job(model)
    message = refused(lambda: job.add(body, record_id="raw-1"))
    assert fragment in message and "raw-1" in message
    assert len(job) == 0
    untouched(s3)


def test_converse_bodies_are_checked_too(make_job: Make) -> None:
    job = make_job(HAIKU, invocation_type="Converse")
    assert "not a PNG" in refused(lambda: job.add(nova(b"not an image")))
    job.add(nova(PNG))
    assert len(job) == 1


def test_add_records_skips_a_bad_image_and_keeps_the_rest(make_job: Make) -> None:
    job = make_job()
    job.add_records(
        [{"modelInput": claude(PNG)}, {"modelInput": claude(b"nope")}], on_invalid="skip"
    )
    assert len(job) == 1
    assert any("not a PNG" in p.message for p in job.rejected)
