"""What ``doctor`` reports: one :class:`DoctorCheck` per question, gathered in a
:class:`DoctorReport`; and where the job's defaults come from (:func:`doctor_settings`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import attrs

from ._config import DEFAULT_PROFILE, SavedDefaults
from ._defaults import ARGUMENT, DEFAULTED, layered
from ._policy import CANNOT_TELL, FAIL, PASS, WARN, Verdict

__all__ = ["DoctorCheck", "DoctorReport", "Setting", "doctor_settings"]

#: The exit code of ``bedrock-batch doctor`` when a check fails or cannot tell.
EXIT_PROBLEM = 2


@attrs.frozen
class DoctorCheck:
    """One check: its name, verdict (``"pass"``, ``"warn"``, ``"fail"`` or ``"cannot tell"``),
    what was found, in one line, and the fix (None when there is nothing to fix)."""

    name: str
    verdict: Verdict
    summary: str
    fix: str | None = None

    @property
    def ok(self) -> bool:
        """A pass, or a warning (which does not stop a batch)."""
        return self.verdict in (PASS, WARN)

    def line(self) -> str:
        """The check as one line: ``VERDICT name: summary; fix: ...``."""
        text = f"{self.verdict.upper():<11} {self.name}: {self.summary}"
        return f"{text}; fix: {self.fix}" if self.fix else text

    def to_json(self) -> dict[str, Any]:
        """The check as JSON (camelCase keys, as the CLI's ``--json``)."""
        return {"name": self.name, "verdict": self.verdict, "summary": self.summary, "fix": self.fix}  # fmt: skip


@attrs.frozen
class Setting:
    """One of the job's defaults and where it came from (``"--role-arn"``, an environment
    variable, the configuration file), or None with ``source="not set"``."""

    value: str | None
    source: str


@attrs.frozen
class DoctorReport:
    """Every check ``doctor`` ran, in order, and what it checked against."""

    checks: tuple[DoctorCheck, ...]
    account: str | None = None
    region: str | None = None
    model_id: str | None = None
    role_arn: Setting = Setting(None, "not set")
    input_uri: Setting = Setting(None, "not set")
    output_uri: Setting = Setting(None, "not set")

    @property
    def ok(self) -> bool:
        """True when every check passed (warnings allowed)."""
        return all(c.ok for c in self.checks)

    @property
    def exit_code(self) -> int:
        """0 when every check passed (warnings allowed), 2 when one failed or cannot tell."""
        return 0 if self.ok else EXIT_PROBLEM

    def __getitem__(self, name: str) -> DoctorCheck:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def lines(self) -> list[str]:
        """One line per check, then a one-line total."""
        counts = {v: sum(c.verdict == v for c in self.checks) for v in (PASS, WARN, FAIL, CANNOT_TELL)}  # fmt: skip
        total = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        verdict = "ready" if self.ok else "not ready"
        return [c.line() for c in self.checks] + [f"{verdict}: {total}"]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (camelCase keys)."""
        return {
            "ok": self.ok,
            "account": self.account,
            "region": self.region,
            "modelId": self.model_id,
            "defaults": {
                name: {"value": s.value, "source": s.source}
                for name, s in (
                    ("roleArn", self.role_arn),
                    ("inputUri", self.input_uri),
                    ("outputUri", self.output_uri),
                )
            },
            "checks": [c.to_json() for c in self.checks],
        }


def doctor_settings(
    *,
    account: str | None,
    region: str | None,
    profile: str | None,
    role_arn: str | None,
    input_uri: str | None,
    output_uri: str | None,
    entries: Sequence[SavedDefaults] = (),
) -> tuple[dict[str, Setting], SavedDefaults | None]:
    """The role ARN and URIs a job would use, in the jobs' own order
    (:func:`~._defaults.layered`: explicit argument, else the environment, else the saved entry
    of ``entries`` for exactly this profile, account and region), and the entry used, if any."""
    key = (profile or DEFAULT_PROFILE, account, region)
    entry = next((e for e in entries if e.key == key), None)
    given = {"role_arn": role_arn, "input_uri": input_uri, "output_uri": output_uri}
    labels = {ARGUMENT: None, "entry": f"the configuration file (profile {key[0]!r})", None: "not set"}  # fmt: skip
    flags = {name: flag for name, _, flag in DEFAULTED}
    out: dict[str, Setting] = {}
    for name, (value, where) in layered(given, os.environ, entry).items():
        source = labels.get(where, where) if where != ARGUMENT else flags[name]
        out[name] = Setting(value, source or "not set")
    return out, entry
