"""bedrock_batch: Amazon Bedrock batch inference made easy, safe and fast.

``BatchJob`` builds records in each model family's format, shards and uploads them, creates
the model invocation job, waits for it, and joins every output back to its input by
``recordId``. ``bedrock_batch.local`` is an offline emulator of the service.
"""

from __future__ import annotations

from ._catalog import CATALOG, ModelInfo, family_of
from ._errors import (
    BatchError,
    JobExpiredError,
    JobFailedError,
    JobStoppedError,
    PollTimeoutError,
    Problem,
    QuotaError,
    ServiceError,
    StateError,
    ValidationError,
)
from ._job import BatchJob, BatchStatus, Mode, PartPlan, Plan
from ._lifecycle import TERMINAL, JobDescription, JobStatus, iter_jobs
from ._outputs import Usage
from ._polling import PollConfig
from ._pricing import PRICES, PRICES_DATE, Cost, Price
from ._quotas import Quotas
from ._results import Anomaly, ErrorInfo, OutputSource, Result, Results, ResultStatus, Summary

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
