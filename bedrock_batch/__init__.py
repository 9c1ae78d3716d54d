"""bedrock_batch: Amazon Bedrock batch inference made easy, safe and fast."""
from __future__ import annotations

__all__: list[str] = []


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("bedrock-batch")
    raise AttributeError(name)
