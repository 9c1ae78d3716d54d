"""A small, cautious evaluator of IAM policy documents, for ``doctor``.

It answers one question — do these identity policies allow this action on this resource (or on
every object under this prefix)? — from the documents alone, with no call to AWS. It knows only
what it can be sure of:

- ``Allow`` statements with ``Action`` and ``Resource`` (strings or lists), matched by IAM's
  glob rules (:func:`glob_match`): ``*`` any run of characters (``/`` and ``:`` included), ``?``
  exactly one; actions case-insensitively, resources case-sensitively;
- conditions only on keys whose value the caller supplies (``context``; ``doctor`` gives
  ``aws:ResourceAccount`` for the bucket it verified the owner of) with ``StringEquals``,
  ``StringLike``, ``ArnEquals`` or ``ArnLike``.

Everything else makes the answer :data:`CANNOT_TELL`, never :data:`PASS`: a ``Deny`` that may
apply, ``NotAction`` / ``NotResource`` (where no plain statement allows), any other condition,
policy variables (``${aws:username}``). Permission boundaries, SCPs, bucket and KMS key policies
are not documents given here: the caller says "cannot tell" for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

import attrs

__all__ = [
    "CANNOT_TELL",
    "FAIL",
    "PASS",
    "WARN",
    "BEDROCK_PRINCIPAL",
    "Access",
    "Target",
    "Verdict",
    "covers_prefix",
    "evaluate",
    "evaluate_trust",
    "glob_match",
    "statements",
    "worst",
]

Verdict = Literal["pass", "warn", "fail", "cannot tell"]
PASS: Verdict = "pass"
WARN: Verdict = "warn"
FAIL: Verdict = "fail"
CANNOT_TELL: Verdict = "cannot tell"

#: Condition operators evaluated (against ``context`` only): whether their values are globs
#: (``ArnEquals`` takes wildcards as ``ArnLike`` does, in IAM's condition operator reference).
_OPERATORS = {"StringEquals": False, "StringLike": True, "ArnEquals": True, "ArnLike": True}


@lru_cache(maxsize=512)
def _compiled(pattern: str, fold: bool) -> re.Pattern[str]:
    parts = ("." * (c == "?") or ".*" * (c == "*") or re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if fold else 0))


def glob_match(pattern: str, value: str, *, case_insensitive: bool = False) -> bool:
    """Whether IAM's glob ``pattern`` matches all of ``value``: ``*`` any run of characters
    (empty, ``/`` and ``:`` included), ``?`` one character, everything else literally."""
    return _compiled(pattern, case_insensitive).fullmatch(value) is not None


def covers_prefix(pattern: str, prefix: str) -> bool:
    """Whether ``pattern`` matches *every* string that starts with ``prefix`` (every object key
    under an S3 prefix, whatever its name).

    That holds exactly when the pattern ends in a run of ``*`` and ``?`` holding at least one
    ``*``, and what comes before that run matches ``prefix[:k]`` for some ``k`` that leaves at
    least as many characters of ``prefix`` as the run has ``?``.
    """
    head = pattern.rstrip("*?")
    tail = pattern[len(head) :]
    if "*" not in tail:
        return False
    need = tail.count("?")
    return any(glob_match(head, prefix[:k]) for k in range(len(prefix) - need + 1))


@attrs.frozen
class Target:
    """What is asked about: one resource ARN, or every object under ``arn`` (``prefix=True``)."""

    arn: str
    prefix: bool = False

    def matched_by(self, pattern: str) -> bool:
        """Whether a statement's ``Resource`` pattern reaches this target (all of it)."""
        return covers_prefix(pattern, self.arn) if self.prefix else glob_match(pattern, self.arn)

    def touched_by(self, pattern: str) -> bool:
        """Whether the pattern reaches at least part of this target (a Deny may bite)."""
        if not self.prefix:
            return glob_match(pattern, self.arn)
        # some string under the prefix matches iff a head of the pattern matches the prefix
        # itself (where the prefix ends, the pattern is between two characters or inside a *)
        return any(glob_match(pattern[:k], self.arn) for k in range(len(pattern) + 1))

    def __str__(self) -> str:
        return f"{self.arn}*" if self.prefix else self.arn


