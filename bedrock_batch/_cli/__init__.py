"""The ``bedrock-batch`` command line: the parser and error boundary (``_main``), the CLI's
errors and exit codes (``_errors``), one function per command (``_commands``), what it prints
and writes (``_output``), ``iam-policy`` (``_iam``), help examples (``_examples``) and the demo
(``_demo``). ``main`` is the console script's entry point."""

from ._main import main

__all__ = ["main"]
