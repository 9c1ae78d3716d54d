"""Structured outputs: a JSON Schema, or a pydantic model, becomes a *forced tool* in the model
family's own request format, and each answer's tool input is validated against it.

Each family knows its own forced-tool shape (:meth:`ClientFamily.forced_tool
<bedrock_batch._families._protocol.ClientFamily.forced_tool>`): Anthropic Messages ``tools`` +
``tool_choice``; Nova (InvokeModel) and the Converse API ``toolConfig`` with ``toolChoice``
(Converse *batch* jobs refuse ``toolConfig``, facts §7: Converse works on demand only). Other
families have no forced tool in their native batch format: refused when added. This module holds
the dispatch and the JSON Schema helpers every family shares.

The schema travels inside each record's request and Bedrock echoes the request back on every
output line, so any process (``attach()``) can validate the answers without the caller's code.
Validation covers the JSON Schema keywords tools use (types, properties, required,
additionalProperties, items, enum/const, numeric and length bounds, pattern, anyOf/oneOf/allOf,
local ``$ref``); a pydantic model, when known, validates its own way and ``Result.parsed`` is an
instance of it.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .._errors import ValidationError
from ._protocol import ClientFamily
from ._unknown import family_or_unknown

__all__ = [
    "DEFAULT_TOOL",
    "forced_tool",
    "parse_answer",
    "requested_tool",
    "schema_of",
    "tool_input",
    "validate",
]

#: The tool name used when the caller does not choose one.
DEFAULT_TOOL = "structured_output"


def schema_of(spec: Any) -> tuple[dict[str, Any], type | None]:
    """(a self-contained JSON Schema, the pydantic model or None) for a dict or a model class."""
    if isinstance(spec, Mapping):
        schema = dict(spec)
        model = None
    elif isinstance(spec, type) and hasattr(spec, "model_json_schema"):
        schema = spec.model_json_schema()
        model = spec
    else:
        raise ValidationError(
            "output_schema must be a JSON Schema (a dict) or a pydantic model class, "
            f"not {type(spec).__name__}"
        )
    if schema.get("type", "object") != "object":
        raise ValidationError("output_schema must describe an object (a tool's input is one)")
    return _inline_refs(schema), model


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace local ``$ref`` s by what they point to (models see one plain schema); a
    recursive schema keeps its ``$defs``."""
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})}
    if not defs:
        return schema

    def resolve(node: Any, seen: frozenset[str]) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.rsplit("/", 1)[-1] in defs and ref not in seen:
                target = copy.deepcopy(defs[ref.rsplit("/", 1)[-1]])
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return resolve({**target, **rest}, seen | {ref})
            if isinstance(ref, str) and ref in seen:
                raise _Recursive
            return {
                k: resolve(v, seen) for k, v in node.items() if k not in ("$defs", "definitions")
            }
        if isinstance(node, list):
            return [resolve(v, seen) for v in node]
        return node

    try:
        out: dict[str, Any] = resolve(schema, frozenset())
    except _Recursive:
        return schema
    return out


class _Recursive(Exception):
    pass


def forced_tool(
    family: ClientFamily | str | None,
    invocation_type: str,
    schema: dict[str, Any],
    name: str = DEFAULT_TOOL,
    description: str | None = None,
) -> dict[str, Any]:
    """The request fields that make the model answer by calling ``name`` with ``schema``."""
    if not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
        raise ValidationError(f"tool name {name!r} must match [a-zA-Z0-9_-]{{1,64}}")
    text = description or "Report the answer with this tool, as its input."
    return family_or_unknown(family, invocation_type).forced_tool(schema, name, text)


def requested_tool(
    model_input: Any, family: ClientFamily | str | None = None, invocation_type: str = "InvokeModel"
) -> tuple[str, dict[str, Any]] | None:
    """(tool name, schema) when a request forces a tool, else None."""
    return family_or_unknown(family, invocation_type).requested_tool(model_input)


