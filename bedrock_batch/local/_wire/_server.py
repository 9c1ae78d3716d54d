"""Server mode: Local Bedrock and moto on ONE loopback endpoint.

Requests are routed by the service in their SigV4 credential scope (:mod:`._routing`):
``bedrock`` (control plane, or bedrock-runtime under ``/model/``) and ``servicequotas`` are
answered by the emulator; everything else — S3, EventBridge, SQS, STS, IAM, and unsigned
requests — goes to moto's WSGI app. The server uses only the emulator's public surface, which it
names as a protocol (:class:`ServedEmulator`) rather than importing the emulator.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from .._exceptions import AnswerLost
from ._http import Request, Response
from ._moto import served, unserved
from ._routing import service_for

__all__ = ["LOOPBACK_HOSTS", "LocalBedrockServer", "ServedEmulator"]

log = logging.getLogger("bedrock_batch.local")

StartResponse = Callable[..., Any]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: How often the serving loop looks for a stop (seconds): stop() returns within this (the
#: standard library's 0.5 s made every stop of a test's server wait ~0.25 s on average).
_POLL = 0.02


class ServedEmulator(Protocol):
    """What the server needs of the emulator it serves (``LocalBedrock`` is one)."""

    def use_endpoint(self, url: str) -> None:
        """Reach S3 and EventBridge at ``url`` (the server's moto app)."""

    def start(self) -> object:
        """Start the emulator's lifecycle."""

    def stop(self) -> None:
        """Stop the emulator's lifecycle."""

    def handle(self, service: str, request: Request) -> Response:
        """Answer one request for an emulated service."""


EmulatorT = TypeVar("EmulatorT", bound=ServedEmulator)


class LocalBedrockServer(Generic[EmulatorT]):
    """A threaded WSGI server for a :class:`LocalBedrock` (any :class:`ServedEmulator`), bound to
    loopback by default.

    Use as a context manager; ``endpoint_url`` is what ``AWS_ENDPOINT_URL`` should be.
    """

    def __init__(self, local: EmulatorT, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        if host not in LOOPBACK_HOSTS:
            log.warning(
                "Local Bedrock is listening on %s: anyone who can reach it can use it", host
            )
        self.local = local
        self._moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, self._app, threaded=True)
        address = self._server.server_address
        self.host: str = str(address[0] if isinstance(address[0], str) else address[0].decode())
        self.port: int = int(address[1])
        local.use_endpoint(self.endpoint_url)
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> LocalBedrockServer[EmulatorT]:
        """Serve in a background thread."""
        self.local.start()
        served()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(_POLL,), name="local-bedrock", daemon=True
        )
        self._thread.start()
        log.info("Local Bedrock serving on %s", self.endpoint_url)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.local.start()
        served()
        try:
            self._server.serve_forever(_POLL)
        finally:
            self.local.stop()
            self._server.server_close()
            unserved()

    def stop(self) -> None:
        """Stop the emulator's lifecycle thread, then the HTTP server (in that order, so the
        thread never talks to a server that has gone)."""
        self.local.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            unserved()  # the last server of the process drops moto's data

    def __enter__(self) -> LocalBedrockServer[EmulatorT]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = (
            environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        )
        path = raw_path.split("?", 1)[0]
        query = environ.get("QUERY_STRING", "")
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        request = Request.from_url(
            environ["REQUEST_METHOD"],
            f"http://local{path}" + (f"?{query}" if query else ""),
            headers,
            b"",
        )
        scope = request.scope
        service = service_for(scope.service if scope else None, path)
        if service is None:
            return self._moto_app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            response = self.local.handle(
                service, Request(request.method, request.path, request.query, request.headers, body)
            )
        except AnswerLost as lost:  # the operation took effect; drop the connection unanswered
            connection = environ.get("werkzeug.socket")
            if connection is not None:
                connection.shutdown(socket.SHUT_RDWR)
            raise ConnectionResetError(str(lost)) from lost  # werkzeug: a dropped connection
        start_response(f"{response.status} X", list(response.headers.items()))
        return [response.body]
