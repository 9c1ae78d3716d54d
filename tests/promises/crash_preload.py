"""Imported by the SIGKILL test's fork server only (never by a test): the driver with botocore's
JSON data already parsed, so that each forked run starts where a long-lived process would."""

from __future__ import annotations

from . import crash_driver

crash_driver.warm()
