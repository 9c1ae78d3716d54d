"""The *records* part: intake (``add``, ``add_prompt``, ``add_embedding``, ``add_jsonl``,
``add_records``, ``add_dataframe``), validation, and the record store.

Every record is checked when it is added — its id, its body against the model family's rules,
every value (``NaN``, lone surrogates), its key — and encoded once into the store. Each
``add_*`` call is all-or-nothing: if any record of the call is refused, the call leaves nothing
behind and raises one :class:`ValidationError` listing every problem.

With ``on_invalid="skip"`` the valid records stay and each refused one is kept in
:attr:`Records.rejected` with its line, the caller's id (a generated id is given only to a record
that is stored, so no id is ever reused) and the caller's key. An id a refused record carried
stays taken: a later record with the same id is refused as a duplicate and the generator skips
it, so every input comes back from ``results()`` exactly once under an id of its own.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .._catalog import ModelInfo, estimate_tokens, family_of, lookup_model
from .._common._codec import (
    LINE_TOO_LONG,
    MAX_LINE_BYTES,
    EncodeError,
    decode_error,
    encode,
    encode_line,
    encode_text,
    iter_lines,
)
from .._common._s3uri import S3Uri
from .._errors import Problem, StateError, ValidationError
from .._families._builders import Image, build_embedding, build_prompt
from .._families._images import image_problem
from .._families._prompt_options import CacheOption, add_cache, add_media, structured_fields
from .._families._protocol import S3Media
from .._families._registry import family_for
from .._families._schemas import check_model_input, requested_output_tokens
from .._families._structured import DEFAULT_TOOL, schema_of
from .._families._unknown import UNKNOWN, family_or_unknown
from ._ids import DEFAULT_RECORD_ID_PATTERN, default_id_factory, id_checker
from ._intake_lines import chunks, is_mapping, json_id, read_line
from ._legacy import LegacyBodies
from ._store import Mark, RecordStore
from ._templates import PromptTemplate, PromptTemplates

__all__ = ["DEFAULT_RECORD_ID_PATTERN", "Records", "default_id_factory", "id_checker"]

log = logging.getLogger("bedrock_batch")

#: How many ids a generator may propose that are already taken before we give up on it.
_MAX_ID_TRIES = 1000
#: Characters of a line that are JSON syntax rather than prompt text (``{"recordId":...``).
_ENVELOPE = 120


def _is_empty(value: Any) -> bool:
    """None, NaN, pandas' NA / NaT, or a blank string: a DataFrame cell with nothing in it."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, str) and not value.strip()


