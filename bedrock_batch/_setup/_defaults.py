"""A job's role and S3 prefixes when the caller leaves them out.

Each of ``role_arn``, ``input_uri`` and ``output_uri`` comes from, in this order:

1. the argument (``BatchJob(model, role_arn=...)``, ``--role-arn``);
2. the environment (``BEDROCK_BATCH_ROLE_ARN``, ``BEDROCK_BATCH_INPUT_URI``,
   ``BEDROCK_BATCH_OUTPUT_URI``);
3. the entry ``bedrock-batch setup`` saved for the session's profile, account and region
   (:mod:`._config`; an entry for another account or region is never used).

Nothing is guessed: a value found nowhere is a :class:`ValidationError` naming the argument, the
variable and ``bedrock-batch setup``. Resolution runs when a job is planned or submitted, never
when it is built; the file (and STS, for the account) is read only when something is missing
after the first two steps.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .._errors import BatchError, Problem, ValidationError
from ._config import (
    DEFAULT_PROFILE,
    ENV_INPUT_URI,
    ENV_OUTPUT_URI,
    ENV_ROLE_ARN,
    config_path,
    load_saved,
)

if TYPE_CHECKING:
    from .._batch._spec import JobParams
    from .._common._clients import Clients

__all__ = ["ARGUMENT", "DEFAULTED", "Defaults", "job_defaults", "layered", "resolve_defaults"]

#: The parameters that have defaults: (name, environment variable, CLI flag).
DEFAULTED = (
    ("role_arn", ENV_ROLE_ARN, "--role-arn"),
    ("input_uri", ENV_INPUT_URI, "--input-uri"),
    ("output_uri", ENV_OUTPUT_URI, "--output-uri"),
)
#: The source of a value the caller gave.
ARGUMENT = "argument"


@attrs.frozen
class Defaults:
    """The three values and where each came from (``"argument"``, ``"environment
    (BEDROCK_BATCH_ROLE_ARN)"`` or ``"config file PATH (profile …, account …, region …)"``)."""

    role_arn: str
    input_uri: str
    output_uri: str
    sources: tuple[tuple[str, str], ...]


def layered(
    given: Mapping[str, str | None],
    environ: Mapping[str, str],
    entry: object | None = None,
) -> dict[str, tuple[str | None, str | None]]:
    """The one order, for jobs and ``doctor`` alike: each of :data:`DEFAULTED` as
    ``(value, where)`` — where is :data:`ARGUMENT`, the environment variable's name, or
    ``"entry"`` for the saved ``entry`` (a :class:`~._config.SavedDefaults`, or None) —
    or ``(None, None)`` when found nowhere."""
    out: dict[str, tuple[str | None, str | None]] = {}
    for name, var, _ in DEFAULTED:
        if given.get(name):
            out[name] = (str(given[name]), ARGUMENT)
        elif environ.get(var):
            out[name] = (environ[var], var)
        elif entry is not None:
            out[name] = (str(getattr(entry, name)), "entry")
        else:
            out[name] = (None, None)
    return out


def resolve_defaults(
    given: Mapping[str, str | None],
    *,
    region: str | None,
    identity: Callable[[], tuple[str, str | None]],
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Defaults:
    """Fill in what ``given`` lacks (None) from the environment, then the saved entry.

    ``identity`` returns ``(account, profile)``; it is called (an STS call) only when a value
    is still missing and the configuration file has entries. Raises :class:`ValidationError`
    for every value found nowhere, :class:`ConfigError` for a file that cannot be read.
    """
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for name, (value, where) in layered(given, env).items():
        if value is not None and where is not None:
            values[name] = value
            sources[name] = where if where == ARGUMENT else f"environment ({where})"
    missing = [n for n, _, _ in DEFAULTED if n not in values]
    why = ""
    if missing:
        path = path or config_path()
        entries = load_saved(path)
        if not entries:
            why = f"{path} has no saved defaults"
        elif region is None:
            why = "no AWS region, so no saved entry applies"
        else:
            try:
                account, profile = identity()
            except BatchError as err:  # no credentials, no network: say so, guess nothing
                account, profile, why = "", None, f"the account could not be read ({err})"
            key = (profile or DEFAULT_PROFILE, account, region)
            entry = next((e for e in entries if account and e.key == key), None)
            if entry is not None:
                where = f"config file {path} (profile {key[0]}, account {account}, region {region})"
                for name in missing:
                    values[name], sources[name] = getattr(entry, name), where
            elif not why:
                why = (
                    f"{path} has no entry for profile {key[0]}, account {account}, region {region}"
                )
    still = [(n, var, flag) for n, var, flag in DEFAULTED if n not in values]
    if still:
        problems = [
            Problem(
                f"not given: pass {name}= ({flag} on the command line), set {var}, or run "
                f"'bedrock-batch setup' once ({why})",
                field=name,
            )
            for name, var, flag in still
        ]
        raise ValidationError("the job's role or S3 prefixes are not set", problems)
    return Defaults(
        values["role_arn"],
        values["input_uri"],
        values["output_uri"],
        tuple((n, sources[n]) for n, _, _ in DEFAULTED),
    )


def _identity(clients: Clients, region: str | None) -> Callable[[], tuple[str, str | None]]:
    def read() -> tuple[str, str | None]:
        from .._errors import translate_client_error

        with translate_client_error("GetCallerIdentity"):
            account = str(clients.sts.get_caller_identity()["Account"])
            return account, clients.profile

    return read


def job_defaults(
    params: JobParams, clients: Clients, region: str | None
) -> tuple[JobParams, tuple[tuple[str, str], ...]]:
    """``params`` with its role and prefixes filled in, and where each came from."""
    given = {name: getattr(params, name) for name, _, _ in DEFAULTED}
    if all(v is not None for v in given.values()):
        return params, tuple((n, ARGUMENT) for n in given)
    found = resolve_defaults(given, region=region, identity=_identity(clients, region))
    params = attrs.evolve(
        params, role_arn=found.role_arn, input_uri=found.input_uri, output_uri=found.output_uri
    )
    return params, found.sources
