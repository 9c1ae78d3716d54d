"""What ``setup`` did, or would do: one :class:`Step` per resource, and the :class:`SetupReport`."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["CREATED", "FOUND", "UPDATED", "SetupReport", "Step"]

CREATED = "created"
FOUND = "found, unchanged"
UPDATED = "updated"


@attrs.frozen
class Step:
    """One resource: what it is, its name, the outcome (``created``, ``found, unchanged``,
    ``updated``, ``would create``, ``would update``, ``saved``, ...) and a detail."""

    what: str
    name: str
    outcome: str
    detail: str = ""

    @property
    def changed(self) -> bool:
        """Whether this step wrote something (never under ``dry_run``)."""
        return self.outcome in (CREATED, UPDATED)

    def __str__(self) -> str:
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.what} {self.name}: {self.outcome}{detail}"


@attrs.frozen
class SetupReport:
    """The account's batch resources after :func:`bedrock_batch.setup` (or the plan, with
    ``dry_run``): what each step did, and the defaults saved for later jobs."""

    account: str
    region: str
    profile: str
    bucket: str
    role_arn: str
    input_uri: str
    output_uri: str
    models: tuple[str, ...]
    steps: tuple[Step, ...]
    config_path: str
    dry_run: bool = False
    settle_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        """Whether anything was created or updated in the account."""
        return any(s.changed and s.what != "config file" for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON (camelCase keys, as the CLI's ``--json``)."""
        return {
            "account": self.account,
            "region": self.region,
            "profile": self.profile,
            "bucket": self.bucket,
            "roleArn": self.role_arn,
            "inputUri": self.input_uri,
            "outputUri": self.output_uri,
            "models": list(self.models),
            "dryRun": self.dry_run,
            "settleSeconds": self.settle_seconds,
            "configPath": self.config_path,
            "steps": [
                {"what": s.what, "name": s.name, "outcome": s.outcome, "detail": s.detail}
                for s in self.steps
            ],
        }

    def __str__(self) -> str:
        head = "plan (dry run: nothing was changed)" if self.dry_run else "setup"
        lines = [f"{head} for account {self.account}, region {self.region}, profile {self.profile}"]
        lines += [f"  {s}" for s in self.steps]
        lines += [
            f"  role ARN   {self.role_arn}",
            f"  inputs     {self.input_uri}",
            f"  outputs    {self.output_uri}",
        ]
        if not self.dry_run:
            lines.append("BatchJob(model_id) and 'bedrock-batch run FILE --model-id MODEL' now use these.")  # fmt: skip
        return "\n".join(lines)
