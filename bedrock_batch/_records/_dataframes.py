"""DataFrames in: ``add_dataframe`` and the rows of a pandas or polars DataFrame as it reads them.

Rows stream in (``itertuples`` / ``iter_rows``), never as one list. Results going out as
DataFrames are the reader's (:mod:`bedrock_batch._reader._export`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .._errors import ValidationError
from .._families._builders import build_embedding, build_prompt
from .._families._prompt_options import add_cache, add_media, structured_fields
from .._families._structured import DEFAULT_TOOL, schema_of
from ._records import Records, _Call, _is_empty, check_native_prompt

__all__ = [
    "add_dataframe",
    "check_text_column",
    "column",
    "iter_frame_rows",
    "iter_named_rows",
    "pick",
    "scalar_key",
]


def iter_frame_rows(df: Any) -> Iterator[dict[str, Any]]:
    """Rows of a pandas or polars DataFrame as dicts, one at a time."""
    if hasattr(df, "iter_rows"):  # polars
        yield from df.iter_rows(named=True)
        return
    if hasattr(df, "itertuples"):  # pandas
        columns = list(df.columns)  # labels as they are: 0, 1... stay ints
        for values in df.itertuples(index=False, name=None):
            yield dict(zip(columns, values, strict=True))
        return
    raise TypeError(f"expected a pandas or polars DataFrame, got {type(df).__name__}")


def iter_named_rows(df: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Rows as :func:`iter_frame_rows` gives them, each with how messages name it: its index
    label (``row 'a'``, ``row 13``), or its 0-based position when the labels are not unique
    (or the frame has none, as in polars)."""
    index = getattr(df, "index", None)
    labels = iter(index) if index is not None and index.is_unique else None
    for n, row in enumerate(iter_frame_rows(df)):
        label = scalar_key(next(labels)) if labels is not None else n
        yield (repr(label) if isinstance(label, str) else str(label)), row


def check_text_column(
    build: Callable[[str], Any], text: str | int | Callable[[Mapping[str, Any]], str]
) -> None:
    """``text=`` builds embedding requests: with a model that generates text, say so once
    (suggesting ``prompt=``) instead of refusing every row. ``build`` builds one embedding
    body from a text."""
    from .._errors import ValidationError

    try:
        build("a probe text")
    except ValidationError as err:
        column = f"prompt={text!r}" if isinstance(text, str) else "prompt="
        raise ValidationError(
            f"{err.summary}; add_dataframe(text=...) builds embedding requests: for a column of "
            f"prompts to this model, pass {column} instead"
        ) from None


def column(df: Any, spec: Any) -> Any:
    """The DataFrame's own label for a column named by ``spec``: the label itself, or the one
    that reads the same (``0`` for a column labelled ``"0"`` and back, as polars names every
    column with a string). A function of the row is returned as it is; a column the frame does
    not have is a ``KeyError`` naming the columns it does have, before any row is read."""
    if spec is None or callable(spec):
        return spec
    labels = list(getattr(df, "columns", ()))
    if any(label == spec and type(label) is type(spec) for label in labels):
        return spec
    same = [label for label in labels if str(label) == str(spec)]
    if len(same) == 1:
        return same[0]
    raise KeyError(f"the DataFrame has no column {spec!r} (its columns: {labels!r})")


def pick(row: Mapping[Any, Any], spec: Any) -> Any:
    """A column's value, or a function of the row."""
    if spec is None:
        return None
    if callable(spec):
        return spec(row)
    if spec not in row:
        raise KeyError(f"the DataFrame has no column {spec!r}")
    return row[spec]