def tool_input(
    model_output: Any,
    name: str,
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> tuple[bool, Any]:
    """(whether the model called tool ``name``, the input it gave it)."""
    return family_or_unknown(family, invocation_type).tool_input(model_output, name)


def parse_answer(
    model_input: Any,
    model_output: Any,
    models: Mapping[str, Any],
    family: ClientFamily | str | None = None,
    invocation_type: str = "InvokeModel",
) -> tuple[bool, Any, str | None]:
    """(whether the request asked for a structured output, the parsed answer, why it is
    invalid or None).

    A forced tool's input, or a native structured output's JSON text (Claude
    ``output_config``, Converse ``outputConfig.textFormat``, ``response_format``), is validated
    by the pydantic model registered for its name, else by the JSON Schema the request carried.
    A stop for the output-token limit (``max_tokens``, ``length``) makes the answer invalid
    before it is parsed.
    """
    reader = family_or_unknown(family, invocation_type)
    requested = reader.requested_tool(model_input)
    native = requested is None
    if requested is None:
        requested = reader.requested_format(model_input)
        if requested is None:
            return False, None, None
    name, schema = requested
    reason = reader.stop_reason(model_output)
    if reason in reader.truncated_stop_reasons:
        return True, None, f"the answer was cut short (stop reason {reason!r}): not parsed"
    if native:
        text = reader.output_text(model_output)
        try:
            value = json.loads(text) if text is not None else None
        except ValueError as err:
            return True, None, f"the answer is not JSON: {err}"
        if text is None:
            return True, None, "the answer has no text"
    else:
        called, value = reader.tool_input(model_output, name)
        if not called:
            return True, None, f"the model did not call the tool {name!r}"
    model = models.get(name)
    if model is not None:
        try:
            return True, model.model_validate(value), None
        except ValueError as err:  # pydantic's ValidationError is a ValueError
            return True, None, str(err)
    return True, value, validate(value, schema)


# -- validation --------------------------------------------------------------------------------

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    expected = _TYPES.get(kind)
    return expected is not None and isinstance(value, expected)


def _json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON Schema means it: ``false`` is not ``0`` and ``true`` is not ``1``
    (Python's ``==`` says they are), ``1`` is ``1.0``; arrays and objects compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def validate(instance: Any, schema: Any, root: Any = None, path: str = "$") -> str | None:
    """The first way ``instance`` breaks ``schema`` (``"$.items[2].kind: ..."``), or None."""
    if not isinstance(schema, dict):
        return None if schema is not False else f"{path}: no value is allowed here"
    root = schema if root is None else root
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        problem = validate(instance, target, root, path)
        if problem:
            return problem
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_type_ok(instance, k) for k in kinds):
            return f"{path}: {_show(instance)} is not of type {' or '.join(kinds)}"
    if "enum" in schema and not any(_json_equal(instance, e) for e in schema["enum"]):
        return f"{path}: {_show(instance)} is not one of {schema['enum']}"
    if "const" in schema and not _json_equal(instance, schema["const"]):
        return f"{path}: {_show(instance)} is not {schema['const']!r}"
    problem = _numbers(instance, schema, path) or _strings(instance, schema, path)
    problem = problem or _arrays(instance, schema, root, path)
    problem = problem or _objects(instance, schema, root, path)
    return problem or _combinations(instance, schema, root, path)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _numbers(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if "minimum" in schema and value < schema["minimum"]:
        return f"{path}: {value} is less than the minimum of {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{path}: {value} is more than the maximum of {schema['maximum']}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return f"{path}: {value} is not more than {schema['exclusiveMinimum']}"
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return f"{path}: {value} is not less than {schema['exclusiveMaximum']}"
    step = schema.get("multipleOf")
    if step and not math.isclose(value / step, round(value / step)):
        return f"{path}: {value} is not a multiple of {step}"
    return None


def _strings(value: Any, schema: dict[str, Any], path: str) -> str | None:
    if not isinstance(value, str):
        return None
    if "minLength" in schema and len(value) < schema["minLength"]:
        return f"{path}: {_show(value)} is shorter than {schema['minLength']} characters"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{path}: {_show(value)} is longer than {schema['maxLength']} characters"
    if "pattern" in schema and not re.search(schema["pattern"], value):
        return f"{path}: {_show(value)} does not match {schema['pattern']!r}"
    return None


def _arrays(value: Any, schema: dict[str, Any], root: Any, path: str) -> str | None:
    if not isinstance(value, list):
        return None
    if "minItems" in schema and len(value) < schema["minItems"]:
        return f"{path}: has {len(value)} items, fewer than {schema['minItems']}"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{path}: has {len(value)} items, more than {schema['maxItems']}"
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            problem = validate(item, items, root, f"{path}[{i}]")
            if problem:
                return problem
    return None


def _objects(value: Any, schema: dict[str, Any], root: Any, path: str) -> str | None:
    if not isinstance(value, dict):
        return None
    for name in schema.get("required", ()):
        if name not in value:
            return f"{path}: the required property {name!r} is missing"
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties", True)
    for name, item in value.items():
        if name in properties:
            problem = validate(item, properties[name], root, f"{path}.{name}")
        elif extra is False:
            problem = f"{path}: the property {name!r} is not allowed"
        else:
            problem = validate(item, extra, root, f"{path}.{name}") if isinstance(extra, dict) else None  # fmt: skip
        if problem:
            return problem
    return None


def _combinations(value: Any, schema: dict[str, Any], root: Any, path: str) -> str | None:
    for sub in schema.get("allOf", ()):
        problem = validate(value, sub, root, path)
        if problem:
            return problem
    if "anyOf" in schema:
        problems = [validate(value, sub, root, path) for sub in schema["anyOf"]]
        if all(problems):
            return f"{path}: matches none of anyOf ({problems[0]})"
    if "oneOf" in schema:
        ok = sum(validate(value, sub, root, path) is None for sub in schema["oneOf"])
        if ok != 1:
            return f"{path}: matches {ok} of oneOf, not exactly one"
    if "not" in schema and validate(value, schema["not"], root, path) is None:
        return f"{path}: must not match the 'not' schema"
    return None
