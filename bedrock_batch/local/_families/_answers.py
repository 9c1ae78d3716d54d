"""Answering one request body, shared by batch records and bedrock-runtime calls.

The body is first checked against the model's rules (:mod:`._rules`) and the S3 objects it
references (the family says which); then the responder answers. A refusal is a :class:`RecordError` (400): a batch job
writes it as the record's error line, bedrock-runtime answers ``ValidationException``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..._catalog import ModelInfo
from .._config import PromptCaching
from .._s3 import split_s3_uri
from ._context import RecordContext, RecordError, Responder
from ._prompt_cache import PromptCache
from ._protocol import EmulatedFamily
from ._registry import UnknownFamily, family_for
from ._responders import synthetic
from ._rules import check_body

__all__ = ["LINKED_CONTENT", "Answerer"]

#: A record linking an object outside its job's input folder (wording Local Bedrock's own; the
#: service's message is UNVERIFIED).
LINKED_CONTENT = (
    "The S3 location {uri} is not in the job's input location {folder}: the content a record "
    "links must be in the same S3 bucket and folder as its JSONL files."
)


class Answerer:
    """Checks a body like the model does, then asks the responder for the answer."""

    def __init__(
        self,
        responder: Responder,
        *,
        validate_inputs: bool,
        s3: Callable[[], Any],
        caching: PromptCaching | None = None,
    ) -> None:
        self.responder = responder
        self.validate_inputs = validate_inputs
        self._s3 = s3
        caching = caching or PromptCaching()
        #: The prompt cache of bedrock-runtime calls (None: not accounted for).
        self.runtime_cache = PromptCache(caching.min_tokens) if caching.runtime else None
        #: The prompt cache of batch records (None: not accounted for, the default).
        self.batch_cache = PromptCache(caching.min_tokens) if caching.batch else None

    @staticmethod
    def family(model: ModelInfo, invocation_type: str) -> EmulatedFamily:
        """The family answering ``model`` (raises :class:`RecordError` when none is registered)."""
        try:
            return family_for(model, invocation_type)
        except UnknownFamily as err:
            raise RecordError(400, str(err)) from err

    @property
    def synthetic(self) -> bool:
        """Whether the synthetic models answer (their batch answers have a fast path)."""
        return self.responder is synthetic

    def check(
        self,
        model: ModelInfo,
        invocation_type: str,
        body: Any,
        *,
        bucket: str | None,
        on_demand: bool,
        folder: str | None = None,
    ) -> None:
        """Refuse ``body`` like the model does (raises :class:`RecordError`); ``folder``: the
        job's input folder, where every object the body links must be (facts §1)."""
        if not self.validate_inputs:
            return
        family = self.family(model, invocation_type)
        problem = check_body(body, model, invocation_type, on_demand=on_demand)
        if problem is not None:
            raise RecordError(400, problem)
        for uri in family.s3_locations(body):
            self._check_object(uri, bucket)
            if folder is not None and not uri.startswith(folder):
                raise RecordError(400, LINKED_CONTENT.format(uri=uri, folder=folder))

    def respond(self, ctx: RecordContext) -> dict[str, Any]:
        """The responder's answer (checked to be a dict)."""
        output = self.responder(ctx)
        if not isinstance(output, dict):
            raise TypeError(f"responder returned {type(output).__name__}, expected a dict")
        return output

    def answer(
        self,
        model: ModelInfo,
        model_id: str,
        invocation_type: str,
        record_id: str,
        body: Any,
        *,
        bucket: str | None,
        on_demand: bool,
    ) -> dict[str, Any]:
        """Check ``body``, then answer it (raises :class:`RecordError` when refused)."""
        self.check(model, invocation_type, body, bucket=bucket, on_demand=on_demand)
        cache = self.runtime_cache if on_demand else self.batch_cache
        return self.respond(
            RecordContext(record_id, model_id, model, invocation_type, body, on_demand, cache=cache)
        )

    def _check_object(self, uri: str, bucket: str | None) -> None:
        try:
            ref = split_s3_uri(uri)
        except ValueError as err:
            raise RecordError(400, f"The S3 location {uri} is not valid.") from err
        if not ref.key:
            raise RecordError(400, f"The S3 location {uri} is not valid.")
        if bucket is not None and ref.bucket != bucket:
            raise RecordError(
                400, f"The S3 location {uri} must be in the job's input bucket {bucket}."
            )
        try:
            self._s3().head_object(Bucket=ref.bucket, Key=ref.key)
        except (BotoCoreError, ClientError) as err:
            raise RecordError(
                400, f"The S3 object {uri} does not exist or cannot be read."
            ) from err
