"""pytest plugin: a ``local_bedrock`` fixture for testing your own pipelines offline.

Registered through the ``pytest11`` entry point. It imports nothing heavy until the fixture is
used, so installing ``bedrock-batch`` without the ``local`` extra costs pytest nothing.

Settings go on the opt-in marker::

    @pytest.mark.local_bedrock(clock="manual", seed=3)
    def test_pipeline(local_bedrock):
        s3 = local_bedrock.client("s3")
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
    """A started :class:`bedrock_batch.local.LocalBedrock` (S3 from moto), stopped afterwards."""
    from bedrock_batch.local import LocalBedrock

    marker = request.node.get_closest_marker("local_bedrock")
    kwargs = dict(marker.kwargs) if marker else {}
    with LocalBedrock(**kwargs) as local:
        yield local
