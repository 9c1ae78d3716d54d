"""The doctor's policy evaluator: IAM's glob rules (property tests against a brute-force
oracle), prefix coverage, and the statements that make a verdict "cannot tell" rather than pass."""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bedrock_batch import iam
from bedrock_batch._setup._policy import (
    CANNOT_TELL,
    FAIL,
    PASS,
    WARN,
    Target,
    covers_prefix,
    evaluate,
    evaluate_trust,
    glob_match,
)

ACCOUNT = "123456789012"
HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
JOB = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-job/abcdefgh1234"

# A small alphabet, so that random patterns and strings often match.
chars = st.sampled_from("ab/:")
texts = st.text(chars, max_size=7)
patterns = st.text(st.sampled_from("ab/:*?"), max_size=6)


@cache
def oracle(pattern: str, value: str) -> bool:
    """Glob matching by plain recursion on the definition (no regex)."""
    if not pattern:
        return not value
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(oracle(rest, value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (head == "?" or head == value[0]) and oracle(rest, value[1:])


@given(patterns, texts)
def test_glob_matches_as_the_definition_says(pattern: str, value: str) -> None:
    assert glob_match(pattern, value) == oracle(pattern, value)


@given(texts)
def test_a_literal_matches_only_itself_and_star_matches_everything(value: str) -> None:
    assert glob_match(value, value)
    assert not glob_match(value, value + "a")
    assert glob_match("*", value)
    assert glob_match("?" * len(value), value)
    assert not glob_match("?" * (len(value) + 1), value)


@given(texts, st.data())
def test_replacing_any_slice_by_a_star_still_matches(value: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(value)))
    j = data.draw(st.integers(i, len(value)))
    assert glob_match(value[:i] + "*" + value[j:], value)


@given(st.text(st.sampled_from("aB:*"), max_size=6), st.text(st.sampled_from("aAbB:"), max_size=6))
def test_actions_match_without_case_resources_with_it(pattern: str, value: str) -> None:
    assert glob_match(pattern, value, case_insensitive=True) == oracle(pattern.lower(), value.lower())  # fmt: skip
    assert glob_match(pattern, value) == oracle(pattern, value)


def test_special_characters_of_regular_expressions_are_literal() -> None:
    assert glob_match("arn:aws:s3:::b.c/(x)+", "arn:aws:s3:::b.c/(x)+")
    assert not glob_match("arn:aws:s3:::b.c/x", "arn:aws:s3:::bxc/x")


@given(patterns, texts)
@example("*?", "a")
@example("a*b", "a")
def test_prefix_coverage_is_matching_every_extension(pattern: str, prefix: str) -> None:
    """``covers_prefix`` agrees with matching every extension of the prefix up to a length
    (enough for patterns this short), over the alphabet plus one character no pattern has."""
    extensions = ("".join(t) for n in range(4) for t in itertools.product("ab/:z", repeat=n))
    brute = all(oracle(pattern, prefix + s) for s in extensions)
    assert covers_prefix(pattern, prefix) == brute


@given(patterns, texts)
def test_a_prefix_target_is_touched_when_some_extension_matches(pattern: str, prefix: str) -> None:
    extensions = ("".join(t) for n in range(7) for t in itertools.product("ab/:", repeat=n))
    brute = any(oracle(pattern, prefix + s) for s in extensions)
    assert Target(prefix, prefix=True).touched_by(pattern) == brute


# -- statements ------------------------------------------------------------------------------


def role_policy(model: str = HAIKU) -> dict[str, Any]:
    return iam.service_role_policy(
        model, "s3://bkt/in/", "s3://bkt/out/", account_id=ACCOUNT, region="us-east-1"
    )


INPUTS = Target("arn:aws:s3:::bkt/in/", prefix=True)
OWNED = {"aws:ResourceAccount": ACCOUNT}


def test_the_library_policy_allows_what_a_job_needs() -> None:
    docs = [("p", role_policy())]
    assert evaluate(docs, "s3:GetObject", INPUTS, context=OWNED).verdict == PASS
    assert evaluate(docs, "S3:getobject", INPUTS, context=OWNED).verdict == PASS
    fm = Target(f"arn:aws:bedrock:us-east-1::foundation-model/{HAIKU}")
    assert evaluate(docs, "bedrock:InvokeModel", fm).verdict == PASS
    # not the outputs, not another prefix, not writing the inputs
    assert evaluate(docs, "s3:PutObject", INPUTS, context=OWNED).verdict == FAIL
    other = Target("arn:aws:s3:::bkt/other/", prefix=True)
    assert evaluate(docs, "s3:GetObject", other, context=OWNED).verdict == FAIL


def test_a_resource_account_condition_needs_the_verified_owner() -> None:
    docs = [("p", role_policy())]
    assert evaluate(docs, "s3:GetObject", INPUTS).verdict == CANNOT_TELL
    other_owner = {"aws:ResourceAccount": "999999999999"}
    assert evaluate(docs, "s3:GetObject", INPUTS, context=other_owner).verdict == FAIL


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*", **extra}


def doc(*statements: dict[str, Any]) -> list[tuple[str, Any]]:
    return [("p", {"Version": "2012-10-17", "Statement": list(statements)})]


def test_a_deny_that_may_apply_is_never_a_pass() -> None:
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/in/secret/*"}
    assert evaluate(doc(allow(), deny), "s3:GetObject", INPUTS).verdict == CANNOT_TELL
    elsewhere = {**deny, "Resource": "arn:aws:s3:::other/*"}
    assert evaluate(doc(allow(), elsewhere), "s3:GetObject", INPUTS).verdict == PASS
    not_action = {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}
    assert evaluate(doc(allow(), not_action), "s3:GetObject", INPUTS).verdict == CANNOT_TELL


def test_what_cannot_be_evaluated_is_cannot_tell_unless_a_plain_statement_allows() -> None:
    odd = [
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::x/*"},
        allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        allow(Condition={"StringEquals": {"aws:PrincipalTag/team": "x"}}),
        allow(Resource="arn:aws:s3:::bkt/${aws:username}/*"),
    ]
    for statement in odd:
        assert evaluate(doc(statement), "s3:GetObject", INPUTS).verdict == CANNOT_TELL
        assert evaluate(doc(statement, allow()), "s3:GetObject", INPUTS).verdict == PASS
    assert evaluate(doc(), "s3:GetObject", INPUTS).verdict == FAIL


def test_policy_text_is_read_like_a_document() -> None:
    import json
    from urllib.parse import quote

    text = json.dumps({"Statement": [allow()]})
    for form in (text, quote(text)):
        assert evaluate([("p", form)], "s3:GetObject", INPUTS).verdict == PASS


# -- trust -----------------------------------------------------------------------------------


def test_the_library_trust_policy_passes_for_its_account_and_region() -> None:
    assert evaluate_trust(iam.trust_policy(ACCOUNT, "us-east-1"), ACCOUNT, JOB).verdict == PASS
    assert evaluate_trust(iam.trust_policy(ACCOUNT), ACCOUNT, JOB).verdict == PASS  # region *


def test_a_trust_policy_for_another_account_or_region_fails() -> None:
    assert evaluate_trust(iam.trust_policy("999999999999"), ACCOUNT, JOB).verdict == FAIL
    other_region = iam.trust_policy(ACCOUNT, "eu-west-1")
    assert evaluate_trust(other_region, ACCOUNT, JOB).verdict == FAIL


def test_trust_without_bedrock_fails_without_conditions_warns() -> None:
    ec2 = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    assert evaluate_trust(ec2, ACCOUNT, JOB).verdict == FAIL
    bare = {"Statement": [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "bedrock.amazonaws.com"]}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    assert evaluate_trust(bare, ACCOUNT, JOB).verdict == WARN


def test_trust_doctor_cannot_evaluate_is_cannot_tell() -> None:
    trust = iam.trust_policy(ACCOUNT, "us-east-1")
    statement = trust["Statement"][0]
    extra = {**statement, "Condition": {**statement["Condition"], "Bool": {"aws:SecureTransport": "true"}}}  # fmt: skip
    assert evaluate_trust({"Statement": [extra]}, ACCOUNT, JOB).verdict == CANNOT_TELL
    deny = {"Effect": "Deny", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:*"}
    assert evaluate_trust({"Statement": [statement, deny]}, ACCOUNT, JOB).verdict == CANNOT_TELL
    anyone = {**statement, "Principal": "*"}
    assert evaluate_trust({"Statement": [anyone]}, ACCOUNT, JOB).verdict == CANNOT_TELL


def test_a_source_arn_condition_passes_only_when_it_covers_every_job() -> None:
    # doctor knows the account and region of the jobs, never their ids (random, made later):
    # a SourceArn that only some job ids match must not pass on the strength of a sample id
    statement = iam.trust_policy(ACCOUNT, "us-east-1")["Statement"][0]
    prefix = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:model-invocation-job/"

    def with_arn(operator: str, arn: str) -> dict[str, Any]:
        cond = {"StringEquals": {"aws:SourceAccount": ACCOUNT}, operator: {"aws:SourceArn": arn}}
        return {"Statement": [{**statement, "Condition": cond}]}

    sample_id = JOB.rsplit("/", 1)[1]
    assert evaluate_trust(with_arn("ArnLike", prefix + "*"), ACCOUNT, JOB).verdict == PASS
    some = evaluate_trust(with_arn("ArnLike", prefix + sample_id[:3] + "*"), ACCOUNT, JOB)
    assert some.verdict == CANNOT_TELL
    for operator in ("ArnEquals", "StringEquals"):
        one = evaluate_trust(with_arn(operator, prefix + sample_id), ACCOUNT, JOB)
        assert one.verdict != PASS
    other = evaluate_trust(with_arn("ArnLike", prefix.replace("us-east-1", "eu-west-1") + "*"), ACCOUNT, JOB)  # fmt: skip
    assert other.verdict == FAIL
