"""What the checker relies on in CodingSnapshot, including the two fixes made for it.

- NCCI PTP files are cumulative: with no PTP release covering a date, the earliest later one answers and its
  pairs' own dates decide (contract example 13: only v32.2, in force from 2026-07-01, checks 2026-06-15).
- HCPCS files list Level II modifiers beside the codes: a modifier record is not a procedure code.
"""

from __future__ import annotations

from datetime import date

from codes.snapshot import HCPCS, MUE_PRACTITIONER, PTP_PRACTITIONER, CodingSnapshot, MemoryRelease, ReleaseRef
from tests.billing.claimcheck_data import (
    CMS,
    PTP_V322,
    base_releases,
    full_releases,
    mue_release,
    ptp_release,
    ptp_rows,
)


def test_a_later_cumulative_ptp_release_answers_for_earlier_dates():
    releases = {PTP_PRACTITIONER: (ptp_release(),)}
    before = CodingSnapshot(date(2026, 6, 15), releases)
    assert before.release(PTP_PRACTITIONER) == PTP_V322
    assert [(e.column1, e.column2) for e in before.ptp_edits(["0001U", "0029U"])] == [("0001U", "0029U")]
    assert CodingSnapshot(date(2026, 7, 15), releases).ptp_edits(["0001U", "0029U"]) == []
    assert CodingSnapshot(date(2026, 10, 1), releases).release(PTP_PRACTITIONER) is None


def test_a_covering_ptp_release_still_wins():
    # The v32.2 rows again, under a Q2 label: only which release answers is under test here.
    v321 = ReleaseRef(
        59, PTP_PRACTITIONER, "NCCI practitioner PTP edits v32.1 (2026 Q2)", date(2026, 4, 1), date(2026, 6, 30)
    )
    earlier = MemoryRelease(v321, ptp=ptp_rows(CMS / "ccipra-v322r0-f1_excerpt.txt"))
    releases = {PTP_PRACTITIONER: (earlier, ptp_release())}
    assert CodingSnapshot(date(2026, 6, 15), releases).release(PTP_PRACTITIONER) == v321
    assert CodingSnapshot(date(2026, 1, 15), releases).release(PTP_PRACTITIONER) == v321  # the nearest later one


def test_mue_tables_are_not_cumulative():
    releases = {MUE_PRACTITIONER: (mue_release(),)}
    assert CodingSnapshot(date(2026, 6, 15), releases).mue("0001U") is None
    assert CodingSnapshot(date(2026, 7, 15), releases).mue("0001U").value == 1


def test_hcpcs_modifier_records_are_modifiers_not_procedures():
    snapshot = CodingSnapshot(date(2026, 5, 4), {HCPCS: base_releases()[HCPCS]})
    assert snapshot.procedure_sources("Q0") == []
    assert snapshot.procedure_elsewhere("Q0") is None
    assert snapshot.modifier("Q0").code == "Q0"
    assert snapshot.procedure("G0276").system == "HCPCS"


def test_coding_lists_the_releases_in_force():
    kinds = [entry["kind"] for entry in CodingSnapshot(date(2026, 7, 15), full_releases()).coding()]
    assert kinds == [
        "icd10cm",
        "hcpcs",
        "procedure-summaries",
        "modifiers",
        "pos",
        "pfs-rvu",
        "ncci-ptp-practitioner",
        "mue-practitioner",
    ]
