"""The ``local_bedrock`` pytest fixture owns every boto3 client of the process.

A separate project's test suite (run with pytest's ``pytester``, in this process) tests an
"application" module that makes its own ``boto3.Session()`` — one at import time, before the
fixture, and others during the test — with the user's AWS configuration pointing elsewhere and
``BEDROCK_BATCH_*`` variables set. Under the fixture every call reaches the emulator (Service
Quotas too: the plan's quotas come from it, not from the defaults), nothing may leave the
machine, and everything is restored afterwards.
"""

from __future__ import annotations

import pytest

APP = '''
"""An application that knows nothing of Local Bedrock."""
import boto3

from bedrock_batch import BatchJob

MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
ROLE = "arn:aws:iam::123456789012:role/AppRole"
SESSION = boto3.Session()  # made at import time, before any fixture


def summarise(texts):
    boto3.client("s3").create_bucket(Bucket="app-bucket")
    with BatchJob(MODEL, ROLE, "s3://app-bucket/in/", "s3://app-bucket/out/",
                  session=boto3.Session(), mode="batch") as job:
        for i, text in enumerate(texts):
            job.add_prompt(f"Summarise: {text}", key={"topic": f"t{i}"}, max_tokens=50)
        plan = job.plan()
        results = job.run()
        return plan.quota_source, {r.key["topic"]: r.ok for r in results}


def count_jobs():
    return len(SESSION.client("bedrock").list_model_invocation_jobs()["invocationJobSummaries"])
'''

TESTS = '''
import os
import socket

import boto3
import pytest

import app

CONFIG = """[default]
region = eu-west-3
endpoint_url = https://10.20.30.40
[profile user]
region = ap-south-1
credential_process = /bin/false
"""


@pytest.fixture(autouse=True, scope="module")
def users_own_setup(tmp_path_factory):
    """The developer's machine: a saved profile pointing elsewhere, real-looking keys and the
    library's variables."""
    config = tmp_path_factory.mktemp("aws") / "config"
    config.write_text(CONFIG)
    saved = dict(os.environ)
    os.environ.update(AWS_CONFIG_FILE=str(config), AWS_PROFILE="user",
                      AWS_ACCESS_KEY_ID="AKIAREALLOOKINGKEY00", AWS_SECRET_ACCESS_KEY="real",
                      AWS_ENDPOINT_URL="https://10.20.30.40", BEDROCK_BATCH_JSON="1")
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_the_application_runs_against_the_emulator(local_bedrock):
    ours = {"BEDROCK_BATCH_CONFIG", "BEDROCK_BATCH_IAM_SETTLE_SECONDS"}  # the fixture's own
    assert not [n for n in os.environ if n.startswith("BEDROCK_BATCH_") and n not in ours]
    assert "bedrock-batch-local-" in os.environ["BEDROCK_BATCH_CONFIG"]  # a fresh temp file
    assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALLOOKINGKEY00"
    assert "AWS_PROFILE" not in os.environ and "AWS_ENDPOINT_URL" not in os.environ
    source, ok = app.summarise([f"text {i}" for i in range(120)])
    assert source == "service-quotas"
    assert len(ok) == 120 and all(ok.values())
    assert app.count_jobs() == 1
    listed = local_bedrock.client("bedrock").list_model_invocation_jobs()
    assert len(listed["invocationJobSummaries"]) == 1


def test_nothing_leaves_the_machine(local_bedrock):
    from bedrock_batch.local import NetworkDenied

    with pytest.raises(NetworkDenied, match="10.255.255.1:443"):
        socket.create_connection(("10.255.255.1", 443), timeout=5)
    with pytest.raises(NetworkDenied, match="10.9.9.9"):
        boto3.client("sts", endpoint_url="https://10.9.9.9").get_caller_identity()


def test_everything_is_restored_afterwards():
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALLOOKINGKEY00"
    assert os.environ["BEDROCK_BATCH_JSON"] == "1"
    assert os.environ["AWS_PROFILE"] == "user"
'''


def test_the_fixture_owns_every_client(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(app=APP, test_app=TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_this_suite_runs_with_the_network_denied() -> None:
    """The autouse guard of ``tests/conftest.py``: loopback is allowed, nothing else."""
    import socket

    from bedrock_batch.local import NetworkDenied

    for address in [("10.255.255.1", 443), ("8.8.8.8", 53), ("2001:db8::1", 443)]:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family) as sock, pytest.raises(NetworkDenied, match=address[0]):
            sock.connect(address)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
