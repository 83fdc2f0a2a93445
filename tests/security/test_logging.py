"""No claim contents or patient data in the logs: claims are checked every way the product offers with every logger
at DEBUG, and no diagnosis code, NPI or clinical-trial number appears in what was logged. The redaction filter on
the handlers is the net under that rule, shown separately (SQL logging with parameters, which the settings keep
off, is masked when someone turns it on)."""

from __future__ import annotations

import io
import json
import logging
from unittest import mock

from django.core.management import call_command
from django.db import OperationalError, connection
from django.test import Client

from config.log_filters import MASK, RedactClaimData, redact
from tests.security.forms import form_data
from tests.security.helpers import MODEL_BACKEND, claim_body, contract_claim, record_figures

# What must never be logged: the claims below carry exactly these.
SECRETS = ["M48.062", "M48062", "Z00.6", "Z006", "M48.061", "1234567893", "NCT03072927", "NCT0307", "G89.4"]


class Capture(logging.Handler):
    """Every record, formatted with its traceback, before any handler filter."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record):
        self.lines.append(self.format(record))


def _with_debug_logging(run):
    root = logging.getLogger()
    capture = Capture()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    # every named logger at DEBUG too, but the SQL one: the settings keep it at WARNING (see the next test)
    names = [n for n in logging.root.manager.loggerDict if not n.startswith("django.db.backends")]
    saved = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(logging.DEBUG)
    try:
        run()
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)
    return capture.lines


def test_checking_claims_every_way_logs_no_claim_data(world, api_for):
    api = api_for("billing")
    web = Client()
    web.force_login(world.users["billing"], backend=MODEL_BACKEND)
    claim = world.claims_a[0]
    bad = contract_claim(diagnoses=["M48.062", "G89.4", "XX"], rendering_npi="1234567890")

    def run():
        assert api.post("/api/v1/claims/check", contract_claim(), format="json").status_code == 200
        assert api.post("/api/v1/claims/check", bad, format="json").status_code in (200, 400)
        assert api.post("/api/v1/claims/", claim_body(), format="json").status_code == 201
        assert api.post(f"/api/v1/claims/{claim.pk}/check/").status_code == 200
        stale = {"version": 99, "diagnoses": ["M48.061"]}
        assert api.patch(f"/api/v1/claims/{claim.pk}/", stale, format="json").status_code == 409
        assert web.post(f"/admin/billing/draftclaim/{claim.pk}/check/").status_code == 302
        change = f"/admin/billing/draftclaim/{claim.pk}/change/"
        form = form_data(web.get(change).content, "draftclaim_form")
        assert web.post(change, {**form, "diagnoses": "M48.061, Z00.6"}).status_code == 302
        out = io.StringIO()
        with mock.patch("sys.stdin", io.StringIO(json.dumps([contract_claim(), bad]))):
            call_command("check_claims", "-", "--practice", "demo", stdout=out)
        assert json.loads(out.getvalue())[0]["status"]
        # an outage in the middle of a check: the 503's log line carries no claim data either
        with mock.patch("billing.claims.checks.store_checks", side_effect=OperationalError("lost: M48.062 1234567893")):
            assert api.post("/api/v1/claims/check", contract_claim(), format="json").status_code == 503

    lines = _with_debug_logging(run)
    leaked = [line for line in lines if any(s in line for s in SECRETS)]
    record_figures("logging", {"log_lines_checked": len(lines), "lines_with_claim_data": len(leaked)})
    assert lines, "nothing was logged: the capture did not work"
    assert not leaked, "\n".join(leaked)


def test_sql_logging_is_off_and_masked_when_turned_on(world, api_for):
    from django.conf import settings

    assert settings.LOGGING["loggers"]["django.db.backends"]["level"] == "WARNING"
    # Someone turns SQL logging on (DEBUG level, debug cursor): the parameters carry the claim's codes...
    root = logging.getLogger()
    console = next(h for h in root.handlers if any(isinstance(f, RedactClaimData) for f in h.filters))
    stream = io.StringIO()
    old_stream = console.setStream(stream)
    raw = []
    sql = logging.getLogger("django.db.backends")
    old_level, old_root, old_console = sql.level, root.level, console.level
    tap = logging.Handler(level=logging.DEBUG)
    tap.emit = lambda record: raw.append(record.getMessage())
    sql.addHandler(tap)
    sql.setLevel(logging.DEBUG)
    console.setLevel(logging.DEBUG)
    connection.force_debug_cursor = True
    try:
        api_for("billing").post("/api/v1/claims/", claim_body(), format="json")
    finally:
        connection.force_debug_cursor = False
        sql.setLevel(old_level)
        sql.removeHandler(tap)
        console.setStream(old_stream)
        console.setLevel(old_console)
        root.setLevel(old_root)
    written = stream.getvalue()
    assert any("M48.062" in line or "1234567893" in line for line in raw), "the test did not log the claim's SQL"
    # ... and the handler masks them before they are written.
    assert "INSERT INTO" in written
    assert not any(s in written for s in SECRETS), [s for s in SECRETS if s in written]
    assert MASK in written


def test_redaction_of_messages_and_tracebacks():
    assert redact("claim 42: diagnoses ['M48.062', 'Z00.6'] npi=1234567893 trial NCT03072927") == (
        f"claim 42: diagnoses ['{MASK}', '{MASK}'] npi={MASK} trial {MASK}"
    )
    assert redact("checked 3 claims in 0.42s (2 clean, 1 error); release 17 kind=icd10cm") == (
        "checked 3 claims in 0.42s (2 clean, 1 error); release 17 kind=icd10cm"
    )
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed on %s", ("M48062",), None)
    try:
        raise ValueError("bad diagnosis Z006")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    RedactClaimData().filter(record)
    text = logging.Formatter().format(record)
    assert "M48062" not in text and "Z006" not in text and text.count(MASK) >= 2
