"""Small, real-shaped coding for the coder's-review tests (issue 13): rows typed in from the CMS files, so these
tests read nothing beside the project.

- PFS 2025 October (PPRRVU2025_Oct): 0275T, G0276, 77003 (+26, TC), 93010, 99152, 99213, 20552, 20610.
- HCPCS 2020 (HCPC2020_ANWEB): J1040 (added 1982-01-01, no termination), C8907 (terminated 2018-12-31, XREF 77047),
  G0276 (added 2015-01-01) and the modifiers used here.
- NCCI practitioner PTP v32.2 (ccipra-v322r0-f1): 0001A/99213 (2022-01-01 to 2023-12-31, indicator 1) and
  0001U/0030U (from 2018-07-01, indicator 1), as in the CMS file; 20610/20552 (indicator 1) is real-shaped.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from billing.checking.claim import parse_claim
from billing.checking.engine import check_claim
from billing.checking.findings import CheckResult
from codes.formats.rows import (
    HcpcsRow,
    IcdRow,
    ModifierRow,
    PlaceOfServiceRow,
    ProcedureSummaryRow,
    PtpRow,
    RvuRow,
)
from codes.snapshot import (
    HCPCS,
    ICD10CM,
    MODIFIERS,
    PFS_RVU,
    POS,
    PROCEDURE_SUMMARIES,
    PTP_PRACTITIONER,
    CodingSnapshot,
    MemoryRelease,
    ReleaseRef,
)
from practice.policy import COMMERCIAL, MEDICARE_FFS, PayerInfo


def ref(kind: str, label: str, start: date, end: date | None, id: int) -> ReleaseRef:  # noqa: A002
    return ReleaseRef(id=id, kind=kind, label=label, effective_from=start, effective_to=end)


def _d(value: str) -> Decimal | None:
    return Decimal(value) if value else None


def rvu(code, modifier, status, work, pe_nf, pe_f, mp, pctc, glob, bilat="0", pe_nf_na=False, pe_f_na=False):
    """A PPRRVU row: the columns the checker reads, as the CMS file gives them."""
    return RvuRow(
        code=code,
        modifier=modifier,
        description="",
        status=status,
        work_rvu=_d(work),
        pe_nonfacility_rvu=_d(pe_nf),
        pe_nonfacility_na=pe_nf_na,
        pe_facility_rvu=_d(pe_f),
        pe_facility_na=pe_f_na,
        mp_rvu=_d(mp),
        total_nonfacility=None,
        total_facility=None,
        pctc_indicator=pctc,
        global_days=glob,
        mult_proc="0",
        bilat_surg=bilat,
        asst_surg="0",
        co_surg="0",
        team_surg="0",
        conversion_factor=Decimal("32.3465"),
    )


# PPRRVU2025_Oct.csv (status, work, PE non-facility, PE facility, MP, PC/TC, global)
PFS_2025_ROWS = [
    rvu("0275T", "", "R", "0.00", "0.00", "0.00", "0.00", "0", "YYY"),
    rvu("G0276", "", "R", "7.17", "3.03", "3.03", "0.74", "0", "000", bilat="2", pe_nf_na=True),
    rvu("77003", "", "A", "0.60", "2.44", "2.44", "0.04", "1", "ZZZ", pe_f_na=True),
    rvu("77003", "26", "A", "0.60", "0.21", "0.21", "0.03", "1", "ZZZ"),
    rvu("77003", "TC", "A", "0.00", "2.23", "2.23", "0.01", "1", "ZZZ", pe_f_na=True),
    rvu("93010", "", "A", "0.17", "0.06", "0.06", "0.01", "2", "XXX"),
    rvu("99152", "", "A", "0.25", "1.22", "0.08", "0.03", "9", "XXX", bilat="9"),
    rvu("99213", "", "A", "1.30", "1.35", "0.57", "0.10", "0", "XXX"),
    rvu("20552", "", "A", "0.66", "0.84", "0.36", "0.07", "0", "000"),
    rvu("20610", "", "A", "0.79", "1.04", "0.44", "0.13", "0", "000", bilat="1"),
]
PFS_2025_OCT = ref(PFS_RVU, "PFS RVU25D (PPRRVU2025_Oct)", date(2025, 10, 1), date(2025, 12, 31), 50)
PFS_2026_JAN = ref(PFS_RVU, "PFS RVU26A (PPRRVU2026_Jan)", date(2026, 1, 1), date(2026, 3, 31), 51)


def hcpcs_modifier(code: str, text: str, added: date) -> HcpcsRow:
    return HcpcsRow(code, True, text, text[:28], coverage="C", added=added)


HCPCS_2020_ROWS = [
    HcpcsRow(
        "J1040",
        False,
        "Injection, methylprednisolone acetate, 80 mg",
        "Methylprednisolone 80 mg inj",
        coverage="D",
        added=date(1982, 1, 1),
    ),
    HcpcsRow(
        "C8907",
        False,
        "Magnetic resonance imaging without contrast, breast; bilateral",
        "MRI w/o cont, breast; bi",
        xrefs=("77047",),
        added=date(2001, 10, 1),
        terminated=date(2018, 12, 31),
    ),
    HcpcsRow(
        "G0276",
        False,
        "Blinded procedure for lumbar stenosis, percutaneous image-guided lumbar decompression (pild) or "
        "placebo-control, performed in an approved coverage with evidence development (ced) clinical trial",
        "Pild/placebo control clin tr",
        coverage="D",
        added=date(2015, 1, 1),
    ),
    hcpcs_modifier("GA", "Waiver of liability statement issued as required by payer policy", date(1995, 1, 1)),
    hcpcs_modifier("GZ", "Item or service expected to be denied as not reasonable and necessary", date(2002, 1, 1)),
    hcpcs_modifier("TC", "Technical component", date(1984, 1, 1)),
]
HCPCS_2020 = ref(HCPCS, "HCPCS 2020 (HCPC2020_ANWEB)", date(2020, 1, 1), date(2020, 12, 31), 20)

# The project's own modifier list (fixtures/codesets/modifiers.csv shape): NCCI flags as the fixture has them.
MODIFIER_ROWS = [
    ModifierRow("Q0", "Investigational clinical service in an approved clinical research study", "HCPCS"),
    ModifierRow("GA", "Waiver of liability statement issued as required by payer policy", "HCPCS"),
    ModifierRow("GZ", "Item or service expected to be denied as not reasonable and necessary", "HCPCS"),
    ModifierRow("LT", "Left side", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("RT", "Right side", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("F1", "Left hand, second digit", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("F2", "Left hand, third digit", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("TC", "Technical component", "HCPCS"),
    ModifierRow("XS", "Separate structure", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("XU", "Unusual non-overlapping service", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("25", "Significant, separately identifiable E/M service", "CPT", ncci_associated=True),
    ModifierRow("26", "Professional component", "CPT"),
    ModifierRow("59", "Distinct procedural service", "CPT", ncci_associated=True),
]
MODIFIERS_REF = ref(MODIFIERS, "Project modifier list", date(2000, 1, 1), None, 30)

SUMMARIES = [
    ProcedureSummaryRow(
        "0275T", "Percutaneous lumbar decompression, image guided (our summary)", "CPT", date(2011, 7, 1)
    ),
]
SUMMARIES_REF = ref(PROCEDURE_SUMMARIES, "Project procedure summaries", date(2000, 1, 1), None, 10)

POS_ROWS = [
    PlaceOfServiceRow("11", "Office", False),
    PlaceOfServiceRow("19", "Off Campus-Outpatient Hospital", True),
    PlaceOfServiceRow("22", "On Campus-Outpatient Hospital", True),
    PlaceOfServiceRow("24", "Ambulatory Surgical Center", True),
]
POS_REF = ref(POS, "CMS place of service codes", date(2003, 1, 1), None, 40)

ICD_ROWS = [
    IcdRow("M4806", False, "Spinal stenosis, lumbar region"),
    IcdRow("M48061", True, "Spinal stenosis, lumbar region without neurogenic claudication"),
    IcdRow("M48062", True, "Spinal stenosis, lumbar region with neurogenic claudication"),
    IcdRow("M5416", True, "Radiculopathy, lumbar region"),
    IcdRow("Z006", True, "Encounter for examination for normal comparison and control in clinical research program"),
]
ICD_FY2023 = ref(ICD10CM, "ICD-10-CM FY2023", date(2022, 10, 1), date(2023, 9, 30), 1)
ICD_FY2026 = ref(ICD10CM, "ICD-10-CM FY2026", date(2025, 10, 1), date(2026, 9, 30), 2)

PTP_ROWS = [
    PtpRow(
        "0001A",
        "99213",
        False,
        date(2022, 1, 1),
        date(2023, 12, 31),
        "1",
        "CPT Manual or CMS manual coding instruction",
    ),
    PtpRow("0001U", "0030U", False, date(2018, 7, 1), None, "1", "Misuse of Column Two code with Column One code"),
    PtpRow("20610", "20552", False, date(2020, 1, 1), None, "1", "Standards of medical/surgical practice"),
]
PTP_V322 = ref(PTP_PRACTITIONER, "NCCI practitioner PTP edits v32.2 (2026 Q3)", date(2026, 7, 1), date(2026, 9, 30), 60)


def releases(*, pfs_2026: bool = False, icd: bool = True) -> dict[str, tuple[MemoryRelease, ...]]:
    """PFS 2025 October and HCPCS 2020 only (no 2026 source of either), the open-ended project lists, ICD-10-CM
    FY2023 and FY2026 and the PTP v32.2 rows (cumulative). ``pfs_2026``: add a January 2026 PFS without 99152."""
    pfs = [MemoryRelease(PFS_2025_OCT, {(r.code, r.modifier): r for r in PFS_2025_ROWS})]
    if pfs_2026:
        pfs.append(MemoryRelease(PFS_2026_JAN, {(r.code, r.modifier): r for r in PFS_2025_ROWS if r.code != "99152"}))
    out = {
        PROCEDURE_SUMMARIES: (MemoryRelease(SUMMARIES_REF, {r.code: r for r in SUMMARIES}),),
        HCPCS: (MemoryRelease(HCPCS_2020, {r.code: r for r in HCPCS_2020_ROWS}),),
        PFS_RVU: tuple(pfs),
        MODIFIERS: (MemoryRelease(MODIFIERS_REF, {r.code: r for r in MODIFIER_ROWS}),),
        POS: (MemoryRelease(POS_REF, {r.code: r for r in POS_ROWS}),),
        PTP_PRACTITIONER: (MemoryRelease(PTP_V322, ptp=PTP_ROWS),),
    }
    if icd:
        out[ICD10CM] = tuple(MemoryRelease(r, {row.code: row for row in ICD_ROWS}) for r in (ICD_FY2023, ICD_FY2026))
    return out


PAYERS = {
    "medicare": PayerInfo("medicare", "Medicare Part B", MEDICARE_FFS, 365),
    "aetna": PayerInfo("aetna", "Aetna", COMMERCIAL, 120),
}


def claim(*lines: dict, **fields) -> dict:
    """A commercial claim (no payer rules) in an office, 2026-03-02, with the given lines."""
    data = {
        "payer": "aetna",
        "claim_type": "professional",
        "place_of_service": "11",
        "date_of_service": "2026-03-02",
        "submitted_on": "2026-03-09",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062"],
        "lines": list(lines),
    }
    data.update(fields)
    return data


def line(code: str, *modifiers: str, pointers=(1,), **more) -> dict:
    return {"code": code, "modifiers": list(modifiers), "units": 1, "diagnosis_pointers": list(pointers), **more}


def run(data: dict, coding: dict | None = None) -> CheckResult:
    parsed = parse_claim(data)
    coding = coding if coding is not None else releases()
    return check_claim(
        parsed, lambda on: CodingSnapshot(on, coding), PAYERS.get(parsed.payer), lambda on: [], date(2026, 10, 1)
    )


def of_rule(result: CheckResult, rule: str) -> list:
    return [f for f in result.findings if f.rule == rule]