@attrs.frozen
class Access:
    """The verdict for one action on one target, and why."""

    verdict: Verdict
    reason: str

    @property
    def allowed(self) -> bool:
        """True only when the documents surely allow it."""
        return self.verdict == PASS


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def statements(doc: Mapping[str, Any] | str) -> list[dict[str, Any]]:
    """The statements of a policy document (a dict, or its JSON text), as a list of dicts."""
    if isinstance(doc, str):
        import json
        from urllib.parse import unquote

        doc = json.loads(unquote(doc) if doc.lstrip().startswith("%") else doc)
    if not isinstance(doc, Mapping):
        return []
    return [s for s in _list(doc.get("Statement")) if isinstance(s, dict)]


def _hit(value: str, actual: str, *, like: bool, prefix: bool) -> bool | None:
    """Whether a condition's value matches ``actual``; with ``prefix``, ``actual`` stands for
    *every* string that starts with it (True only when all match, None when only some may)."""
    if not prefix:
        return glob_match(value, actual) if like else value == actual
    if like and covers_prefix(value, actual):
        return True
    return None if like and Target(actual, prefix=True).touched_by(value) else False


def _condition(
    cond: Any, context: Mapping[str, str], prefixes: frozenset[str] = frozenset()
) -> bool | None:
    """True/False when every condition can be evaluated from ``context``; None otherwise.
    A key in ``prefixes`` stands for every value starting with its context value."""
    if not cond:
        return True
    if not isinstance(cond, dict):
        return None
    result: bool | None = True
    for operator, clauses in cond.items():
        if operator not in _OPERATORS or not isinstance(clauses, dict):
            return None
        like = _OPERATORS[operator]
        for key, wanted in clauses.items():
            actual = context.get(str(key).lower())
            values = [str(v) for v in _list(wanted)]
            if actual is None or any("${" in v for v in values):
                return None
            hits = [_hit(v, actual, like=like, prefix=str(key).lower() in prefixes) for v in values]
            if True not in hits:  # False wins over "some jobs only" (None)
                result = False if result is False or None not in hits else None
    return result


def _names(statement: Mapping[str, Any]) -> str:
    sid = statement.get("Sid")
    return f"statement {sid!r}" if sid else "a statement"


def evaluate(
    documents: Iterable[tuple[str, Mapping[str, Any] | str]],
    action: str,
    target: Target,
    *,
    context: Mapping[str, str] | None = None,
) -> Access:
    """Whether the named ``documents`` (``(name, document)`` pairs: the role's inline and
    managed policies) allow ``action`` on ``target``. Pass only when surely allowed."""
    ctx = {k.lower(): v for k, v in (context or {}).items()}
    allowed_by: str | None = None
    doubts: list[str] = []
    deny_doubts: list[str] = []
    for name, doc in documents:
        for st in statements(doc):
            where = f"{_names(st)} of {name}"
            effect = st.get("Effect")
            odd = "NotAction" in st or "NotResource" in st or "NotPrincipal" in st
            actions = [str(a) for a in _list(st.get("Action"))]
            resources = [str(r) for r in _list(st.get("Resource"))]
            acts = odd or any(glob_match(a, action, case_insensitive=True) for a in actions)
            if effect == "Deny":
                if odd or (acts and any(target.touched_by(r) for r in resources)):
                    deny_doubts.append(f"{where} denies (or may deny) {action}")
                continue
            if effect != "Allow" or not acts:
                continue
            if odd:
                doubts.append(f"{where} uses NotAction/NotResource")
                continue
            if any("${" in r for r in resources):
                doubts.append(f"{where} uses a policy variable")
                continue
            if not any(target.matched_by(r) for r in resources):
                continue
            met = _condition(st.get("Condition"), ctx)
            if met is None:
                doubts.append(f"{where} has a condition doctor cannot evaluate")
            elif met:
                allowed_by = allowed_by or where
    if deny_doubts:
        return Access(CANNOT_TELL, "; ".join(deny_doubts))
    if allowed_by:
        return Access(PASS, f"allowed by {allowed_by}")
    if doubts:
        return Access(CANNOT_TELL, "; ".join(doubts))
    return Access(FAIL, f"no statement allows {action} on {target}")


