"""Transport-neutral HTTP requests and responses, and what their SigV4 signature says.

Both ways in (botocore's ``before-send`` hook and the WSGI server) turn what they receive into
a :class:`Request` and send back a :class:`Response`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs

from .._exceptions import ServiceException, ValidationException

__all__ = ["Request", "Response", "SigV4Scope", "error_response", "json_response", "scope_of"]

_SCOPE = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request"
)


@attrs.frozen
class SigV4Scope:
    """The credential scope of a signed request."""

    access_key: str
    region: str
    service: str


def scope_of(headers: Mapping[str, str], query: Mapping[str, list[str]]) -> SigV4Scope | None:
    """The SigV4 scope from ``Authorization`` or a presigned URL's ``X-Amz-Credential``."""
    match = _SCOPE.search(headers.get("authorization", ""))
    if match is None:
        credential = (query.get("X-Amz-Credential") or [""])[0]
        match = _SCOPE.search(f"Credential={credential}")
    if match is None:
        return None
    return SigV4Scope(match.group("key"), match.group("region"), match.group("service"))


@attrs.frozen
class Request:
    """An HTTP request: method, percent-encoded path, query, lower-case headers and body."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def from_url(cls, method: str, url: str, headers: Mapping[str, Any], body: bytes) -> Request:
        """Build from a full URL (as botocore prepares it)."""
        parts = urlsplit(url)
        return cls(
            method.upper(),
            parts.path or "/",
            parse_qs(parts.query, keep_blank_values=True),
            {
                k.lower(): v.decode("latin-1") if isinstance(v, bytes) else str(v)
                for k, v in headers.items()
            },
            body,
        )

    @property
    def scope(self) -> SigV4Scope | None:
        """The request's SigV4 credential scope (None when unsigned)."""
        return scope_of(self.headers, self.query)

    def json(self) -> Any:
        """The body parsed as JSON (``{}`` when empty)."""
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as err:
            raise ValidationException("The request body is not valid JSON.") from err

    def one(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@attrs.frozen
class Response:
    """An HTTP response."""

    status: int
    headers: dict[str, str]
    body: bytes


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with a request id."""
    out = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
    out.update(headers or {})
    return Response(status, out, json.dumps(payload, ensure_ascii=False).encode("utf-8"))


def error_response(err: ServiceException, *, json_protocol: bool = False) -> Response:
    """An AWS error: ``x-amzn-ErrorType`` (and ``__type`` for the JSON protocol)."""
    body: dict[str, Any] = {"message": err.message}
    if json_protocol:
        body["__type"] = err.code
    return json_response(body, err.status, {"x-amzn-ErrorType": f"{err.code}:"})
