"""``LocalBedrock``: the emulator's front door, in-process or as a loopback server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from ._backend import Backend
from ._clock import Clock, ManualClock, ScaledClock
from ._config import FaultEvent, Faults, Quotas, Timings
from ._responders import Responder
from ._wire import Request, Router

if TYPE_CHECKING:  # the mypy-boto3 stubs are needed at type-check time only
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient

__all__ = ["LocalBedrock"]

log = logging.getLogger("bedrock_batch.local")

#: botocore service ids Local Bedrock answers (S3 is moto's).
EMULATED_SERVICES = ("bedrock", "bedrock-runtime", "service-quotas")
#: moto's names for the same services, so ``mock_aws`` lets them pass to us.
_MOTO_PASSTHROUGH = ["bedrock", "bedrockruntime", "servicequotas"]
_FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


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


class LocalBedrock:
    """An offline emulator of Amazon Bedrock batch inference.

    In-process (S3 from moto's ``mock_aws``)::

        with LocalBedrock() as local:
            s3 = local.client("s3")
            bedrock = local.client("bedrock")      # real boto3 clients, answered locally

    As a server on one loopback endpoint (S3, Bedrock, bedrock-runtime, Service Quotas)::

        with LocalBedrock().serve(port=0) as server:
            os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url

    Args:
        clock: ``"manual"`` (time moves only through :meth:`advance`), a :class:`Clock`, or
            None for real time sped up by ``time_scale``.
        time_scale: emulated seconds per real second for the default clock (1000: a 24-hour
            timeout passes in 86 seconds).
        timings: phase durations and records per second, in emulated time.
        quotas: per-model :class:`Quotas` (any model id spelling); others get ``default_quotas``.
        faults: seeded :class:`Faults` to inject.
        seed: makes job ids, output order, generated record ids and faults reproducible.
        responder: answers records instead of the synthetic models (canned answers, a local
            model); requests are still checked first unless ``validate_inputs=False``.
        record_counters: report the four record counters (added to the API on 2026-04-01).
        output_paths: ``"relative"`` keeps an input's sub-folder in its output name,
            ``"basename"`` flattens it (Bedrock's behaviour here is UNVERIFIED).
        shuffle_window: how many output lines are shuffled together (bounded memory).
        mock_s3: start moto's ``mock_aws`` for S3 (in-process mode); False when the caller
            already provides S3 through ``s3_client``.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Clock | str | None = None,
        time_scale: float = 1000.0,
        timings: Timings | None = None,
        quotas: Mapping[str, Quotas] | None = None,
        default_quotas: Quotas | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        responder: Responder | None = None,
        validate_inputs: bool = True,
        record_counters: bool = True,
        output_paths: str = "relative",
        shuffle_window: int = 256,
        mock_s3: bool = True,
        s3_client: Any = None,
    ) -> None:
        if clock == "manual":
            clock = ManualClock()
        elif clock is None:
            clock = ScaledClock(time_scale)
        elif isinstance(clock, str):
            raise ValueError("clock must be 'manual', a Clock, or None")
        self.clock: Clock = clock
        self.region = region
        self.account_id = account_id
        self._mock_s3 = mock_s3
        self._given_s3 = s3_client
        self._moto: Any = None
        self.backend = Backend(
            s3_client=self._make_s3,
            clock=clock,
            region=region,
            account_id=account_id,
            timings=timings,
            quotas=quotas,
            default_quotas=default_quotas,
            faults=faults,
            seed=seed,
            responder=responder,
            validate_inputs=validate_inputs,
            record_counters=record_counters,
            output_paths=output_paths,
            shuffle_window=shuffle_window,
            max_records_per_tick=None if isinstance(clock, ManualClock) else 2000,
        )
        self.router = Router(self.backend)
        self._started = False
        self._server_url: str | None = None
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LocalBedrock:
        """Start moto's S3 (when ``mock_s3``); idempotent."""
        if not self._started:
            if self._mock_s3 and self._given_s3 is None:
                from moto import mock_aws

                self._moto = mock_aws(
                    config={"core": {"passthrough": {"services": _MOTO_PASSTHROUGH}}}
                )
                self._moto.start()
            self._started = True
            if not isinstance(self.clock, ManualClock):
                self._stopping.clear()
                self._ticker = threading.Thread(
                    target=self._tick_forever, name="local-bedrock-clock", daemon=True
                )
                self._ticker.start()
        return self

    def _tick_forever(self) -> None:
        """Real-time clocks: jobs progress even when nobody asks (outputs appear in S3)."""
        while not self._stopping.wait(0.05):
            try:
                self.backend.tick()
            except Exception:  # keep the clock alive; the next API call reports
                log.exception("Local Bedrock background tick failed")

    def stop(self) -> None:
        """Stop moto (dropping its S3 data) and release temporary files."""
        if self._started:
            self._stopping.set()
            if self._ticker is not None:
                self._ticker.join(timeout=5)
                self._ticker = None
            self.backend.close()
            if self._moto is not None:
                self._moto.stop()
                self._moto = None
            self._started = False

    def __enter__(self) -> LocalBedrock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------

    def _make_s3(self) -> Any:
        if self._given_s3 is not None:
            return self._given_s3
        kwargs: dict[str, Any] = {"region_name": self.region, **_FAKE_CREDENTIALS}
        if self._server_url:
            kwargs["endpoint_url"] = self._server_url
        return boto3.session.Session().client("s3", **kwargs)

    def _before_send(
        self, request: AWSPreparedRequest, event_name: str = "", **_: Any
    ) -> AWSResponse:
        service = event_name.split(".")[1]
        body = request.body
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode("utf-8")
        else:
            raw = body.read()
            data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        response = self.router.handle(
            service,
            Request.from_url(
                request.method or "GET", request.url or "/", dict(request.headers.items()), data
            ),
        )
        return AWSResponse(request.url, response.status, response.headers, _RawBody(response.body))  # type: ignore[arg-type]

    def wire(self, client: Any) -> Any:
        """Answer this boto3 client's Bedrock / runtime / Service Quotas calls locally; returns it."""
        service = client.meta.service_model.service_id.hyphenize()
        if service not in EMULATED_SERVICES:
            raise ValueError(
                f"Local Bedrock emulates {', '.join(EMULATED_SERVICES)}, not {service}"
            )
        client.meta.events.register(f"before-send.{service}", self._before_send)
        return client

    @overload
    def client(self, service: Literal["s3"], **kwargs: Any) -> S3Client: ...
    @overload
    def client(self, service: Literal["bedrock"], **kwargs: Any) -> BedrockClient: ...
    @overload
    def client(
        self, service: Literal["bedrock-runtime"], **kwargs: Any
    ) -> BedrockRuntimeClient: ...
    @overload
    def client(self, service: Literal["service-quotas"], **kwargs: Any) -> ServiceQuotasClient: ...
    def client(self, service: str, **kwargs: Any) -> Any:
        """A real boto3 client wired to this emulator ('s3', 'bedrock', 'bedrock-runtime',
        'service-quotas'). Keyword arguments go to ``boto3.client`` (e.g. ``config``)."""
        self.start()
        return self.session().client(service, **kwargs)  # type: ignore[call-overload]

    def session(self) -> boto3.Session:
        """A boto3 session whose clients (created afterwards) are wired to this emulator."""
        self.start()
        session = boto3.Session(
            region_name=self.region,
            aws_access_key_id=_FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=_FAKE_CREDENTIALS["aws_secret_access_key"],
        )
        for service in EMULATED_SERVICES:
            session.events.register(f"before-send.{service}", self._before_send)  # type: ignore[arg-type]
        return session

    # -- time and state --------------------------------------------------------------------

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> None:
        """Move a manual clock forward and let every job catch up."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs LocalBedrock(clock='manual')")
        self.clock.advance(seconds, minutes=minutes, hours=hours)
        self.backend.tick()

    def run_until_idle(self, timeout: float = 60.0, *, step_hours: float = 0.25) -> None:
        """Let time pass until every job has ended (jumps a manual clock; sleeps otherwise)."""
        deadline = time.monotonic() + timeout
        while not self.backend.idle():
            if time.monotonic() > deadline:
                raise TimeoutError("jobs still running after run_until_idle timeout")
            if isinstance(self.clock, ManualClock):
                self.advance(hours=step_hours)
            else:
                time.sleep(0.05)

    def history(self, job: str) -> list[tuple[str, float]]:
        """The statuses a job (ARN or id) went through, with emulated times (for tests)."""
        return self.backend.history(job)

    @property
    def fault_log(self) -> list[FaultEvent]:
        """Every fault injected so far."""
        return self.backend.faults.log

    @property
    def faults(self) -> Faults:
        """The live fault settings (can be changed between calls)."""
        return self.backend.faults

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Any:
        """Serve everything on one HTTP endpoint (see :class:`LocalBedrockServer`)."""
        from ._server import LocalBedrockServer

        return LocalBedrockServer(self, host=host, port=port)
