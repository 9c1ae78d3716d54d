"""An in-process Local Bedrock owns the process's AWS traffic; a guard keeps tests on the machine.

While an in-process emulator runs (:meth:`LocalBedrock.start` to :meth:`LocalBedrock.stop`):

* every botocore request that no ``before-send`` handler answered — a client of a session made
  before the emulator started, or before moto was imported, or by code that never heard of the
  emulator — is answered here: Bedrock, bedrock-runtime and Service Quotas by the emulator, other
  services by moto. One that would still leave the machine raises :class:`NetworkDenied` at
  once (botocore does not retry it); a loopback endpoint that refuses the connection raises
  :class:`ConnectionRefusedError` naming it at once too, instead of botocore's minute of retries;
* the environment holds fake credentials and the emulator's region, the user's AWS config and
  credentials files are hidden, and every variable that could pick another endpoint, profile or
  credential source is removed. ``bedrock_batch``'s saved defaults are a fresh, empty file of
  the emulator's (``BEDROCK_BATCH_CONFIG``): ``setup`` writes there and jobs read from there,
  never the user's ``~/.config/bedrock-batch``; the user's ``BEDROCK_BATCH_ROLE_ARN``/
  ``_INPUT_URI``/``_OUTPUT_URI`` are hidden, and IAM needs no settle time
  (``BEDROCK_BATCH_IAM_SETTLE_SECONDS=0``). All is restored when the last emulator stops.

:func:`deny_network` is the socket-level guard the ``local_bedrock`` fixture (and this project's
own suite) runs under: a connection to anything but loopback (or a Unix socket) raises
:class:`NetworkDenied`. Standard library only.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import botocore.endpoint
from botocore.exceptions import EndpointConnectionError

__all__ = [
    "NetworkDenied",
    "claim",
    "deny_network",
    "isolated_environ",
    "private_config",
    "release",
]

#: botocore's endpoint prefixes of the services the emulator answers, and their service ids.
_EMULATED_PREFIXES = {
    "bedrock": "bedrock",
    "bedrock-runtime": "bedrock-runtime",
    "servicequotas": "service-quotas",
}
#: Variables that could pick an endpoint, a profile or a credential source other than ours.
_REMOVED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
_REMOVED_PREFIXES = ("AWS_ENDPOINT_URL",)
#: The client's saved-defaults file and the variables of its defaults (names only: the
#: emulator knows nothing else of the client).
CONFIG_ENV = "BEDROCK_BATCH_CONFIG"
_CLIENT_DEFAULTS = ("BEDROCK_BATCH_ROLE_ARN", "BEDROCK_BATCH_INPUT_URI", "BEDROCK_BATCH_OUTPUT_URI")


class Owner(Protocol):
    """What owning the process needs of an emulator (:class:`LocalBedrock`)."""

    region: str

    def _before_send(self, request: Any, event_name: str) -> Any: ...


class NetworkDenied(ConnectionRefusedError):
    """A connection that would leave the machine while Local Bedrock owns the process (or
    under :func:`deny_network`). Tests run under the emulator never reach AWS."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP literal or a name) is this machine: 127.0.0.0/8, ::1 or
    ``localhost``. Other names are not resolved, so they count as leaving."""
    host = host.strip("[]").split("%", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


# -- the environment -------------------------------------------------------------------------


@contextlib.contextmanager
def isolated_environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Apply ``changes`` to ``os.environ`` (None removes) and restore what was there after."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def emulator_environ(region: str) -> dict[str, str | None]:
    """The variables an owning emulator sets (None: removed)."""
    changes: dict[str, str | None] = dict.fromkeys(_REMOVED)
    changes.update(
        {name: None for name in os.environ if name.startswith(_REMOVED_PREFIXES)},
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=region,
        AWS_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        BEDROCK_BATCH_IAM_SETTLE_SECONDS="0",
    )
    changes.update(dict.fromkeys(_CLIENT_DEFAULTS))
    return changes


@contextlib.contextmanager
def private_config() -> Iterator[str]:
    """``BEDROCK_BATCH_CONFIG`` pointing at a file in a fresh temporary folder (removed after),
    so saved defaults are neither read from nor written to the user's configuration."""
    folder = tempfile.mkdtemp(prefix="bedrock-batch-local-")
    path = os.path.join(folder, "config.json")
    try:
        with isolated_environ({CONFIG_ENV: path}):
            yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- owning botocore's requests ----------------------------------------------------------------

