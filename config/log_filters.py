"""No claim contents or patient data in the logs.

The code logs ids, counts and timings only (a claim is "claim 42", never its diagnoses). This filter is the net
under that rule: on every handler, it masks what looks like claim data in a log line and in its traceback —
ICD-10-CM diagnosis codes, NPIs (10 digits), clinical-trial numbers (NCT + 8 digits) — before it is written.
"""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"

PATTERNS = [
    re.compile(r"\bNCT\d{8}\b", re.IGNORECASE),  # clinical-trial number
    re.compile(r"\b\d{10}\b"),  # NPI (and any other 10-digit number)
    # ICD-10-CM: a letter, a digit, a digit or letter, then up to 4 more after an optional dot (M48.062, Z006)
    re.compile(r"\b[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?\b"),
]


def redact(text: str) -> str:
    for pattern in PATTERNS:
        text = pattern.sub(MASK, text)
    return text


class RedactClaimData(logging.Filter):
    """Masks diagnosis codes, NPIs and trial numbers in the message and the traceback of a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (default: root) that does not have it yet (e.g. the handlers
    Celery's worker sets up itself)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactClaimData) for f in handler.filters):
            handler.addFilter(RedactClaimData())
