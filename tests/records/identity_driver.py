"""Builds fixed batches (every ``add_*`` path, awkward text, non-canonical JSONL lines:
spaces, ``\\r\\n``, escapes, duplicate keys, key order) and prints their identity: the stored
bytes' digest and the content id. Run in a fresh process per JSON codec by test_identity.py."""

from __future__ import annotations

import io
import json
from typing import Any

from bedrock_batch._batch._spec import JobParams, content_id, resolve
from bedrock_batch._common._codec import BACKEND
from bedrock_batch._records._records import Records

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
TEXTS = ["plain", "日本語 é", 'quote " back\\slash', "tab\tnew\nline", "\u2028 sep \x7f", "emoji 😀", "</script>", "1e5 and 1.0"]  # fmt: skip


def body(text: str) -> dict[str, Any]:
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 50,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }


def compact(value: Any, ascii_only: bool = False) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only).encode()


LINES = [
    b'{"recordId": "a1", "modelInput": ' + json.dumps(body("spaced")).encode() + b"}",
    b'{"recordId":"a2","modelInput":' + compact(body("escaped \u00e9 \U0001f600"), True) + b"}\r",
    b'{"modelInput":' + compact(body("order")) + b',"recordId":"a3"}',
    b'{"recordId":"a4","recordId":"a5","modelInput":' + compact(body("dup key"), True) + b"}",
    b'{"recordId":"a6","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":5e1,"max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"n"}]}]}}',
    b'{"recordId":"a7","modelInput":' + compact(body("canonical \u00e9")) + b"}",
    b'{"recordId":"a8","modelInput":{"anthropic_version":"bedrock-2023-05-31","max_tokens":50,"temperature":0.50,"messages":[{"role":"user","content":[{"type":"text","text":"\\/slash"}]}]}}',
]  # fmt: skip


def records() -> Records:
    return Records(HAIKU, invocation_type="InvokeModel", input_uri="s3://bkt/in/")


def prompt(r: Records, text: str, **kw: Any) -> None:
    options: dict[str, Any] = {"system": None, "temperature": None, "record_id": None, "key": None, **kw}  # fmt: skip
    r.add_prompt(text, max_tokens=40, top_p=None, stop_sequences=None, images=(), extra=None, **options)  # fmt: skip


def main() -> None:
    built: dict[str, Records] = {}
    r = built["add_prompt"] = records()
    for text in TEXTS:
        prompt(r, text)
    prompt(r, "explicit", system="sys", temperature=0.3, record_id="X-1", key={"k": 1})
    r = built["add_records"] = records()
    r.add_records(
        [{"modelInput": body(t)} for t in TEXTS]
        + [
            {"modelInput": body("k"), "recordId": "R00000001", "key": [1, 2]},
            {"modelInput": {**body("floats"), "temperature": 0.1, "top_p": 1.0}},
        ]
    )
    r = built["add_jsonl"] = records()
    r.add_jsonl(io.BytesIO(b"\n".join(LINES) + b"\n"), key_field=None)
    params = JobParams(HAIKU, "arn:aws:iam::123456789012:role/R", "s3://bkt/in/", "s3://bkt/out/")
    spec = resolve(params, region="us-east-1")
    cases = {}
    for name, rec in built.items():
        digest = rec.store.content_digest()
        cases[name] = {"digest": digest, "content_id": content_id(digest, spec, "batch"), "records": len(rec.store)}  # fmt: skip
        rec.close()
    print(json.dumps({"backend": BACKEND, "cases": cases}))


if __name__ == "__main__":
    main()
