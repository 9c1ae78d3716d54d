"""In-process mode: botocore ``before-send`` handlers that answer requests locally.

A handler registered on a client's (or a session's) ``before-send.<service-id>`` event receives
the prepared, signed request and may return an ``AWSResponse``, which botocore then parses like
a wire response: serialization, validation and parsing stay real (httpx's ``MockTransport``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ReadTimeoutError

from .._exceptions import AnswerLost
from ._http import Request, Response

__all__ = ["BeforeSend", "make_handler"]

BeforeSend = Callable[..., AWSResponse]


class _RawBody:
    """The minimal raw-response object botocore's ``AWSResponse`` reads from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        if self._data:
            yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:
        self._data = b""


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    raw = body.read()
    return raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)


def make_handler(handle: Callable[[str, Request], Response]) -> BeforeSend:
    """A ``before-send`` handler answering through ``handle(service, request)``.

    An answer lost after its operation took effect (:class:`AnswerLost`) is a read timeout, as
    botocore reports one from the network (and retries it like one).
    """

    def before_send(request: AWSPreparedRequest, event_name: str = "", **_: Any) -> AWSResponse:
        service = event_name.split(".")[1]
        prepared = Request.from_url(
            request.method or "GET",
            request.url or "/",
            dict(request.headers.items()),
            _body_bytes(request.body),
        )
        try:
            response = handle(service, prepared)
        except AnswerLost as lost:  # the operation took effect; its answer never comes
            raise ReadTimeoutError(endpoint_url=request.url or "", error=str(lost)) from lost
        return AWSResponse(request.url, response.status, response.headers, _RawBody(response.body))  # type: ignore[arg-type]

    return before_send
