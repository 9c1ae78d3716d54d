"""Shared fixtures and constants: Local Bedrock in-process (manual clock) with moto S3, and in
server mode; the model, role and buckets the tests use.

Knobs for an emulator come from the ``emulator`` marker: ``@pytest.mark.emulator(faults=...)`` on a
test (or ``pytestmark = pytest.mark.emulator(...)`` on a module) is passed to the LocalBedrock of
the ``local``, ``server`` and ``module_server`` fixtures.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, settings

# The suite starts ~100 interpreters (console-script runs, docs pages in fresh processes, the
# SIGKILL test's final run): where the environment sets PYTHONDONTWRITEBYTECODE, each compiled the
# package again (~0.25 s of CPU each). Here they compile it once and reuse it (__pycache__ is
# git-ignored); set before the package is imported, inherited by the xdist workers.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False


def _share_botocore_models() -> None:
    """Every botocore session of a test process shares one loader of botocore's JSON models (per
    ``AWS_DATA_PATH``), as the emulator's and the CLI's own sessions do: the suite makes ~2,000
    sessions (a handle's default session, the tests' own) and each would parse the same files
    again (endpoints, S3's model: ~0.2 s of CPU a session, ~40 s a run). The files and what is
    read from them are the same; only the parse is shared."""
    import functools

    import botocore.loaders
    import botocore.session

    class _Paths(list[str]):
        def append(self, path: str) -> None:  # boto3 appends its own path for every session
            if path not in self:
                super().append(path)

    @functools.lru_cache(maxsize=8)
    def shared(data_path: str | None = None) -> botocore.loaders.Loader:
        loader = botocore.loaders.create_loader(data_path)
        loader._search_paths = _Paths(loader.search_paths)  # type: ignore[attr-defined]
        return loader

    botocore.session.create_loader = shared  # type: ignore[assignment]  # what sessions call


def _share_botocore_handler_checks() -> None:
    """Two pure computations botocore repeats for every session and client, done once per
    process: the name each event name is aliased to (an empty cache per session and per
    client, though the aliases are always botocore's own), and whether a handler accepts
    ``**kwargs`` (``inspect`` on each of a session's ~130 handlers at each registration).
    Together ~10 s of CPU a run; what botocore registers, emits and checks is unchanged."""
    import weakref

    import botocore.hooks
    from botocore.utils import EVENT_ALIASES

    aliased: dict[str, str] = {}
    aliaser_init = botocore.hooks.EventAliaser.__init__

    def init(self: Any, event_emitter: Any, event_aliases: Any = None) -> None:
        aliaser_init(self, event_emitter, event_aliases)
        if list(self._event_aliases.items()) == list(EVENT_ALIASES.items()):  # botocore's own
            self._alias_name_cache = aliased

    botocore.hooks.EventAliaser.__init__ = init  # type: ignore[method-assign]

    checked: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
    accepts = botocore.hooks.accepts_kwargs

    def accepts_kwargs(func: Any) -> Any:
        key = getattr(func, "__func__", func)  # a bound method takes its function's **kwargs
        try:
            return checked[key]
        except (KeyError, TypeError):  # TypeError: not weakly referable, not cached
            pass
        answer = accepts(func)
        with contextlib.suppress(TypeError):
            checked[key] = answer
        return answer

    botocore.hooks.accepts_kwargs = accepts_kwargs


def _share_moto_routes() -> None:
    """moto routes each request through its backend's URL table, which it builds again for
    every request — S3's by reloading ``moto.s3.urls`` (~0.5 ms a call, ~20,000 S3 calls a
    run). Built once per backend class and per setting the table reads (the ISO-region and
    custom-S3-endpoint variables); the tables and the routing are unchanged."""
    from moto.core.base_backend import BaseBackend
    from moto.settings import enable_iso_regions

    table = BaseBackend.urls
    built: dict[tuple[Any, ...], Any] = {}

    def urls(self: Any) -> Any:
        key = (type(self), enable_iso_regions(), os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS"))
        if key not in built:
            built[key] = table.fget(self)  # type: ignore[attr-defined]
        return built[key]

    BaseBackend.urls = property(urls)  # type: ignore[method-assign,assignment]


_share_botocore_models()
_share_botocore_handler_checks()
_share_moto_routes()

from bedrock_batch import BatchJob, PollConfig  # noqa: E402 (after the bytecode setting)
from bedrock_batch._common._codec import encode_line  # noqa: E402 (after the bytecode setting)
from bedrock_batch._records._store import RecordStore  # noqa: E402 (after the bytecode setting)
from bedrock_batch.local import LocalBedrock, deny_network  # noqa: E402 (after the bytecode setting)

if TYPE_CHECKING:
    from bedrock_batch.local import LocalBedrockServer

#: ``pytester`` runs a separate test suite (the ``local_bedrock`` fixture as a user sees it).
pytest_plugins = ["pytester"]

#: ``BEDROCK_BATCH_HYPOTHESIS=thorough``: hypothesis's ``thorough`` profile (ten times the
#: examples, here and in the tests that set their own count through :func:`examples`) and the
#: full sizes of the sampled tests (the SIGKILL test's kill points). Run it before a release; the
#: default keeps the suite within its time budget (tests/README.md).
THOROUGH = os.environ.get("BEDROCK_BATCH_HYPOTHESIS", "default") == "thorough"

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.register_profile("thorough", settings.get_profile("default"), max_examples=400)
settings.load_profile("thorough" if THOROUGH else "default")


def examples(n: int) -> int:
    """``max_examples`` for a test that sets its own: ``n``, ten times that when thorough."""
    return n * 10 if THOROUGH else n


#: Slow tests start first, longest first, so that on several workers (pytest-xdist) none is left
#: running alone at the end: these files (each from ten seconds to a minute on one core), then
#: the tests marked ``slow``.
_FIRST = (
    "tests/promises/test_model_based.py",
    "tests/docs/test_pages_as_pasted.py",
    "tests/promises/test_crash_safety.py",
    "tests/integrations/test_dask_inputs.py",
    "tests/docs/test_docs.py",
    "tests/integrations/test_dask.py",
    "tests/docs/test_snippets.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Opt-in tests (``bigmem``, ``live``, ``mutants``) run only when ``-m`` names them;
    otherwise they are deselected (reported as such), never skipped."""
    wanted = config.getoption("markexpr") or ""
    keep, drop = [], []
    for item in items:
        opt_in = [m for m in ("bigmem", "live", "mutants") if item.get_closest_marker(m)]
        (drop if any(m not in wanted for m in opt_in) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # a stable sort: the order within each group is kept (and is the same on every worker)
    items[:] = sorted(keep, key=_start_rank)


def _start_rank(item: pytest.Item) -> int:
    path = item.nodeid.split("::", 1)[0]
    if path in _FIRST:
        return _FIRST.index(path)
    return len(_FIRST) + (0 if item.get_closest_marker("slow") else 1)


#: The model most tests run: Claude 3 Haiku (cheap, batch-capable, in every region the tests use).
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
_OPEN: list[BatchJob] = []


def track(job: BatchJob) -> BatchJob:
    """Close this job (its local copy of the records) when the test ends."""
    _OPEN.append(job)
    return job


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    """No test leaves the machine: a connection to anything but loopback (127.0.0.0/8, ::1)
    raises ``NetworkDenied`` (opt-in ``live`` tests excepted). Two attribute swaps a test."""
    if request.node.get_closest_marker("live"):
        yield
        return
    with deny_network():
        yield


@pytest.fixture(autouse=True)
def _close_jobs() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


#: The service role jobs run as (Local Bedrock checks its account and shape, not its name).
ROLE = "arn:aws:iam::123456789012:role/BedrockBatch"
#: The test bucket. moto's backends are per process and a server does not reset them, so a module
#: that keeps one server for all its tests has a bucket of its own (below): what one module leaves
#: in S3 is never listed by another.
BUCKET = "bkt"
CLI_BUCKET = "cli-bucket"
FIRST_HOUR_BUCKET = "first-hour"


def claude_body(text: str, max_tokens: int = 200) -> dict[str, Any]:
    """A valid Anthropic Messages body."""
    return {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}],
    }


def jsonl(records: list[dict[str, Any]]) -> bytes:
    """Encode input lines."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def knobs(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of the closest ``emulator`` marker (test, class or module), copied:
    faults are consumed as they fire, so every emulator gets its own."""
    marker = request.node.get_closest_marker("emulator")
    return copy.deepcopy(marker.kwargs) if marker else {}


@pytest.fixture
def no_backoff() -> Iterator[list[float]]:
    """botocore retries without sleeping its backoff; the delays it asked for (a test of
    retries asserts there were some)."""
    from .support import RecordedBackoff

    backoff = RecordedBackoff()
    yield backoff.delays
    backoff.undo()


@pytest.fixture
def local(request: pytest.FixtureRequest) -> Iterator[LocalBedrock]:
    """An in-process Local Bedrock on a manual clock (time moves only when told), with the
    knobs of the test's ``emulator`` marker."""
    with LocalBedrock(**{"clock": "manual", **knobs(request)}) as lb:
        yield lb


@contextlib.contextmanager
def serving(bucket: str | None = None, **kwargs: Any) -> Iterator[LocalBedrockServer]:
    """``LocalBedrock(**kwargs)`` served on a free loopback port, with ``bucket`` created in its
    S3; stopped on leaving. Never keep a server past its test or module: its clock keeps running
    jobs, and it would write into the S3 of the tests after it."""
    with LocalBedrock(**kwargs).serve(port=0) as server:
        if bucket is not None:
            import boto3

            boto3.session.Session().client(
                "s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                aws_access_key_id="testing", aws_secret_access_key="testing",
            ).create_bucket(Bucket=bucket)  # fmt: skip
        yield server


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[LocalBedrockServer]:
    """A Local Bedrock server for one test: the default clock (1000 emulated seconds a second)
    unless the test's ``emulator`` marker says otherwise; ``bucket=`` in it creates that bucket."""
    with serving(**knobs(request)) as srv:
        yield srv


@pytest.fixture(scope="module")
def module_server(request: pytest.FixtureRequest) -> Iterator[LocalBedrockServer]:
    """One Local Bedrock server for all the tests of a module (a fresh one for each module), for
    tests that each start console-script subprocesses against it. Its knobs come from the
    module's ``pytestmark = pytest.mark.emulator(...)``."""
    with serving(**knobs(request)) as srv:
        yield srv


@pytest.fixture
def session(local: LocalBedrock) -> Any:
    """A boto3 session wired to the emulator, with the test bucket created."""
    sess = local.session()
    sess.client("s3").create_bucket(Bucket=BUCKET)
    return sess


@pytest.fixture
def s3(session: Any) -> Any:
    return session.client("s3")


@pytest.fixture
def bedrock(session: Any) -> Any:
    return session.client("bedrock")


@pytest.fixture
def make_job(local: LocalBedrock, session: Any) -> Callable[..., BatchJob]:
    """A BatchJob factory whose waits advance the emulated clock instead of sleeping."""
    return job_factory(local, session)


def job_factory(local: LocalBedrock, session: Any) -> Callable[..., BatchJob]:
    """``make_job`` on any emulator and session (e.g. a module's, see records/test_malformed_inputs)."""

    def make(model_id: str = HAIKU, **kwargs: Any) -> BatchJob:
        kwargs.setdefault("session", session)
        kwargs.setdefault("sleep", lambda s: local.advance(s))
        kwargs.setdefault("poll", PollConfig(initial=30, max_interval=600, jitter=0))
        role = kwargs.pop("role_arn", ROLE)
        input_uri = kwargs.pop("input_uri", f"s3://{BUCKET}/in/")
        output_uri = kwargs.pop("output_uri", f"s3://{BUCKET}/out/")
        return track(BatchJob(model_id, role, input_uri, output_uri, **kwargs))

    return make


def create_job(bedrock: Any, **overrides: Any) -> str:
    """CreateModelInvocationJob with sensible defaults; returns the ARN."""
    params: dict[str, Any] = {
        "jobName": "job-1",
        "roleArn": ROLE,
        "modelId": HAIKU,
        "inputDataConfig": {"s3InputDataConfig": {"s3Uri": f"s3://{BUCKET}/in/"}},
        "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": f"s3://{BUCKET}/out/"}},
    }
    params.update(overrides)
    return str(bedrock.create_model_invocation_job(**params)["jobArn"])


