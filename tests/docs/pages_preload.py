"""Imported by the docs-pages test's fork server only (never by a test): the third-party
modules the pages import, and botocore's JSON models parsed once, so that each forked page
starts where a warm interpreter would — the page's own ``import`` lines still run, in a fresh
namespace, so a missing one still fails."""

from __future__ import annotations

import boto3
import dask.dataframe
import moto.events.models
import moto.s3.models
import moto.sqs.models
import pandas
import pyarrow

import bedrock_batch
import bedrock_batch.local
from bedrock_batch.local import _emulator

#: the modules above, kept referenced (ruff: imported for their side effect of being loaded)
PRELOADED = (boto3, dask.dataframe, moto.events.models, moto.s3.models, moto.sqs.models,
             pandas, pyarrow, bedrock_batch, bedrock_batch.local)  # fmt: skip

_LOADER = _emulator._loader()  # what Local Bedrock's sessions read through, warmed
for _service in ("s3", "bedrock", "bedrock-runtime", "service-quotas", "events", "sqs", "sts"):
    _LOADER.load_service_model(_service, "service-2")
    _LOADER.load_service_model(_service, "endpoint-rule-set-1")
_LOADER.load_data("endpoints")
_LOADER.load_data("partitions")
