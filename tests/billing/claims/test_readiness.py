"""Ready means validated (billing.claims.readiness, pure): each reason, and overrides lifting exactly what they name."""

from datetime import UTC, datetime, timedelta

from billing.claims.readiness import (
    EDITED_SINCE_CHECK,
    HAS_ERRORS,
    NOT_CHECKED,
    NOT_VALIDATED,
    LatestCheck,
    not_ready_reasons,
)

CHECKED = datetime(2026, 5, 5, 14, 0, tzinfo=UTC)


def finding(rule, severity):
    return {"rule": rule, "severity": severity, "message": "m"}


def test_never_checked_is_not_ready():
    assert not_ready_reasons(None, None) == [NOT_CHECKED]


def test_a_clean_check_newer_than_the_last_edit_is_ready_and_warnings_or_info_do_not_block():
    latest = LatestCheck(CHECKED, (finding("MUE_EXCEEDED", "warning"), finding("CODING_NOT_LOADED", "info")))
    assert not_ready_reasons(latest, CHECKED - timedelta(minutes=1)) == []


def test_an_edit_after_the_check_errors_and_unvalidated_codes_each_block():
    latest = LatestCheck(
        CHECKED, (finding("PAYER_REQUIRES_MODIFIER", "error"), finding("CODING_NOT_LOADED", "warning"))
    )
    assert not_ready_reasons(latest, CHECKED + timedelta(seconds=1)) == [EDITED_SINCE_CHECK, HAS_ERRORS, NOT_VALIDATED]


def test_overrides_lift_only_the_findings_they_name():
    latest = LatestCheck(
        CHECKED, (finding("PAYER_REQUIRES_MODIFIER", "error"), finding("CODING_NOT_LOADED", "warning"))
    )
    assert not_ready_reasons(latest, None, {"PAYER_REQUIRES_MODIFIER"}) == [NOT_VALIDATED]
    assert not_ready_reasons(latest, None, {"PAYER_REQUIRES_MODIFIER", "CODING_NOT_LOADED"}) == []
