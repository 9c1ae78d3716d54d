"""Secrets never reach a log line: a logging filter that masks AWS credentials.

botocore logs whole requests at DEBUG (headers with ``Authorization`` and
``X-Amz-Security-Token``, presigned query strings, credential-provider chatter). The filter
masks, in every record's final message:

- access key ids (``AKIA``/``ASIA``/... followed by 16 characters);
- the values of ``X-Amz-Security-Token``, ``X-Amz-Signature``, ``Signature=`` and
  ``aws_session_token``/``aws_secret_access_key`` style fields, in headers, dict reprs and query
  strings;
- any exact secret it is given (the CLI passes the current credentials).

Standard library only; no I/O. Installed on a handler, it sees every logger's records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["MASK", "RedactingFilter", "redact"]

MASK = "****"

_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA|ANVA|AGPA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b")
_FIELDS = re.compile(
    r"(?i)(x-amz-security-token|x-amz-signature|x-amz-credential|signature|"
    r"aws_session_token|aws_secret_access_key|secret_key|session_token|token|secretaccesskey|"
    r"sessiontoken)"
    r"""(['"]?\s*[:=]\s*b?['"]?)([^'",&\s}]+)"""
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every AWS credential it holds replaced by :data:`MASK`."""
    for secret in secrets:
        if secret and len(secret) >= 8:
            text = text.replace(secret, MASK)
    text = _FIELDS.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _KEY_ID.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Masks credentials in each record (its message and any traceback text)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        return True
