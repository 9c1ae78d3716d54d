"""Deterministic JSON instances of a JSON schema: what the synthetic model fills a tool call with.

Honoured keywords: ``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
``additionalProperties`` (no extra keys are ever added), ``minProperties`` / ``maxProperties``,
``items`` (one schema, or a list for tuples), ``prefixItems``, ``minItems`` / ``maxItems``,
``uniqueItems``, ``minLength`` / ``maxLength``, ``format`` (date-time, date, time, email, uri,
uuid, ipv4, hostname), ``minimum`` / ``maximum`` / ``exclusiveMinimum`` /
``exclusiveMaximum`` (numeric or draft-4 boolean), ``multipleOf``, ``anyOf`` / ``oneOf`` (one
branch is chosen), ``allOf`` (merged) and local ``$ref`` (``#``, ``#/$defs/...``,
``#/definitions/...``). ``pattern`` and ``not`` are not honoured.

The same schema and seed always give the same instance.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

__all__ = ["INVALID_BIT", "instance_for"]

_WORDS = (
    *("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"),
    *("juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"),
    *("sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"),
)
_FORMATS = {
    "date-time": "2026-01-01T12:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com/item",
    "uuid": "123e4567-e89b-42d3-a456-426614174000",
    "ipv4": "192.0.2.1",
    "hostname": "example.com",
}
_MAX_DEPTH = 6


#: Set in a record's seed (``RecordContext.seed``) by the ``invalid_output`` fault: the
#: structured answer (native JSON, tool input) then breaks its schema.
INVALID_BIT = 1 << 40
_WRONG: dict[str, Any] = {
    "string": 12345, "integer": "not a number", "number": "not a number", "boolean": "yes",
    "array": "not a list", "object": "not an object", "null": "not null",
}  # fmt: skip


def instance_for(schema: Any, seed: int) -> Any:
    """A deterministic instance of ``schema`` for ``seed`` (one that does not validate when
    the seed carries :data:`INVALID_BIT`)."""
    generator = _Generator(schema, random.Random(seed))
    value = generator.make(schema, 0)
    return _broken(generator, schema, value) if seed & INVALID_BIT else value


def _broken(generator: _Generator, schema: Any, value: Any) -> Any:
    """``value`` made to break ``schema``: a required member left out, else a member of the
    wrong type or outside its enum (an object's), else a value of the wrong type."""
    schema = generator.resolve(schema)
    if not isinstance(schema, Mapping):
        return value
    if isinstance(value, dict):
        required = [r for r in schema.get("required") or () if r in value]
        if required:
            return {k: v for k, v in value.items() if k != required[0]}
        for name, raw in (schema.get("properties") or {}).items():
            sub = generator.resolve(raw)
            if isinstance(sub, Mapping) and ("enum" in sub or "const" in sub):
                return {**value, name: {"not": "in the enum"}}
            if isinstance(sub, Mapping) and generator.pick_type(sub) in _WRONG:
                return {**value, name: _WRONG[generator.pick_type(sub)]}
        if schema.get("additionalProperties") is False:
            return {**value, "unexpected_member": True}
        return value  # an open object without constraints: nothing to break
    return _WRONG.get(generator.pick_type(schema), value)


class _Generator:
    def __init__(self, root: Any, rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: Any) -> Any:
        seen = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
            target: Any = self.root
            ref = schema["$ref"]
            if not ref.startswith("#"):
                return {}
            for raw in filter(None, ref[1:].split("/")):
                part = raw.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = _merge([target, rest]) if rest and isinstance(target, Mapping) else target
            seen += 1
        return schema

    def make(self, schema: Any, depth: int) -> Any:
        schema = self.resolve(schema)
        if schema is True or not isinstance(schema, Mapping):
            return "value"
        if "allOf" in schema and isinstance(schema["allOf"], list):
            parts = [
                self.resolve(s) for s in schema["allOf"] if isinstance(self.resolve(s), Mapping)
            ]
            own = {k: v for k, v in schema.items() if k != "allOf"}
            return self.make(_merge([own, *parts]), depth)
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                own = {k: v for k, v in schema.items() if k != key}
                branch = self.resolve(branches[self.rng.randrange(len(branches))])
                merged = _merge([own, branch]) if isinstance(branch, Mapping) else branch
                return self.make(merged, depth)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][self.rng.randrange(len(schema["enum"]))]
        kind = self.pick_type(schema)
        return getattr(self, f"make_{kind}")(schema, depth)

    def pick_type(self, schema: Mapping[str, Any]) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            options = [k for k in kind if k != "null"] or ["null"]
            kind = options[self.rng.randrange(len(options))]
        if kind in ("object", "array", "string", "integer", "number", "boolean", "null"):
            return str(kind)
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
            return "number"
        return "string"

    def make_null(self, schema: Mapping[str, Any], depth: int) -> Any:
        return None

    def make_boolean(self, schema: Mapping[str, Any], depth: int) -> Any:
        return self.rng.random() < 0.5

    def make_string(self, schema: Mapping[str, Any], depth: int) -> Any:
        lo = int(schema.get("minLength", 0))
        hi = int(schema.get("maxLength", max(lo, 40)))
        text = _FORMATS.get(str(schema.get("format", "")))
        if text is None or not lo <= len(text) <= hi:
            words = [
                _WORDS[self.rng.randrange(len(_WORDS))] for _ in range(1 + self.rng.randrange(3))
            ]
            text = " ".join(words)
            while len(text) < lo:
                text += " " + _WORDS[self.rng.randrange(len(_WORDS))]
            text = text[:hi]
        return text

    def _bounds(self, schema: Mapping[str, Any]) -> tuple[float, float, bool, bool]:
        lo, hi = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)
        lo_open = hi_open = False
        ex_lo, ex_hi = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if ex_lo is True:
            lo_open = True
        elif isinstance(ex_lo, (int, float)) and not isinstance(ex_lo, bool) and ex_lo >= lo:
            lo, lo_open = ex_lo, True
        if ex_hi is True:
            hi_open = True
        elif isinstance(ex_hi, (int, float)) and not isinstance(ex_hi, bool) and ex_hi <= hi:
            hi, hi_open = ex_hi, True
        return float(lo), float(hi), lo_open, hi_open

    def _integer_range(self, schema: Mapping[str, Any]) -> tuple[int, int]:
        lo, hi, lo_open, hi_open = self._bounds(schema)
        first = last = None
        if lo != -math.inf:
            first = int(lo) + 1 if lo_open and lo == math.floor(lo) else math.ceil(lo)
        if hi != math.inf:
            last = int(hi) - 1 if hi_open and hi == math.ceil(hi) else math.floor(hi)
        if first is None:
            first = 0 if last is None else min(0, last)
        if last is None:
            last = first + 100
        return first, last

    def make_integer(self, schema: Mapping[str, Any], depth: int) -> Any:
        first, last = self._integer_range(schema)
        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
            if step == int(step):
                step = int(step)
                low, high = -(-first // step), last // step
                if low <= high:
                    return step * (low + self.rng.randrange(min(high - low, 100) + 1))
            for value in range(first, min(last, first + 1000) + 1):
                if _multiple(value, step):
                    return value
        return first + self.rng.randrange(min(last - first, 1000) + 1) if last >= first else first

    def make_number(self, schema: Mapping[str, Any], depth: int) -> Any:
        lo, hi, lo_open, hi_open = self._bounds(schema)

        def inside(v: float) -> bool:
            return (v > lo or (not lo_open and v == lo)) and (v < hi or (not hi_open and v == hi))

        step = schema.get("multipleOf")
        if isinstance(step, (int, float)) and not isinstance(step, bool) and step > 0:
            start = (
                math.ceil(lo / step)
                if lo != -math.inf
                else min(0, math.floor(hi / step) if hi != math.inf else 0)
            )
            for k in range(start, start + 1000):
                value = k * step
                if inside(value) and _multiple(value, step):
                    return value
                if hi != math.inf and value > hi:
                    break
            return start * step
        lo_fin = lo if lo != -math.inf else (min(0.0, hi - 100.0) if hi != math.inf else 0.0)
        hi_fin = hi if hi != math.inf else lo_fin + 100.0
        for value in (
            round(lo_fin + (hi_fin - lo_fin) * (0.1 + 0.8 * self.rng.random()), 2),
            (lo_fin + hi_fin) / 2,
            lo_fin,
            hi_fin,
        ):
            if inside(value):
                return value
        return (lo_fin + hi_fin) / 2

    def make_array(self, schema: Mapping[str, Any], depth: int) -> Any:
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", max(lo, 3)))
        size = lo if depth >= _MAX_DEPTH else min(hi, max(lo, 1 + self.rng.randrange(3)))
        prefix = schema.get("prefixItems")
        items = schema.get("items", {})
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        out: list[Any] = []
        unique = bool(schema.get("uniqueItems"))
        attempts = 0
        while len(out) < size and attempts < size * 20 + 20:
            attempts += 1
            i = len(out)
            item_schema = prefix[i] if isinstance(prefix, list) and i < len(prefix) else items
            if item_schema is False:
                break
            value = self.make(item_schema, depth + 1)
            if unique and value in out:
                continue
            out.append(value)
        return out

    def make_object(self, schema: Mapping[str, Any], depth: int) -> Any:
        given = schema.get("properties")
        properties: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
        listed = schema.get("required")
        required = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
        extra = schema.get("additionalProperties", {})
        cap = int(schema.get("maxProperties", 10**6))
        out: dict[str, Any] = {}
        for name in required:
            out[name] = self.make(
                properties.get(name, extra if isinstance(extra, Mapping) else {}), depth + 1
            )
        if depth < _MAX_DEPTH:
            for name, sub in properties.items():
                if len(out) >= cap:
                    break
                if name not in out:
                    out[name] = self.make(sub, depth + 1)
        wanted = int(schema.get("minProperties", 0))
        n = 0
        while len(out) < wanted and extra is not False:
            n += 1
            out.setdefault(
                f"extra{n}", self.make(extra if isinstance(extra, Mapping) else {}, depth + 1)
            )
        return out


def _multiple(value: float, step: float) -> bool:
    """``value`` is a multiple of ``step`` the way JSON-schema validators check it."""
    if isinstance(value, int) and isinstance(step, int):
        return value % step == 0
    quotient = value / step
    return math.isfinite(quotient) and int(quotient) == quotient


def _merge(parts: list[Any]) -> dict[str, Any]:
    """allOf: one schema that satisfies every part (the common keywords)."""
    out: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        for key, value in part.items():
            if key == "properties" and isinstance(value, Mapping):
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required" and isinstance(value, list):
                out["required"] = list(dict.fromkeys([*out.get("required", []), *value]))
            elif (
                key in ("minimum", "minLength", "minItems", "minProperties", "exclusiveMinimum")
                and key in out
            ):
                out[key] = max(out[key], value)
            elif (
                key in ("maximum", "maxLength", "maxItems", "maxProperties", "exclusiveMaximum")
                and key in out
            ):
                out[key] = min(out[key], value)
            else:
                out[key] = value
    return out