_lock = threading.Lock()
_owners: list[Owner] = []
_undo: list[contextlib.ExitStack] = []  # while owned: how to give the process back
_ENDPOINT: Any = botocore.endpoint.Endpoint  # its ``_send`` is not in the type stubs
_original_send = _ENDPOINT._send


def claim(local: Owner) -> None:
    """Make ``local`` the owner of the process's botocore requests until :func:`release`
    (emulators started later own them first; the first one in sets the environment)."""
    with _lock:
        if not _owners:
            stack = contextlib.ExitStack()
            stack.enter_context(isolated_environ(emulator_environ(local.region)))
            stack.enter_context(private_config())
            _ENDPOINT._send = _owned_send
            stack.callback(setattr, _ENDPOINT, "_send", _original_send)
            _undo.append(stack)
        _owners.append(local)


def release(local: Owner) -> None:
    """Undo :func:`claim`; the last one out restores the environment and botocore."""
    with _lock:
        if local in _owners:
            _owners.remove(local)
        if not _owners:
            while _undo:
                _undo.pop().close()


def _owned_send(self: botocore.endpoint.Endpoint, request: Any) -> Any:
    owner = _owners[-1] if _owners else None
    url = str(request.url)
    if owner is None:
        return _original_send(self, request)
    if is_loopback(urlsplit(url).hostname or ""):
        try:
            return _original_send(self, request)
        except EndpointConnectionError as err:
            raise ConnectionRefusedError(
                f"could not connect to {url} (nothing listens there); Local Bedrock owns this "
                "process, so the request is not retried"
            ) from err
    prefix = getattr(self, "_endpoint_prefix", "")
    service = _EMULATED_PREFIXES.get(prefix)
    if service is not None:
        return owner._before_send(request=request, event_name=f"before-send.{service}")
    response = _moto_answer(prefix, request)
    if response is not None:
        return response
    raise NetworkDenied(
        f"{request.method} {url} would leave the machine: Local Bedrock owns this process's "
        f"AWS calls and answers only Bedrock, bedrock-runtime and Service Quotas (moto answers "
        f"the other services it knows)"
    )


def _moto_answer(prefix: str, request: Any) -> Any:
    """moto's answer for a request its ``before-send`` hook did not see (None when moto is not
    mocking or does not know the URL)."""
    try:
        from moto.core.models import botocore_stubber
    except ImportError:  # pragma: no cover - moto comes with the local extra
        return None
    return botocore_stubber(event_name=f"before-send.{prefix}", request=request)


# -- the socket guard ----------------------------------------------------------------------------


def _allowed(address: Any) -> bool:
    if not isinstance(address, tuple):  # a Unix socket path (str or bytes)
        return True
    return is_loopback(str(address[0]))


@contextlib.contextmanager
def deny_network() -> Iterator[None]:
    """Refuse every socket connection except to loopback (127.0.0.0/8, ::1, ``localhost``)
    and Unix sockets, with :class:`NetworkDenied` naming the address. Nests; restored after."""
    cls = socket.socket
    connect, connect_ex = cls.connect, cls.connect_ex

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if not _allowed(address):
            raise NetworkDenied(_denied(address))
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        if not _allowed(address):
            raise NetworkDenied(_denied(address))
        return connect_ex(sock, address)

    cls.connect = guarded_connect  # type: ignore[method-assign,assignment]
    cls.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        cls.connect = connect  # type: ignore[method-assign]
        cls.connect_ex = connect_ex  # type: ignore[method-assign]


def _denied(address: Any) -> str:
    host, port = address[0], address[1]
    return (
        f"connection to {host}:{port} refused: only loopback connections are allowed here "
        "(tests under Local Bedrock never leave the machine)"
    )
