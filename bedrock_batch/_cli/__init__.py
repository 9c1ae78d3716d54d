"""The ``bedrock-batch`` command line: parser and error boundary (``_main``), commands, output
writers and the ``iam-policy`` command. ``main`` is the console script's entry point."""

from ._main import main

__all__ = ["main"]
