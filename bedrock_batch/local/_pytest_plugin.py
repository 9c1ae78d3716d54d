"""pytest plugin: a ``local_bedrock`` fixture for testing your own pipelines offline.

Registered through the ``pytest11`` entry point. It imports nothing heavy until the fixture is
used, so installing ``bedrock-batch`` without the ``local`` extra costs pytest nothing.

Settings go on the opt-in marker::

    @pytest.mark.local_bedrock(clock="manual", seed=3)
    def test_pipeline(local_bedrock):
        s3 = local_bedrock.client("s3")

Inside the fixture every boto3 client of the process reaches the emulator and nothing leaves
the machine (see the fixture's docstring and the "Testing" page of the docs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker."""
    config.addinivalue_line(
        "markers",
        "local_bedrock(**kwargs): keyword arguments for the local_bedrock fixture's LocalBedrock",
    )


@pytest.fixture
def local_bedrock(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A started :class:`bedrock_batch.local.LocalBedrock` (S3 from moto), stopped afterwards.

    For the test's duration it owns every boto3 client in the process (``boto3.client``, your
    own ``boto3.Session()``, made before or during the test): Bedrock, bedrock-runtime and
    Service Quotas are answered by the emulator, other services by moto. Fake credentials and
    the emulator's region are set in the environment; your AWS config and credentials files and
    every ``BEDROCK_BATCH_*`` variable are hidden; ``bedrock_batch``'s saved defaults live in a
    fresh temporary file (``setup`` then ``BatchJob(model)`` works inside one test, and your own
    ``~/.config/bedrock-batch`` is never read or written); any connection that is not to
    loopback raises :class:`bedrock_batch.local.NetworkDenied`. Everything is restored
    afterwards.
    """
    import os

    from bedrock_batch.local import LocalBedrock
    from bedrock_batch.local._ownership import deny_network, isolated_environ, private_config

    marker = request.node.get_closest_marker("local_bedrock")
    kwargs = dict(marker.kwargs) if marker else {}
    ours = {name: None for name in os.environ if name.startswith("BEDROCK_BATCH_")}
    with isolated_environ(ours), private_config(), deny_network(), LocalBedrock(**kwargs) as local:
        yield local