def scalar_key(value: Any) -> Any:
    """Keys must survive JSON (they are persisted): numpy scalars become Python ones."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (str, bytes)):
        try:
            return item()
        except (TypeError, ValueError):
            return value
    return value


def add_dataframe(
    records: Records,
    df: Any,
    *,
    prompt: str | int | Callable[[Mapping[str, Any]], str] | None,
    text: str | int | Callable[[Mapping[str, Any]], str] | None,
    model_input: str | int | Callable[[Mapping[str, Any]], Mapping[str, Any]] | None,
    key: str | int | Callable[[Mapping[str, Any]], Any] | None,
    record_id: str | int | Callable[[Mapping[str, Any]], str] | None,
    options: dict[str, Any],
    on_invalid: str = "raise",
) -> int:
    """Add one record per DataFrame row to ``records`` (see :meth:`BatchJob.add_dataframe`)."""
    records._open()
    if sum(x is not None for x in (prompt, text, model_input)) != 1:
        raise ValidationError("add_dataframe needs exactly one of prompt=, text= or model_input=")
    prompt, text, model_input = (column(df, s) for s in (prompt, text, model_input))
    key, record_id = column(df, key), column(df, record_id)
    if prompt is not None:
        check_native_prompt(records)
    call = _Call(records, "DataFrame", on_invalid)
    prompt_options = {
        k: options.pop(k, None)
        for k in ("system", "max_tokens", "temperature", "top_p", "stop_sequences")
    }
    images = options.pop("images", ())
    finish = _prompt_features(records, options, prompt is not None, bool(prompt_options["system"]))
    if text is not None:
        check_text_column(lambda t: build_embedding(records.family_impl, t), text)
    for n, (name, row) in enumerate(iter_named_rows(df)):
        rid = pick(row, record_id) if record_id is not None else None
        k = scalar_key(pick(row, key)) if key is not None else None
        if isinstance(k, float) and math.isnan(k):
            k = None
        where = {"line": n + 1, "field": None, "record_id": rid, "key": k}
        if record_id is not None and _is_empty(rid):
            call.refuse(f"row {name}: the record id cell is empty", **where)
            continue
        try:
            if model_input is not None:
                body: Any = pick(row, model_input)
                if _is_empty(body):
                    call.refuse(f"row {name}: the modelInput cell is empty", **where)
                    continue
                body = dict(body) if isinstance(body, Mapping) else body
            else:
                cell = pick(row, prompt if prompt is not None else text)
                if _is_empty(cell):
                    what = "prompt" if prompt is not None else "text"
                    call.refuse(f"row {name}: the {what} cell is empty ({cell!r})", **where)
                    continue
                if prompt is not None:
                    body = build_prompt(
                        records.family_impl,
                        str(cell),
                        invocation_type=records.invocation_type,
                        images=images,
                        extra=dict(options) or None,
                        tool=finish.fields,
                        **prompt_options,
                    )
                    body = finish(body)
                else:
                    body = build_embedding(records.family_impl, str(cell), **options)
        except ValidationError as err:
            call.refuse(f"row {name}: {err.summary}", **where)
            continue
        records._take(call, body, rid, k, n + 1)
    call.finish("the DataFrame")
    if finish.model is not None and call.count:
        records.output_models[finish.name] = finish.model
    return call.count


_PROMPT_ONLY = ("output_schema", "tool_name", "structured", "cache", "videos", "documents")


class _PromptFeatures:
    """What ``add_prompt``'s options add to every row's body: the structured output's fields
    (built once for the call), videos and documents by ``s3Location``, a prompt-cache marker."""

    def __init__(self, records: Records, options: dict[str, Any], has_system: bool) -> None:
        self.records = records
        self.has_system = has_system
        schema_spec = options.pop("output_schema", None)
        name = options.pop("tool_name", DEFAULT_TOOL)
        structured = options.pop("structured", "auto")
        self.cache = options.pop("cache", False)
        self.videos = options.pop("videos", ())
        self.documents = options.pop("documents", ())
        self.fields: dict[str, Any] | None = None
        self.name, self.model = name, None
        if schema_spec is not None:
            schema, self.model = schema_of(schema_spec)
            converse_batch = records.invocation_type == "Converse" and records.mode != "on_demand"
            self.fields, self.name = structured_fields(
                records.family_impl, records.model, records.invocation_type, schema,
                converse_batch=converse_batch, structured=structured, name=name,
            )  # fmt: skip

    def __call__(self, body: dict[str, Any]) -> dict[str, Any]:
        impl = self.records.family_impl
        body = add_media(impl, body, videos=self.videos, documents=self.documents)
        return add_cache(impl, self.records.model, body, self.cache, has_system=self.has_system)


def _prompt_features(
    records: Records, options: dict[str, Any], for_prompts: bool, has_system: bool
) -> _PromptFeatures:
    """The prompt options of an ``add_dataframe`` call (refused with ``text=`` and
    ``model_input=``, whose bodies they cannot change)."""
    given = [k for k in _PROMPT_ONLY if k in options]
    if given and not for_prompts:
        raise ValidationError(
            f"{', '.join(given)} apply to prompt= rows only (they change the body add_prompt "
            "builds); with model_input= put them in the bodies"
        )
    return _PromptFeatures(records, options, has_system)
