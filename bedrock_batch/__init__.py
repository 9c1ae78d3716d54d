"""bedrock_batch: Amazon Bedrock batch inference made easy, safe and fast.

``BatchJob`` builds records in each model family's format, shards and uploads them, creates
the model invocation jobs, waits for them, and joins every output back to its input by
``recordId``. ``bedrock_batch.local`` is an offline emulator of the service.

The modules, in the order the data flows through them::

    _builders, _schemas, _codec    request bodies, the model families' rules, JSON
    _records, _store               records: intake, validation, the local store
    _sharding, _uploader           files and jobs under the quotas; the upload
    _ledger, _ledgerstore          the batch's typed state, stored in S3 before each action
    _lifecycle, _ondemand          Bedrock jobs (create, poll, stop) and on-demand runs
    _bedrock, _polling, _status    control-plane calls, waiting, one status for many jobs
    _reader, _inputs               outputs and inputs read back from S3
    _results, _summary             the join by recordId, accounting and reconciliation
    _job                           BatchJob: composes the parts above
    _s3, _clients, _errors         the one S3 access object, boto3 clients, the error tree
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported when first used
    from ._bedrock import TERMINAL, JobDescription, JobStatus, iter_jobs
    from ._catalog import CATALOG, ModelInfo, family_of
    from ._errors import (
        BatchError,
        JobExpiredError,
        JobFailedError,
        JobStoppedError,
        LedgerError,
        NotFinishedError,
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

#: Where each public name lives (imported on first use, so ``import bedrock_batch`` is cheap).
_LAZY: dict[str, str] = {
    "Anomaly": "._results",
    "BatchError": "._errors",
    "BatchJob": "._job",
    "BatchStatus": "._status",
    "CATALOG": "._catalog",
    "Cost": "._pricing",
    "ErrorInfo": "._results",
    "JobDescription": "._bedrock",
    "JobExpiredError": "._errors",
    "JobFailedError": "._errors",
    "JobStatus": "._bedrock",
    "JobStoppedError": "._errors",
    "Ledger": "._ledger",
    "LedgerError": "._errors",
    "Mode": "._spec",
    "NotFinishedError": "._errors",
    "ModelInfo": "._catalog",
    "OutputSource": "._results",
    "PRICES": "._pricing",
    "PRICES_DATE": "._pricing",
    "PartPlan": "._uploader",
    "Plan": "._uploader",
    "PollConfig": "._polling",
    "PollTimeoutError": "._errors",
    "Price": "._pricing",
    "Problem": "._errors",
    "QuotaError": "._errors",
    "Quotas": "._quotas",
    "Result": "._results",
    "ResultStatus": "._results",
    "Results": "._results",
    "ServiceError": "._errors",
    "StateError": "._errors",
    "Summary": "._summary",
    "TERMINAL": "._bedrock",
    "Usage": "._outputs",
    "ValidationError": "._errors",
    "family_of": "._catalog",
    "iter_jobs": "._bedrock",
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
    "ServiceError",
    "StateError",
    "Summary",
    "Usage",
    "ValidationError",
    "family_of",
    "iter_jobs",
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