def worst(verdicts: Sequence[Verdict]) -> Verdict:
    """The verdict of several: fail over cannot tell over warn over pass."""
    order: tuple[Verdict, ...] = (FAIL, CANNOT_TELL, WARN, PASS)
    return next((v for v in order if v in verdicts), PASS)


#: The service principal that assumes a batch job's role.
BEDROCK_PRINCIPAL = "bedrock.amazonaws.com"
_TRUST_KEYS = ("aws:sourceaccount", "aws:sourcearn")
_SOURCE_ARN = frozenset({"aws:sourcearn"})


def _trusts_bedrock(principal: Any) -> bool | None:
    """True when the principal names Bedrock's service; None for ``*`` (anyone)."""
    if principal == "*":
        return None
    if not isinstance(principal, dict):
        return False
    if "*" in _list(principal.get("AWS")):
        return None
    return BEDROCK_PRINCIPAL in [str(s) for s in _list(principal.get("Service"))]


def evaluate_trust(doc: Mapping[str, Any] | str, account: str, job_arn: str) -> Access:
    """Whether a role's trust policy lets Bedrock assume it for a job of ``account`` whose ARN
    looks like ``job_arn``, with the recommended ``aws:SourceAccount`` / ``aws:SourceArn``
    conditions (facts §8). Without any condition it works, but is a warning (the docs recommend
    them against the confused deputy); conditions naming another account or region fail."""
    # the condition must hold for *every* job of the account in the region, whatever its id
    ctx = {"aws:sourceaccount": account, "aws:sourcearn": job_arn.rsplit("/", 1)[0] + "/"}
    passed: list[str] = []
    bare: list[str] = []
    wrong: list[str] = []
    doubts: list[str] = []
    for st in statements(doc):
        where = _names(st)
        if "NotPrincipal" in st or "NotAction" in st:
            doubts.append(f"{where} uses NotPrincipal/NotAction")
            continue
        acts = any(
            glob_match(str(a), "sts:AssumeRole", case_insensitive=True)
            for a in _list(st.get("Action"))
        )
        trusts = _trusts_bedrock(st.get("Principal"))
        if not acts or trusts is False:
            continue
        if st.get("Effect") == "Deny":
            doubts.append(f"{where} denies sts:AssumeRole")
            continue
        if st.get("Effect") != "Allow":
            continue
        if trusts is None:
            doubts.append(f"{where} trusts any principal ('*')")
            continue
        cond = st.get("Condition") or {}
        keys = {
            str(k).lower() for c in (cond.values() if isinstance(cond, dict) else []) for k in c
        }
        met = _condition(cond, ctx, _SOURCE_ARN) if keys <= set(_TRUST_KEYS) else None
        if met is None:
            doubts.append(f"{where} has a condition doctor cannot evaluate")
        elif not cond:
            bare.append(where)
        elif met:
            passed.append(f"{where} with conditions on {', '.join(sorted(keys))}")
        else:
            wrong.append(where)
    if doubts:
        return Access(CANNOT_TELL, "; ".join(doubts))
    if passed:
        return Access(PASS, f"trusts {BEDROCK_PRINCIPAL} for this account's jobs ({passed[0]})")
    if bare:
        return Access(
            WARN,
            f"trusts {BEDROCK_PRINCIPAL} without aws:SourceAccount / aws:SourceArn conditions "
            "(it works; AWS recommends them)",
        )
    if wrong:
        return Access(
            FAIL,
            f"trusts {BEDROCK_PRINCIPAL} only under conditions that do not match this "
            f"account's jobs ({job_arn.rsplit('/', 1)[0]}/…)",
        )
    return Access(FAIL, f"does not let {BEDROCK_PRINCIPAL} assume it (sts:AssumeRole)")