class _Refused(Exception):
    """One record refused: what is wrong, and in which field."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class _Call:
    """One ``add_*`` call: collects problems, rolls back on failure, fixes id collisions."""

    def __init__(self, records: Records, source: str | None, on_invalid: str = "raise") -> None:
        if on_invalid not in ("raise", "skip"):
            raise ValidationError("on_invalid must be 'raise' or 'skip'")
        self.records = records
        self.source = source
        self.skip = on_invalid == "skip"
        self.mark: Mark = records.store.mark()
        self.problems: list[Problem] = []
        self.generated: dict[str, int] = {}  # ids generated in this call -> ordinal
        self.renames: dict[int, str] = {}  # ordinal -> new id, decided at commit
        self.explicit: set[str] = set()  # ids of records refused in this call (still taken)
        self.tokens = 0
        self.max_out = 0
        self.count = 0
        # the family's own checks, looked up once a call (as check_model_input and
        # requested_output_tokens find them for a dict body)
        family = family_or_unknown(records.family_impl, records.invocation_type)
        self.check_body = family.check
        self.output_tokens = family.requested_output_tokens

    def problem(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(message, source=self.source, **where))

    def refuse(self, message: str, *, record_id: Any, key: Any, **where: Any) -> None:
        """One record refused: its id (the caller's, if any) stays taken for the rest of the
        call, and its key is kept when it can be persisted."""
        rid = record_id if isinstance(record_id, str) and not _is_empty(record_id) else None
        if rid is not None:
            self.explicit.add(rid)
        self.problem(message, record_id=rid, key=_persistable(key), **where)

    def finish(self, what: str) -> None:
        store = self.records.store
        if self.problems and self.skip:  # the valid records stay; the others are reported
            self.records.rejected.extend(self.problems)
            self.records.refused_ids.update(p.record_id for p in self.problems if p.record_id)
            self.problems = []
        if self.problems:
            store.rollback(self.mark)
            n = len(self.problems)
            raise ValidationError(
                f"{n} invalid record(s) in {what}; nothing from this call was added", self.problems
            )
        if self.renames:
            taken = set(self.explicit)
            for ordinal in sorted(self.renames):
                self.renames[ordinal] = self.records.new_id(taken)[0]
                taken.add(self.renames[ordinal])
            store.rename(self.renames, self.mark)
        self.records.estimated_input_tokens += self.tokens
        self.records.max_output_tokens += self.max_out


class Records:
    """Builds, checks and stores the records of one batch.

    Args:
        model_id: the job's model (its family decides the body rules and builders).
        invocation_type: ``"InvokeModel"`` or ``"Converse"``.
        input_uri: the batch's input prefix (objects a body references must be in its bucket).
        id_factory: makes record ids from ordinals when the caller gives none.
        record_id_pattern: what a record id must match.
    """

    def __init__(
        self,
        model_id: str,
        *,
        invocation_type: str = "InvokeModel",
        input_uri: str = "",
        id_factory: Callable[[int], str] = default_id_factory,
        record_id_pattern: str = DEFAULT_RECORD_ID_PATTERN,
        mode: str = "auto",
    ) -> None:
        self.model: ModelInfo | None = lookup_model(model_id)[0]
        self._warned_native = False
        self.family = family_of(model_id)
        #: The family that builds, checks and reads this batch's bodies.
        self.family_impl = family_for(model_id, invocation_type) or UNKNOWN
        self.invocation_type = invocation_type
        self.mode = mode
        #: pydantic models of structured outputs, by tool name (``Result.parsed`` is one).
        self.output_models: dict[str, Any] = {}
        #: The old-default (forced tool) bodies of records the default route built otherwise.
        self.legacy = LegacyBodies()
        try:
            self._bucket: str | None = S3Uri.parse(input_uri).bucket
        except ValueError:
            self._bucket = None  # plan() reports the bad URI
        #: S3 locations records referenced before the input bucket was known (a saved default).
        self.unchecked_locations: list[str] = []
        self._id_factory = id_factory
        self._record_id_pattern = record_id_pattern
        self._check_id = id_checker(record_id_pattern)
        #: The default generator's ids always match the default pattern: no need to check them.
        self._trusted_factory = (
            id_factory is default_id_factory and record_id_pattern == DEFAULT_RECORD_ID_PATTERN
        )
        self._ceiling = self.model.max_output_tokens if self.model else 4096
        self.store = RecordStore()
        #: Records refused by a call with ``on_invalid="skip"``: where they were and why.
        self.rejected: list[Problem] = []
        #: The caller's ids of those records: taken, though nothing was stored under them.
        self.refused_ids: set[str] = set()
        self.estimated_input_tokens = 0
        self.max_output_tokens = 0
        self._frozen: str | None = None
        self._templates = PromptTemplates(
            self.family_impl,
            invocation_type,
            self._body_problem,
            lambda body: requested_output_tokens(
                body, self.family_impl, invocation_type=invocation_type, default=self._ceiling
            ),
        )

    def __len__(self) -> int:
        return len(self.store)

    def freeze(self, why: str) -> None:
        """Refuse further records (the batch was submitted)."""
        self._frozen = why

    def close(self) -> None:
        """Release the store's temporary file."""
        self.store.close()

    def _open(self) -> None:
        if self._frozen:
            raise StateError(self._frozen)
        if self.store.closed:
            raise StateError("this BatchJob was closed")

    # -- ids -------------------------------------------------------------------------------

    def new_id(self, also_taken: set[str] | frozenset[str] = frozenset()) -> tuple[str, bool]:
        """A generated id that is free, valid, and not in ``also_taken``; and whether it is the
        default id of the next ordinal (such ids need no memory in the index)."""
        ordinal = n = len(self.store)
        if self._only_defaults() and not also_taken:
            return default_id_factory(ordinal), True  # only default ids so far: it is free
        refused = self.refused_ids
        for _ in range(_MAX_ID_TRIES):
            candidate = self._id_factory(n)
            n += 1
            if candidate in self.store or candidate in also_taken or candidate in refused:
                continue
            why = None if self._trusted_factory else self._check_id(candidate)
            if why:
                raise ValidationError(
                    "id_factory made an invalid record id",
                    [Problem(why, record_id=str(candidate), field="id_factory")],
                )
            return candidate, self._trusted_factory and n - 1 == ordinal
        raise ValidationError(
            f"id_factory proposed {_MAX_ID_TRIES} ids in a row that are already taken; "
            "it must return a different id for each ordinal"
        )

    def _only_defaults(self) -> bool:
        """Whether every id taken so far is the default id of its ordinal (so the next default
        id is free without looking)."""
        return self._trusted_factory and not self.store.index.has_named and not self.refused_ids

    # -- one record ------------------------------------------------------------------------

    def _check(self, model_input: Any, rid: str, key: Any, call: _Call | None = None, encoded: bytes | None = None) -> tuple[bytes, bytes | None]:  # fmt: skip
        """Encode one record and its key and check its values, body and key; raises
        :class:`_Refused`. ``encoded``: the record's line when the caller has it already
        (its canonical encoding: ``add_jsonl``'s line as read, when it re-encodes to itself);
        ``call``: its family's checks, looked up once."""
        if encoded is None:
            encoded = _encode_record(rid, model_input)
        message = self._body_problem(model_input, call)
        if not message and (b'"image"' in encoded or b'"inputImage"' in encoded):
            message = image_problem(model_input, self.model)  # bytes and size, before upload
        if message:
            raise _Refused(message, "modelInput")
        if key is None:
            return encoded, None
        try:
            return encoded, encode(key)
        except EncodeError as err:
            raise _Refused(
                f"the key must be JSON-serialisable (it is persisted for attach()): {err.reason}",
                f"key{err.path[1:]}",
            ) from err

    def _estimate(
        self, model_input: Any, encoded: bytes, text: str | None, call: _Call | None = None
    ) -> tuple[int, int]:
        """(estimated input tokens, requested output tokens) of one record, without walking the
        body: from the prompt text when a builder made it, else from the encoded line."""
        if text is not None:
            n = len(text)
            tokens = (n + 3) // 4 if text.isascii() else estimate_tokens(text)
        else:
            chars = len(encoded) if encoded.isascii() else len(encoded.decode("utf-8"))
            wide = (len(encoded) - chars) // 2  # non-ASCII characters: about a token each
            tokens = max(1, (chars - wide - _ENVELOPE) // 4 + wide)
        if call is not None and type(model_input) is dict:  # the family looked up once a call
            return tokens, call.output_tokens(model_input, self._ceiling)
        family, kind = self.family_impl, self.invocation_type
        return tokens, requested_output_tokens(model_input, family, invocation_type=kind, default=self._ceiling)  # fmt: skip

    def _take(self, call: _Call, model_input: Any, record_id: Any, key: Any, line: int, encoded: bytes | None = None) -> None:  # fmt: skip
        """Check one record of a many-record call and append it; problems go to ``call``
        (``encoded``: its canonical line, when the caller has it, see :meth:`_check`)."""
        store = self.store
        rid: str
        default = False
        if record_id is None:
            try:
                rid, default = self.new_id(call.explicit)
            except ValidationError as err:
                call.problems.extend(err.problems or [Problem(err.summary, line=line)])
                return
        else:
            why = self._check_id(record_id)
            if why:
                call.refuse(why, record_id=str(record_id), key=key, line=line, field="recordId")
                return
            rid = record_id
            if (
                rid in call.explicit
                or rid in self.refused_ids
                or (store.index.ordinal_of(rid) is not None and rid not in call.generated)
            ):
                call.refuse("duplicate recordId", record_id=rid, key=key, line=line, field="recordId")  # fmt: skip
                return
            if rid in call.generated:  # an id generated earlier in this call: move that one
                ordinal = call.generated.pop(rid)
                store.forget_id(rid)
                call.renames[ordinal] = ""
            # an accepted id is found in the store from here on (no set of every id)
        try:
            encoded, encoded_key = self._check(model_input, rid, key, call, encoded)
        except _Refused as refused:  # a generated id goes back: the next record takes it
            call.refuse(refused.message, record_id=record_id, key=key, line=line, field=refused.field)  # fmt: skip
            return
        ordinal = store.append_line(rid, encoded, encoded_key, default=default)
        if record_id is None:
            call.generated[rid] = ordinal
        call.count += 1
        tokens, out = self._estimate(model_input, encoded, None, call)
        call.tokens += tokens
        call.max_out += out

    def _body_problem(self, model_input: Any, call: _Call | None = None) -> str | None:
        on_demand = self.mode == "on_demand"
        if call is not None and type(model_input) is dict:  # check_model_input, looked up once
            message = call.check_body(model_input, self.model, on_demand=on_demand)
        else:
            kind = self.invocation_type
            message = check_model_input(model_input, self.family_impl, invocation_type=kind, model=self.model, on_demand=on_demand)  # fmt: skip
        if message:
            return message
        for loc in self.family_impl.s3_locations(model_input):
            if self._bucket is None:
                self.unchecked_locations.append(loc)
            elif not loc.startswith(f"s3://{self._bucket}/"):
                return f"s3Location {loc} must be in the job's input bucket {self._bucket}"
        return None

    def check_input_uri(self, input_uri: str) -> None:
        """The input prefix once known (resolved at plan time): every S3 location added before
        must be in its bucket, or :class:`ValidationError`."""
        try:
            self._bucket = S3Uri.parse(input_uri).bucket
        except ValueError:
            return  # plan() reports the bad URI
        outside = [u for u in self.unchecked_locations if not u.startswith(f"s3://{self._bucket}/")]
        if outside:
            problems = [Problem(f"s3Location {u} must be in the job's input bucket {self._bucket}", field="s3Location") for u in outside]  # fmt: skip
            raise ValidationError("records reference S3 objects outside the input bucket", problems)

    def _claim_id(self, record_id: str | None) -> tuple[str, bool]:
        """The id of the next single record (checked, free), and whether it is the default."""
        if record_id is None:
            return self.new_id()
        why = self._check_id(record_id)
        if why:
            where = Problem(why, record_id=str(record_id), line=len(self.store) + 1, field="recordId")  # fmt: skip
            raise ValidationError("invalid record id", [where])
        if self.store.index.ordinal_of(record_id) is not None or record_id in self.refused_ids:
            where = Problem("duplicate recordId", record_id=record_id, line=len(self.store) + 1, field="recordId")  # fmt: skip
            raise ValidationError(f"duplicate record id {record_id!r}", [where])
        return record_id, False

    def _single(
        self, model_input: Any, record_id: str | None, key: Any, text: str | None = None
    ) -> str:
        """Add one record: checked completely before it is stored, so nothing to undo."""
        self._open()
        rid, default = self._claim_id(record_id)
        try:
            encoded, encoded_key = self._check(model_input, rid, key)
        except _Refused as refused:
            label = "invalid record"
            if refused.field == "modelInput":
                label = f"record {rid!r} would be refused by the model"
            problem = Problem(refused.message, record_id=rid, line=len(self.store) + 1, field=refused.field)  # fmt: skip
            raise ValidationError(label, [problem]) from None
        self.store.append_line(rid, encoded, encoded_key, default=default)
        tokens, out = self._estimate(model_input, encoded, text)
        self.estimated_input_tokens += tokens
        self.max_output_tokens += out
        return rid

    def _templated(
        self, template: PromptTemplate, prompt: bytes, text: str, record_id: str | None, key: Any
    ) -> str:
        """Add one prompt record from its parameters' checked template (see ``_templates``)."""
        store = self.store
        if record_id is None and self._only_defaults():
            rid, default = default_id_factory(len(store)), True  # only default ids so far: free
            encoded_id = b'"' + rid.encode() + b'"'  # a default id needs no escaping
        else:
            rid, default = self._claim_id(record_id)
            encoded_id = json_id(rid)
        encoded_key = None
        if key is not None:
            try:
                encoded_key = encode(key)
            except EncodeError as err:
                message = f"the key must be JSON-serialisable (it is persisted for attach()): {err.reason}"  # fmt: skip
                problem = Problem(message, record_id=rid, line=len(self.store) + 1, field=f"key{err.path[1:]}")  # fmt: skip
                raise ValidationError("invalid record", [problem]) from None
        line = b"".join((b'{"recordId":', encoded_id, template.head, prompt, template.tail))
        store.append_line(rid, line, encoded_key, default=default)
        self.estimated_input_tokens += (len(text) + 3) // 4 if text.isascii() else estimate_tokens(text)  # fmt: skip
        self.max_output_tokens += template.output_tokens
        return rid

    def add(self, model_input: Mapping[str, Any], *, record_id: str | None, key: Any) -> str:
        """Add one record with a complete ``modelInput`` body; returns its record id."""
        body = dict(model_input) if isinstance(model_input, Mapping) else model_input
        return self._single(body, record_id, key)

    def add_prompt(
        self,
        prompt: str,
        *,
        system: str | None,
        max_tokens: int | None,
        temperature: float | None,
        top_p: float | None,
        stop_sequences: Sequence[str] | None,
        images: Sequence[Image],
        record_id: str | None,
        key: Any,
        extra: dict[str, Any] | None,
        output_schema: Any = None,
        tool_name: str = DEFAULT_TOOL,
        structured: str = "auto",
        cache: CacheOption = False,
        videos: Sequence[S3Media | str] = (),
        documents: Sequence[S3Media | str] = (),
    ) -> str:
        """Add a text-generation record built in the model family's format (with a structured
        output's fields when ``output_schema`` is given)."""
        self._open()
        check_native_prompt(self)
        plain = not images and not extra and not cache and not videos and not documents
        if output_schema is None and plain and type(prompt) is str:
            template = self._templates.find(system, max_tokens, temperature, top_p, stop_sequences)
            if template is not None and prompt and not prompt.isspace():
                try:
                    escaped = encode_text(prompt)
                except EncodeError:
                    pass  # the general path names the value
                else:
                    text = prompt if system is None else f"{system}\n{prompt}"
                    return self._templated(template, escaped, text, record_id, key)
        fields, name, model = None, tool_name, None
        if output_schema is not None:
            schema, model = schema_of(output_schema)
            converse_batch = self.invocation_type == "Converse" and self.mode != "on_demand"
            fields, name = structured_fields(
                self.family_impl, self.model, self.invocation_type, schema,
                converse_batch=converse_batch, structured=structured, name=tool_name,
            )  # fmt: skip
        options: dict[str, Any] = {
            "invocation_type": self.invocation_type, "system": system, "max_tokens": max_tokens,
            "temperature": temperature, "top_p": top_p, "stop_sequences": stop_sequences,
            "images": images, "extra": extra,
        }  # fmt: skip
        body = build_prompt(self.family_impl, prompt, tool=fields, **options)
        body = add_media(self.family_impl, body, videos=videos, documents=documents)
        body = add_cache(self.family_impl, self.model, body, cache, has_system=bool(system))
        rid = self._single(
            body, record_id, key, prompt if system is None else f"{system}\n{prompt}"
        )
        if fields is not None and structured == "auto" and not (cache or videos or documents):
            self.legacy.note_prompt(rid, body, self.family_impl, prompt, schema, tool_name, options)
            if model is not None:  # a resumed old batch answers through the tool
                self.output_models.setdefault(tool_name, model)
        if model is not None:
            self.output_models[name] = model
        return rid

    def add_embedding(
        self,
        text: str | None,
        *,
        image: Image | None,
        dimensions: int | None,
        normalize: bool | None,
        record_id: str | None,
        key: Any,
        purpose: str | None = None,
    ) -> str:
        """Add an embeddings record (Titan and Nova multimodal embeddings)."""
        self._open()
        body = build_embedding(
            self.family_impl, text, image=image, dimensions=dimensions, normalize=normalize,
            purpose=purpose,
        )  # fmt: skip
        return self._single(body, record_id, key, text or "")

    def add_jsonl(
        self,
        source: str | Path | IO[bytes] | IO[str],
        *,
        key_field: str | None,
        on_invalid: str = "raise",
    ) -> int:
        """Add every ``{"recordId"?, "modelInput"}`` line of a JSONL source, read once."""
        self._open()
        name = (
            str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "<stream>")
        )
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.exists():
                raise ValidationError(f"{name}: no such file")
            if path.is_dir():
                raise ValidationError(f"{name} is a directory, not a JSONL file")
        call = _Call(self, str(name), on_invalid)
        for line_no, raw in iter_lines(chunks(source), MAX_LINE_BYTES):
            if raw is LINE_TOO_LONG:
                call.problem(f"the line is longer than {MAX_LINE_BYTES:,} bytes (the input file-size quota): is it JSON Lines, one record per line?", line=line_no)  # fmt: skip
                continue
            try:
                obj, canonical = read_line(raw)
            except ValueError as err:
                call.problem(f"not valid JSON: {decode_error(err)}", line=line_no)
                continue
            if not isinstance(obj, dict):
                call.problem("the line is not a JSON object", line=line_no)
                continue
            key = obj.get(key_field) if key_field else None
            if not isinstance(obj.get("modelInput"), dict):
                call.refuse("the line has no modelInput object", record_id=obj.get("recordId"), key=key, line=line_no, field="modelInput")  # fmt: skip
                continue
            self._take(call, obj["modelInput"], obj.get("recordId"), key, line_no, canonical)
        if not call.problems and call.count == 0:
            raise ValidationError(f"{name} holds no records")
        if call.problems and call.skip:
            log.info("%s: %d invalid line(s) skipped (see BatchJob.rejected)", name, len(call.problems))  # fmt: skip
        call.finish(str(name))
        return call.count

    def add_records(
        self, records: Iterable[Mapping[str, Any]], *, on_invalid: str = "raise"
    ) -> int:
        """Add ``{"modelInput", "recordId"?, "key"?}`` mappings; returns how many."""
        self._open()
        call = _Call(self, None, on_invalid)
        for n, rec in enumerate(records, start=1):
            if not is_mapping(rec) or not is_mapping(rec.get("modelInput")):
                rid, k = (rec.get("recordId"), rec.get("key")) if isinstance(rec, Mapping) else (None, None)  # fmt: skip
                call.refuse("expected a mapping with a modelInput object", record_id=rid, key=k, line=n)  # fmt: skip
                continue
            self._take(call, dict(rec["modelInput"]), rec.get("recordId"), rec.get("key"), n)
        call.finish("add_records()")
        return call.count


def _encode_record(rid: str, model_input: Any) -> bytes:
    """A record's line; raises :class:`_Refused` naming a value that is not JSON."""
    try:
        return encode_line({"recordId": rid, "modelInput": model_input})
    except EncodeError as err:
        where = err.path.replace("$.modelInput", "modelInput", 1).replace("$", "recordId", 1)
        raise _Refused(err.reason, where) from err


def _persistable(key: Any) -> Any:
    """A refused record's key if it can be stored with the rejects (JSON), else None."""
    if key is None:
        return None
    try:
        encode(key)
    except EncodeError:
        return None
    return key


def check_native_prompt(records: Records) -> None:
    """Refuse (or warn once) when the family's native body is not established for this
    model: the catalogue's ``native_prompt`` (False: refused; None: UNVERIFIED, one warning).
    Converse bodies are the same for every model and always built."""
    if records.invocation_type != "InvokeModel" or records.model is None:
        return
    if records.model.native_prompt is False:
        raise ValidationError(
            f"add_prompt cannot build {records.model.display_name}'s native InvokeModel body: "
            f"its prompt template is not the {records.family_impl.name} family's (bedrock-facts "
            "§12.2); use invocation_type='Converse' (the default for this model), or add() a "
            "body you built"
        )
    if records.model.native_prompt is None and not records._warned_native:
        records._warned_native = True
        log.warning(
            "%s: its native InvokeModel body is UNVERIFIED (bedrock-facts §12.2); built in the "
            "%s family's format as asked. invocation_type='Converse' (the default for this "
            "model) is the established route",
            records.model.display_name,
            records.family_impl.name,
        )