def put_records(s3: Any, n: int, key: str = "in/data.jsonl", start: int = 0) -> list[str]:
    """Upload n valid Claude records; returns their ids."""
    ids = [f"rec{start + i:05d}" for i in range(n)]
    s3.put_object(
        Bucket=BUCKET,
        Key=key,
        Body=jsonl([{"recordId": r, "modelInput": claude_body(f"question {r}")} for r in ids]),
    )
    return ids


def store_of(n: int, prefix: str = "q") -> RecordStore:
    """A record store of n valid Claude lines, ids R0, R1, ... (the caller closes it)."""
    store = RecordStore()
    for i in range(n):
        store.append_line(
            f"R{i}",
            encode_line({"recordId": f"R{i}", "modelInput": claude_body(f"{prefix}{i}", 40)}),
        )
    return store


def read_out(s3: Any, key: str) -> list[dict[str, Any]]:
    """Parse an output .jsonl.out (split on \\n only)."""
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return [json.loads(line) for line in body.split(b"\n") if line.strip()]


def job_on(
    local: LocalBedrock, model_id: str = HAIKU, *, session: Any = None, **kwargs: Any
) -> BatchJob:
    """A BatchJob on an emulator (test bucket created), whose waits advance the emulated clock;
    ``session``: a session of ``local`` (the ``session`` fixture), else a new one."""
    session = session or local.session()
    s3 = session.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    kwargs.setdefault("sleep", local.advance)
    kwargs.setdefault("poll", PollConfig(initial=30, max_interval=600, jitter=0))
    return track(
        BatchJob(
            model_id, ROLE, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out/", session=session, **kwargs
        )
    )


def endpoint_env(url: str) -> dict[str, str]:
    """Environment for a subprocess that talks to a Local Bedrock server."""
    import os

    return {
        **os.environ,
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
