"""The records part's public surface on :class:`BatchJob`: the ``add_*`` methods.

Each one hands its record(s) to :class:`~bedrock_batch._records._records.Records`, which builds, checks
and stores them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .._batch._spec import OnInvalid
from .._common._codec import decode
from .._errors import Problem
from .._families._builders import Image
from .._families._prompt_options import CacheOption, StructuredRoute
from .._families._protocol import S3Media
from .._families._structured import DEFAULT_TOOL
from ._dataframes import add_dataframe
from ._records import Records

__all__ = ["RecordIntake"]


class RecordIntake:
    """Adding records to a batch (inherited by :class:`BatchJob`)."""

    _records: Records

    def __len__(self) -> int:
        return len(self._records)

    def add(
        self, model_input: Mapping[str, Any], *, record_id: str | None = None, key: Any = None
    ) -> str:
        """Add one record with a complete ``modelInput`` body; returns its record id.

        Raises :class:`ValidationError` for an invalid or duplicate id, a key that cannot be
        persisted, a value that is not JSON (``NaN``, a lone surrogate), or a body the model
        would refuse.
        """
        return self._records.add(model_input, record_id=record_id, key=key)

    def add_prompt(
        self,
        prompt: str,
        *,
        system: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        stop_sequences: Sequence[str] | None = None,
        images: Sequence[Image] = (),
        record_id: str | None = None,
        key: Any = None,
        output_schema: Any = None,
        tool_name: str = DEFAULT_TOOL,
        structured: StructuredRoute = "auto",
        cache: CacheOption = False,
        videos: Sequence[S3Media | str] = (),
        documents: Sequence[S3Media | str] = (),
        **extra: Any,
    ) -> str:
        """Add a text-generation record built in the model family's format (or Converse's);
        ``extra`` keywords are merged into the body as given (e.g. ``top_k``).

        ``output_schema`` (a JSON Schema dict or a pydantic model class) asks for a structured
        output, by ``structured``: ``"native"`` (Bedrock's own structured outputs: Claude
        ``output_config``, ``response_format``, Converse ``outputConfig.textFormat``),
        ``"tool"`` (a forced tool named ``tool_name``, strict where the model has native
        structured outputs; refused in Converse batch jobs), or ``"auto"`` (native where the
        model has it, else the tool). Each answer is validated: ``Result.parsed`` is the
        model's instance (or the dict); an answer that does not validate, or was cut short by
        the token limit, is ``status="invalid_output"``.

        ``cache`` adds a prompt-cache marker (Claude ``cache_control``, Converse/Nova
        ``cachePoint``) after the system text (``"system"``; ``True`` when there is one) or
        after the prompt (``"prompt"``), for models whose catalogue row has prompt caching.
        ``videos`` and ``documents`` (``s3://`` URIs in the job's input bucket, or
        :class:`S3Media` with a format and bucket owner) are added by ``s3Location`` (Nova and
        Converse).
        """
        return self._records.add_prompt(
            prompt, system=system, max_tokens=max_tokens, temperature=temperature, top_p=top_p,
            stop_sequences=stop_sequences, images=images, record_id=record_id, key=key,
            extra=extra or None, output_schema=output_schema, tool_name=tool_name,
            structured=structured, cache=cache, videos=videos, documents=documents,
        )  # fmt: skip

    def add_embedding(
        self,
        text: str | None = None,
        *,
        image: Image | None = None,
        dimensions: int | None = None,
        normalize: bool | None = None,
        record_id: str | None = None,
        key: Any = None,
        purpose: str | None = None,
    ) -> str:
        """Add an embeddings record (Titan Text Embeddings V2, Titan Multimodal Embeddings G1,
        Nova 2 multimodal embeddings). ``purpose`` is Nova's ``embeddingPurpose``
        (``GENERIC_INDEX`` by default); Nova's ``dimensions`` default to 3072."""
        return self._records.add_embedding(
            text, image=image, dimensions=dimensions, normalize=normalize, record_id=record_id,
            key=key, purpose=purpose,
        )  # fmt: skip

    def add_jsonl(
        self,
        source: str | Path | IO[bytes] | IO[str],
        *,
        key_field: str | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> int:
        """Add every ``{"recordId"?, "modelInput"}`` line of a JSONL file or stream (read once,
        so pipes work); returns how many were added. ``key_field`` names a top-level field kept
        as each record's key.

        By default all-or-nothing: every bad line is listed in one :class:`ValidationError` and
        nothing of the file is added. ``on_invalid="skip"`` adds the valid lines and keeps each
        refused one (:attr:`rejected`, with the caller's id and key when they could be read);
        they come back from :meth:`results` as ``status="rejected"`` (exactly once each, under
        the caller's id or ``<source:line>``) and are counted in :meth:`summary`. A refused
        record is never given a generated id, and its own id stays taken. They were never
        uploaded, so :meth:`retry` cannot send them: fix them and add them to a new batch.
        """
        return self._records.add_jsonl(source, key_field=key_field, on_invalid=on_invalid)

    def add_records(
        self, records: Iterable[Mapping[str, Any]], *, on_invalid: OnInvalid = "raise"
    ) -> int:
        """Add ``{"modelInput", "recordId"?, "key"?}`` mappings; returns how many were added
        (all-or-nothing, or ``on_invalid="skip"`` as for :meth:`add_jsonl`)."""
        return self._records.add_records(records, on_invalid=on_invalid)

    def record_ids_for(self, keys: Iterable[Any]) -> list[str]:
        """The record ids of the records added with these keys, in the order of ``keys``.

        For aiming a Local Bedrock fault at one record by its key
        (``Faults(record_error_ids=job.record_ids_for([key]))``): the map is read from this
        object's records, and keys are never part of the uploaded lines. Keys compare as JSON
        (a tuple matches the list it is stored as). Raises :class:`KeyError` for a key no
        record has; when several records share a key, the first one's id is given.
        """
        wanted = [_canonical(key) for key in keys]
        found: dict[str, str] = {}
        missing = set(wanted)
        for record_id, key in self._records.store.iter_index():
            if not missing:
                break
            canon = _canonical(key)
            if canon in missing:
                found[canon] = record_id
                missing.discard(canon)
        if missing:
            raise KeyError(f"no record has the key {decode(min(missing))!r}")
        return [found[canon] for canon in wanted]

    @property
    def rejected(self) -> list[Problem]:
        """Records refused by an ``add_*`` call with ``on_invalid="skip"``, in order."""
        return list(self._records.rejected)

    def add_dataframe(
        self,
        df: Any,
        *,
        prompt: str | int | Callable[[Mapping[str, Any]], str] | None = None,
        text: str | int | Callable[[Mapping[str, Any]], str] | None = None,
        model_input: str | int | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
        key: str | int | Callable[[Mapping[str, Any]], Any] | None = None,
        record_id: str | int | Callable[[Mapping[str, Any]], str] | None = None,
        on_invalid: OnInvalid = "raise",
        **options: Any,
    ) -> int:
        """Add one record per row of a pandas (or polars) DataFrame; returns how many.

        Say where the request comes from with exactly one of ``prompt`` (a text-generation
        prompt, built for the model family), ``text`` (an embedding input) or ``model_input`` (a
        complete body) — each a column name (an integer label too: ``prompt=0``) or a function
        of the row. ``key`` and ``record_id``
        likewise. Other keyword arguments go to :meth:`add_prompt` / :meth:`add_embedding`.
        An empty cell (None, NaN, blank) is refused naming its row; all-or-nothing, or
        ``on_invalid="skip"`` as for :meth:`add_jsonl`.
        """
        return add_dataframe(
            self._records,
            df, prompt=prompt, text=text, model_input=model_input, key=key,
            record_id=record_id, options=options, on_invalid=on_invalid,
        )  # fmt: skip


def _canonical(key: Any) -> str:
    """A key as canonical JSON (sorted members), for comparing keys as they are stored."""
    return json.dumps(key, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
