"""On-demand fallback: the same records through bedrock-runtime, written like batch output.

Used below a model's minimum records per batch job (``mode="auto"``/``"on_demand"``) and for
retries too small for a batch job. Calls run with bounded concurrency; throttling and 5xx are
retried with backoff; each record ends as a ``{"modelInput", "modelOutput"|"error",
"recordId"}`` line — the batch output format — so results, accounting and types are the same.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import IO, Any

import tenacity as _t
from botocore.exceptions import ClientError

from ._jsonl import dumps_line
from ._polling import backoff

__all__ = ["run_on_demand"]

log = logging.getLogger("bedrock_batch")

_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "ServiceUnavailableException",
        "InternalServerException",
        "ModelNotReadyException",
        "ModelTimeoutException",
    }
)


def _jsonable(response: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _RETRYABLE


def _one(
    runtime: Any,
    model_id: str,
    converse: bool,
    record_id: str,
    model_input: dict[str, Any],
    sleep: Callable[[float], None],
    attempts: int,
) -> bytes:
    retrying = _t.Retrying(
        retry=_t.retry_if_exception(_is_retryable),
        wait=backoff(0.5, 20.0, 0.5),
        stop=_t.stop_after_attempt(attempts),
        sleep=sleep,
        reraise=True,
    )
    try:
        for attempt in retrying:
            with attempt:
                if converse:
                    output = _jsonable(runtime.converse(modelId=model_id, **model_input))
                else:
                    resp = runtime.invoke_model(
                        modelId=model_id,
                        body=json.dumps(model_input),
                        contentType="application/json",
                        accept="application/json",
                    )
                    output = json.loads(resp["body"].read())
    except ClientError as err:
        error = err.response.get("Error", {})
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 400
        line = {
            "modelInput": model_input,
            "error": {
                "errorCode": int(status),
                "errorMessage": str(error.get("Message") or error.get("Code") or err),
                "expired": False,
                "retryable": error.get("Code") in _RETRYABLE,
            },
            "recordId": record_id,
        }
        return dumps_line(line)
    return dumps_line({"modelInput": model_input, "modelOutput": output, "recordId": record_id})


def run_on_demand(
    runtime: Any,
    model_id: str,
    records: Iterable[tuple[str, dict[str, Any]]],
    out: IO[bytes],
    *,
    converse: bool = False,
    concurrency: int = 4,
    attempts: int = 6,
    sleep: Callable[[float], None] = time.sleep,
    on_record: Callable[[], None] | None = None,
) -> int:
    """Invoke every record and write its output line to ``out``; returns how many were written.

    At most ``concurrency`` calls are in flight (and at most twice that many records are held in
    memory). Programming errors propagate; service errors become error lines.
    """
    lock = threading.Lock()
    written = 0
    source: Iterator[tuple[str, dict[str, Any]]] = iter(records)
    with ThreadPoolExecutor(
        max_workers=max(1, concurrency), thread_name_prefix="bedrock-on-demand"
    ) as pool:
        pending: set[Future[bytes]] = set()

        def fill() -> None:
            while len(pending) < 2 * max(1, concurrency):
                try:
                    rid, body = next(source)
                except StopIteration:
                    return
                pending.add(
                    pool.submit(_one, runtime, model_id, converse, rid, body, sleep, attempts)
                )

        fill()
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                pending.discard(fut)
                line = fut.result()
                with lock:
                    out.write(line)
                    written += 1
                if on_record is not None:
                    on_record()
            fill()
    log.debug("on-demand: %d records through %s", written, model_id)
    return written
