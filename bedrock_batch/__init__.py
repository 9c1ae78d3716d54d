"""bedrock_batch: Amazon Bedrock batch inference made easy, safe and fast.

``BatchJob`` builds records in each model family's format, shards and uploads them, creates
the model invocation job, waits for it, and joins every output back to its input by
``recordId``. ``bedrock_batch.local`` is an offline emulator of the service.
"""

from __future__ import annotations

from ._bedrock import TERMINAL, JobDescription, JobStatus, iter_jobs
from ._catalog import CATALOG, ModelInfo, family_of
from ._errors import (
    BatchError,
    JobExpiredError,
    JobFailedError,
    JobStoppedError,
    LedgerError,
    PollTimeoutError,
    Problem,
    QuotaError,
    ServiceError,
    StateError,
    ValidationError,
)
from ._job import BatchJob
from ._ledger import Ledger
from ._outputs import Usage
from ._polling import PollConfig
from ._pricing import PRICES, PRICES_DATE, Cost, Price
from ._quotas import Quotas
from ._results import Anomaly, ErrorInfo, OutputSource, Result, Results, ResultStatus
from ._spec import Mode
from ._status import BatchStatus
from ._summary import Summary
from ._uploader import PartPlan, Plan

__all__ = [
    "CATALOG",
    "PRICES",
    "PRICES_DATE",
    "TERMINAL",
    "Anomaly",
    "BatchError",
    "BatchJob",
    "BatchStatus",
    "Cost",
    "ErrorInfo",
    "JobDescription",
    "JobExpiredError",
    "JobFailedError",
    "JobStatus",
    "JobStoppedError",
    "Ledger",
    "LedgerError",
    "Mode",
    "ModelInfo",
    "OutputSource",
    "PartPlan",
    "Plan",
    "PollConfig",
    "PollTimeoutError",
    "Price",
    "Problem",
    "QuotaError",
    "Quotas",
    "Result",
    "ResultStatus",
    "Results",
    "ServiceError",
    "StateError",
    "Summary",
    "Usage",
    "ValidationError",
    "family_of",
    "iter_jobs",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("bedrock-batch")
    raise AttributeError(name)
