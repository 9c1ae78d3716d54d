"""Server mode: S3, Bedrock, bedrock-runtime and Service Quotas on ONE loopback endpoint.

Requests are routed by the service in their SigV4 credential scope: ``bedrock`` goes to the
runtime when the path starts with ``/model/`` and to the control plane otherwise;
``servicequotas`` to Service Quotas; ``s3`` and anything unsigned to moto's WSGI app.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._emulator import LocalBedrock
from ._wire import Request

__all__ = ["LocalBedrockServer"]

log = logging.getLogger("bedrock_batch.local")

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^&]*?%2F(?P<service>[a-z0-9-]+)%2Faws4_request")
StartResponse = Callable[..., Any]


def _scope_service(environ: dict[str, Any]) -> str | None:
    m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group("service")
    m = _QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
    return m.group("service") if m else None


class LocalBedrockServer:
    """A threaded WSGI server for a :class:`LocalBedrock`, bound to loopback by default.

    Use as a context manager; ``endpoint_url`` is what ``AWS_ENDPOINT_URL`` should be.
    """

    def __init__(self, local: LocalBedrock, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.local = local
        local._mock_s3 = False  # S3 lives in moto's server app, reached over HTTP
        self._moto_app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(host, port, self._app, threaded=True)
        address = self._server.server_address
        self.host: str = str(address[0] if isinstance(address[0], str) else address[0].decode())
        self.port: int = int(address[1])
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalBedrockServer:
        """Serve in a background thread."""
        self.local._server_url = self.endpoint_url
        self.local.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="local-bedrock", daemon=True
        )
        self._thread.start()
        log.info("Local Bedrock serving on %s", self.endpoint_url)
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self.local._server_url = self.endpoint_url
        self.local.start()
        try:
            self._server.serve_forever()
        finally:
            self.local.stop()

    def stop(self) -> None:
        """Shut the server down and release the emulator."""
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.local.stop()

    def __enter__(self) -> LocalBedrockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        scope = _scope_service(environ)
        raw_path = (
            environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
        )
        path = raw_path.split("?", 1)[0]
        if scope == "bedrock":
            service = "bedrock-runtime" if path.startswith("/model/") else "bedrock"
        elif scope == "servicequotas":
            service = "service-quotas"
        else:
            return self._moto_app(environ, start_response)  # type: ignore[no-any-return]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        query = environ.get("QUERY_STRING", "")
        url = f"http://local{path}" + (f"?{query}" if query else "")
        response = self.local.router.handle(
            service, Request.from_url(environ["REQUEST_METHOD"], url, headers, body)
        )
        start_response(f"{response.status} X", list(response.headers.items()))
        return [response.body]
