"""``LocalBedrock``: the emulator's front door, in-process or behind a loopback server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, overload

import boto3
import botocore.loaders
import botocore.session

from . import _ownership
from ._clock import Clock, ManualClock, ScaledClock, is_realtime
from ._config import FaultEvent, Faults, PromptCaching, Quotas, Timings
from ._families._context import Responder
from ._service._backend import Backend
from ._service._lifecycle import ACTIVE
from ._wire._hooks import make_handler
from ._wire._http import Request, Response
from ._wire._moto import moto_is_mocking
from ._wire._routing import EMULATED_SERVICES, Router

if TYPE_CHECKING:  # the mypy-boto3 stubs are needed at type-check time only
    from mypy_boto3_bedrock import BedrockClient
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_service_quotas import ServiceQuotasClient

    from ._wire._server import LocalBedrockServer

__all__ = ["LocalBedrock"]

log = logging.getLogger("bedrock_batch.local")

#: moto's names for the services we answer, so ``mock_aws`` lets them pass to us.
_MOTO_PASSTHROUGH = ["bedrock", "bedrockruntime", "servicequotas"]
_FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
#: Records one job processes per background pass on a real-time clock.
_SLICE_RECORDS = 2000


class LocalBedrock:
    """An offline emulator of Amazon Bedrock batch inference.

    In-process (S3, EventBridge and SQS from moto's ``mock_aws``)::

        with LocalBedrock() as local:
            s3 = local.client("s3")
            bedrock = local.client("bedrock")      # real boto3 clients, answered locally

    While it runs in-process it owns the process's AWS calls: any boto3 client, from any
    session made before or after, is answered here or by moto, the environment holds fake
    credentials and this region (the AWS config files hidden), and a request that would still
    leave the machine raises :class:`~bedrock_batch.local.NetworkDenied`; all is restored by
    :meth:`stop`.

    As a server on one loopback endpoint (Bedrock, bedrock-runtime and Service Quotas here;
    every other service from moto)::

        with LocalBedrock().serve(port=0) as server:
            os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url

    Args:
        region: the region of clients made by :meth:`client` / :meth:`session`, and of
            requests that are not signed. A signed request acts in its signature's region.
        account_id: the account every job belongs to.
        clock: ``"manual"`` (time moves only through :meth:`advance`), a :class:`Clock`, or
            None for real time whose lifecycle runs ``time_scale`` times faster.
        time_scale: emulated seconds per real second for the default clock (1000: a 24-hour
            timeout passes in 86 seconds). It shortens phases and timeouts; reported
            timestamps stay wall-clock times.
        timings: phase durations and records per second, in emulated time.
        quotas: per-model :class:`Quotas` (any model id spelling); others get ``default_quotas``.
        faults: seeded :class:`Faults` to inject.
        seed: makes job ids, output order, generated record ids, events and faults reproducible.
        responder: answers records instead of the synthetic models (canned answers, a local
            model); requests are still checked first unless ``validate_inputs=False``.
        record_counters: report the four record counters (added to the API on 2026-04-01).
        output_paths: ``"relative"`` keeps an input's sub-folder in its output name,
            ``"basename"`` flattens it (Bedrock's behaviour here is UNVERIFIED).
        shuffle_window: how many output lines are shuffled together (bounded memory).
        mock_s3: start moto's ``mock_aws`` (in-process mode); False when the caller already
            provides S3 through ``s3_client``.
        s3_client: the boto3 S3 client the data plane uses instead of moto's.
        events: emit EventBridge "Batch Inference Job State Change" events.
        event_drop_rate: the fraction of events dropped (seeded), as best-effort delivery.
        idempotency_window_hours: how long (emulated) a ``clientRequestToken`` names its job
            (UNVERIFIED; 24 hours).
        default_timeout_hours: ``timeoutDurationInHours`` when a request omits it (UNVERIFIED).
        stoppable_statuses: the statuses a stop is accepted in (UNVERIFIED; every
            non-terminal one). Others answer ``ConflictException``.
        prompt_caching: how cache markers are accounted for (:class:`PromptCaching`; in batch
            jobs only with ``batch=True``, UNVERIFIED).
        accept_unknown_models: answer model ids the catalogue does not list, when their provider
            has one body format (``anthropic.``, ``meta.llama``, ``openai.``, ``qwen.``), in
            that family's shape. Off by default: like the service, Local Bedrock refuses ids it
            does not know ("Batch inference is not supported for the requested model.").
        linked_content_in_folder: a batch record linking an object (``s3Location``: a Nova
            video, a document) outside its job's input folder is errored (that record only, as
            a missing object is), as the facts (§1) say the service requires: the JSONL and the
            content it links in the same bucket and folder. On by default; ``False`` checks
            only that the object exists in the input bucket.
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
        events: bool = True,
        event_drop_rate: float = 0.0,
        idempotency_window_hours: float = 24.0,
        default_timeout_hours: int = 24,
        stoppable_statuses: Iterable[str] | None = None,
        prompt_caching: PromptCaching | None = None,
        accept_unknown_models: bool = False,
        linked_content_in_folder: bool = True,
    ) -> None:
        if clock == "manual":
            clock = ManualClock()
        elif clock is None:
            clock = ScaledClock(time_scale)
        elif isinstance(clock, str):
            raise ValueError("clock must be 'manual', a Clock, or None")
        stoppable = frozenset(ACTIVE if stoppable_statuses is None else stoppable_statuses)
        if not stoppable <= ACTIVE:
            raise ValueError(f"stoppable_statuses must be among {sorted(ACTIVE)}")
        self.clock: Clock = clock
        self.region = region
        self.account_id = account_id
        self._mock_s3 = mock_s3
        self._given_s3 = s3_client
        self._endpoint: str | None = None
        self._s3: Any = None
        self._moto: Any = None
        self.backend = Backend(
            s3=self._s3_client,
            events_client=self._events_client,
            clock=clock,
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
            events=events,
            event_drop_rate=event_drop_rate,
            idempotency_window=idempotency_window_hours * 3600.0,
            default_timeout_hours=default_timeout_hours,
            stoppable=stoppable,
            prompt_caching=prompt_caching,
            accept_unknown_models=accept_unknown_models,
            linked_content_in_folder=linked_content_in_folder,
            slice_records=_SLICE_RECORDS if is_realtime(clock) else None,
        )
        #: Routes requests to the backend (both modes use it).
        self.router = Router(self.backend, default_region=region)
        self._before_send = make_handler(self.handle)
        self._started = False
        self._ticker: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def use_endpoint(self, url: str) -> None:
        """Reach S3 and EventBridge at ``url`` (a server's moto app) instead of ``mock_aws``.

        :class:`LocalBedrockServer` calls this; call it before :meth:`start`.
        """
        if self._started:
            raise RuntimeError("use_endpoint() must be called before start()")
        self._endpoint = url
        self._mock_s3 = False

    def start(self) -> LocalBedrock:
        """Start moto (when ``mock_s3``) and, on a real-time clock, the lifecycle thread."""
        with self._lock:
            if self._started:
                return self
            if self._mock_s3 and self._given_s3 is None and self._endpoint is None:
                from moto import mock_aws

                _ownership.claim(self)  # every client in the process reaches us (or moto)
                self._moto = mock_aws(
                    config={"core": {"passthrough": {"services": _MOTO_PASSTHROUGH}}}
                )
                self._moto.start()
            self._started = True
            if is_realtime(self.clock):
                self._stopping.clear()
                self._ticker = threading.Thread(
                    target=self._tick_forever, name="local-bedrock-clock", daemon=True
                )
                self._ticker.start()
        return self

    def _tick_forever(self) -> None:
        """Real-time clocks: jobs progress even when nobody asks (outputs appear in S3)."""
        while not self._stopping.is_set():
            try:
                more = self.backend.tick()
            except Exception:  # keep the clock alive; the next API call reports
                log.exception("Local Bedrock background tick failed")
                more = False
            if not more:
                self._stopping.wait(0.05)

    def stop(self) -> None:
        """Stop the lifecycle thread first, then release files and moto (dropping its data)."""
        with self._lock:
            if not self._started:
                return
            self._stopping.set()
            if self._ticker is not None:
                self._ticker.join(timeout=30)
                self._ticker = None
            self.backend.events.flush()
            self.backend.close()
            if self._moto is not None:
                self._moto.stop()
                self._moto = None
            _ownership.release(self)
            self._started = False

    def __enter__(self) -> LocalBedrock:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- requests --------------------------------------------------------------------------

    def handle(self, service: str, request: Request) -> Response:
        """Answer one request for 'bedrock', 'bedrock-runtime' or 'service-quotas'."""
        return self.router.handle(service, request)

    # -- clients ---------------------------------------------------------------------------

    def _client_kwargs(self, region: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"region_name": region or self.region, **_FAKE_CREDENTIALS}
        if self._endpoint:
            kwargs["endpoint_url"] = self._endpoint
        return kwargs

    def _s3_client(self) -> Any:
        if self._given_s3 is not None:
            return self._given_s3
        if self._s3 is None:
            self._s3 = _boto3_session().client("s3", **self._client_kwargs())
        return self._s3

    def _events_client(self, region: str) -> Any:
        kwargs = self._client_kwargs(region)
        if self._given_s3 is not None and not self._endpoint:
            endpoint = str(self._given_s3.meta.endpoint_url)
            if "amazonaws.com" not in endpoint:
                kwargs["endpoint_url"] = endpoint
            elif not moto_is_mocking():
                return None  # never put events on a real bus
        return _boto3_session().client("events", **kwargs)

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
    @overload
    def client(self, service: str, **kwargs: Any) -> Any: ...
    def client(self, service: str, **kwargs: Any) -> Any:
        """A real boto3 client: Bedrock, bedrock-runtime and Service Quotas are answered here,
        every other service (S3, EventBridge, SQS...) by moto. Keyword arguments go to
        ``boto3.client`` (e.g. ``config``, ``region_name``)."""
        return self.session(region=kwargs.pop("region_name", None)).client(service, **kwargs)  # type: ignore[call-overload]

    def session(self, *, region: str | None = None) -> boto3.Session:
        """A boto3 session whose clients (created afterwards) are wired to this emulator."""
        self.start()
        kwargs = self._client_kwargs(region)
        session = _boto3_session(
            region_name=kwargs["region_name"],
            aws_access_key_id=kwargs["aws_access_key_id"],
            aws_secret_access_key=kwargs["aws_secret_access_key"],
        )
        for service in EMULATED_SERVICES:
            session.events.register(f"before-send.{service}", self._before_send)  # type: ignore[arg-type]
        if self._endpoint:
            _default_endpoint(session, self._endpoint)
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
        """The statuses a job (ARN or id) went through, with their *emulated* times."""
        return self.backend.history(job)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The EventBridge events emitted so far (the latest 10,000), as Bedrock shapes them."""
        return list(self.backend.events.sent)

    @property
    def fault_log(self) -> list[FaultEvent]:
        """Every fault injected so far."""
        return self.backend.faults.log

    @property
    def faults(self) -> Faults:
        """The live fault settings (can be changed between calls)."""
        return self.backend.faults

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LocalBedrockServer[LocalBedrock]:
        """Serve everything on one HTTP endpoint (see :class:`LocalBedrockServer`)."""
        from ._wire._server import LocalBedrockServer

        return LocalBedrockServer(self, host=host, port=port)


@lru_cache(maxsize=1)
def _loader() -> botocore.loaders.Loader:
    """One loader of botocore's service models for every session the emulator makes: each
    new session would otherwise parse the same JSON models again."""
    return botocore.loaders.create_loader()


def _boto3_session(**kwargs: Any) -> boto3.Session:
    core = botocore.session.get_session()
    loader = _loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, **kwargs)
    loader.search_paths[:] = dict.fromkeys(loader.search_paths)  # boto3 appends its own each time
    return session


def _default_endpoint(session: boto3.Session, url: str) -> None:
    """Make every client of ``session`` use ``url`` unless told otherwise."""
    original = session.client

    def client(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", url)
        return original(*args, **kwargs)

    session.client = client  # type: ignore[method-assign]
