"""bedrock_batch: Amazon Bedrock batch inference made easy, safe and fast.

``BatchJob`` builds records in each model family's format, shards and uploads them, creates
the model invocation jobs, waits for them, and joins every output back to its input by
``recordId``. ``bedrock_batch.local`` is an offline emulator of the service.

The tree reads as the data flow; each subpackage's docstring says what lives there::

    _families/     one module per model family: bodies, checks, structured outputs, reading outputs
    _records/      records: intake (add_*, DataFrames), ids, templates, the local record store
    _batch/        what defines a batch: job parameters and identity, quotas, sharding
    _uploader/     the plan and the upload of input files (and reading them back)
    _ledger/       the batch's typed state, stored in S3 before each action it announces
    _lifecycle/    Bedrock jobs (create, poll, stop), on-demand runs, waiting, retry, status
    _reader/       outputs read back, the join by recordId, results, summary, partitions, export
    _job.py        BatchJob: composes the four parts above, nothing else
    _common/       plumbing: JSON codec, S3 access, URIs, clients, job views, display, progress
    _catalog.py    the model table (data, shared with Local Bedrock)
    _pricing.py    the price table (data)
    _errors.py     the error tree
    _setup/        before the first batch: setup(), the saved defaults, the doctor's checks
    _cli/          the ``bedrock-batch`` command line
    aio, dask, events, iam, local    the public integrations and the emulator
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported when first used
    from ._batch._quotas import Quotas
    from ._batch._spec import Mode
    from ._catalog import CATALOG, ModelInfo, family_of
    from ._common._bedrock import TERMINAL, JobDescription, JobStatus, iter_jobs
    from ._errors import (
        BatchError,
        BudgetError,
        ConfigError,
        JobExpiredError,
        JobFailedError,
        JobStoppedError,
        LedgerError,
        NotFinishedError,
        PollTimeoutError,
        Problem,
        QuotaError,
        ServiceError,
        SetupError,
        StateError,
        ValidationError,
    )
    from ._families._outputs import Usage
    from ._families._protocol import S3Media
    from ._job import BatchJob
    from ._ledger._ledger import Ledger
    from ._lifecycle._polling import PollConfig
    from ._lifecycle._status import BatchStatus
    from ._pricing import PRICES, PRICES_DATE, Cost, Price
    from ._reader._results import Anomaly, ErrorInfo, OutputSource, Result, ResultStatus
    from ._reader._resultset import Results
    from ._reader._summary import Summary
    from ._setup._account import setup
    from ._setup._doctor import doctor
    from ._setup._report import DoctorCheck, DoctorReport
    from ._setup._steps import SetupReport
    from ._uploader._uploader import PartPlan, Plan

#: Where each public name lives (imported on first use, so ``import bedrock_batch`` is cheap).
_LAZY: dict[str, str] = {
    "Anomaly": "._reader._results",
    "BatchError": "._errors",
    "BudgetError": "._errors",
    "ConfigError": "._errors",
    "BatchJob": "._job",
    "BatchStatus": "._lifecycle._status",
    "CATALOG": "._catalog",
    "Cost": "._pricing",
    "ErrorInfo": "._reader._results",
    "JobDescription": "._common._bedrock",
    "JobExpiredError": "._errors",
    "JobFailedError": "._errors",
    "JobStatus": "._common._bedrock",
    "JobStoppedError": "._errors",
    "Ledger": "._ledger._ledger",
    "LedgerError": "._errors",
    "Mode": "._batch._spec",
    "NotFinishedError": "._errors",
    "ModelInfo": "._catalog",
    "OutputSource": "._reader._results",
    "PRICES": "._pricing",
    "PRICES_DATE": "._pricing",
    "PartPlan": "._uploader._uploader",
    "Plan": "._uploader._uploader",
    "PollConfig": "._lifecycle._polling",
    "PollTimeoutError": "._errors",
    "Price": "._pricing",
    "Problem": "._errors",
    "QuotaError": "._errors",
    "Quotas": "._batch._quotas",
    "Result": "._reader._results",
    "ResultStatus": "._reader._results",
    "Results": "._reader._resultset",
    "S3Media": "._families._protocol",
    "ServiceError": "._errors",
    "SetupError": "._errors",
    "SetupReport": "._setup._steps",
    "StateError": "._errors",
    "Summary": "._reader._summary",
    "TERMINAL": "._common._bedrock",
    "Usage": "._families._outputs",
    "ValidationError": "._errors",
    "family_of": "._catalog",
    "doctor": "._setup._doctor",
    "DoctorCheck": "._setup._report",
    "DoctorReport": "._setup._report",
    "iter_jobs": "._common._bedrock",
    "setup": "._setup._account",
}

__all__ = [
    "CATALOG",
    "PRICES",
    "PRICES_DATE",
    "TERMINAL",
    "Anomaly",
    "BatchError",
    "BatchJob",
    "BatchStatus",
    "BudgetError",
    "ConfigError",
    "Cost",
    "DoctorCheck",
    "DoctorReport",
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
    "NotFinishedError",
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
    "S3Media",
    "ServiceError",
    "SetupError",
    "SetupReport",
    "StateError",
    "Summary",
    "Usage",
    "ValidationError",
    "doctor",
    "family_of",
    "iter_jobs",
    "setup",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # next time, a plain attribute
        return value
    if name == "__version__":
        from importlib.metadata import version

        return version("bedrock-batch")
    raise AttributeError(f"module 'bedrock_batch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
