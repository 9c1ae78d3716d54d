"""Local Bedrock's sessions share one loader of botocore's models; boto3's search path is added
to it once, however many sessions are made."""

from __future__ import annotations

from bedrock_batch.local import LocalBedrock


def test_many_sessions_share_one_loader_without_growing_its_paths() -> None:
    with LocalBedrock(clock="manual") as local:
        loaders = [local.session()._session.get_component("data_loader") for _ in range(6)]
    assert all(loader is loaders[0] for loader in loaders)
    paths = loaders[0].search_paths
    assert len(paths) == len(set(paths)), paths
    assert any(path.endswith("boto3/data") for path in paths), paths
