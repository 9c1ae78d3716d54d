"""The command line's errors and exit codes (standard library only: ``bedrock-batch --help``
imports this and loads no boto3).

Exit codes: 0 success; 1 an unexpected error (a bug: ``--debug`` shows the traceback);
2 bad usage or set-up (a flag, a file or folder, the region, credentials, profile, an S3 URI);
3 invalid input records (nothing was uploaded or created); 4 the batch ended Failed, Expired or
Stopped; 5 an AWS call failed; 6 waiting timed out; 7 the batch has not finished (pass
``--partial`` to read what there is); 8 the batch already ended (nothing to stop); 130
interrupted (the batch keeps running); 141 the reader of stdout went away (``| head``).
"""

from __future__ import annotations

__all__ = [
    "EXIT_BUG",
    "EXIT_CODES",
    "EXIT_ENDED",
    "EXIT_INTERRUPTED",
    "EXIT_INVALID",
    "EXIT_JOB_FAILED",
    "EXIT_NOT_FINISHED",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_SERVICE",
    "EXIT_TIMEOUT",
    "EXIT_USAGE",
    "CliError",
]

EXIT_OK, EXIT_BUG, EXIT_USAGE, EXIT_INVALID, EXIT_JOB_FAILED, EXIT_SERVICE = 0, 1, 2, 3, 4, 5
EXIT_TIMEOUT, EXIT_NOT_FINISHED, EXIT_ENDED, EXIT_INTERRUPTED, EXIT_PIPE = 6, 7, 8, 130, 141

EXIT_CODES = """exit codes:
  0 ok; 1 unexpected error (--debug shows a traceback); 2 bad usage or set-up (flag, file,
  folder, region, credentials, profile, S3 URI); 3 invalid input — records, job parameters,
  setup choices, a cost over --max-cost (nothing uploaded or created); 4 the batch ended Failed/Expired/Stopped; 5 an AWS call failed; 6 waiting timed
  out; 7 the batch has not finished (--partial reads it anyway); 8 the batch already ended;
  130 interrupted (the batch keeps running); 141 stdout closed (e.g. | head)
"""


class CliError(Exception):
    """A mistake the user can fix: one line on stderr and ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code
