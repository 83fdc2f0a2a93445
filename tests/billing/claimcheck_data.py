"""In-memory coding and payer rules for the claim-checker tests: small, but real rows.

Rows come from the project's CMS-layout samples in tests/data/cms (real codes and figures, read with tiny
helpers: PPRRVU 2025 October and the 2026 July excerpt, the NCCI PTP v32.2 excerpt, the 2026 Q3 MUE excerpt, the
FY2026 ICD-10-CM order-file sample) or are typed in from CMS's files (HCPCS 2020 records, ICD-10-CM codes checked
against the April 2026 tabular XML). Payer rules follow the project's domain notes (docs/ and fixtures/practice).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from billing.checking.claim import Claim, parse_claim
from billing.checking.engine import check_claim
from billing.checking.findings import CheckResult
from codes.formats.rows import (
    HcpcsRow,
    IcdRow,
    ModifierRow,
    MueRow,
    PlaceOfServiceRow,
    ProcedureSummaryRow,
    PtpRow,
    RvuRow,
)
from codes.snapshot import (
    HCPCS,
    ICD10CM,
    MODIFIERS,
    MUE_PRACTITIONER,
    PFS_RVU,
    POS,
    PROCEDURE_SUMMARIES,
    PTP_PRACTITIONER,
    CodingSnapshot,
    MemoryRelease,
    ReleaseRef,
)
from practice.policy import (
    COMMERCIAL,
    COVERED_CED,
    INVESTIGATIONAL,
    MEDICARE_ADVANTAGE,
    MEDICARE_FFS,
    POSITION_PRIMARY,
    POSITION_SECONDARY,
    DiagnosisRequirement,
    PayerInfo,
    PayerRuleVersion,
)
from tests.testdata import CMS, EXAMPLES

TODAY = date(2026, 10, 1)


def ref(kind: str, label: str, start: date, end: date | None, id: int) -> ReleaseRef:  # noqa: A002
    return ReleaseRef(id=id, kind=kind, label=label, effective_from=start, effective_to=end)


# ---- ICD-10-CM ---------------------------------------------------------------------------------------


def order_file_rows(path: Path) -> list[IcdRow]:
    """Rows of an ICD-10-CM order file: code in columns 7-13, billable flag in 15, long description from 78."""
    rows = []
    for text in path.read_text(encoding="latin-1").splitlines():
        if len(text) > 16 and text[14] in "01":
            rows.append(IcdRow(text[6:13].strip(), text[14] == "1", text[77:].strip(), text[16:76].strip()))
    return rows


# Checked against the CMS April 2026 tabular XML shipped in simple-icd-10-cm.
MILD_ICD = [
    IcdRow("M48", False, "Other spondylopathies"),
    IcdRow("M480", False, "Spinal stenosis"),
    IcdRow("M4806", False, "Spinal stenosis, lumbar region"),
    IcdRow("M48061", True, "Spinal stenosis, lumbar region without neurogenic claudication"),
    IcdRow("M48062", True, "Spinal stenosis, lumbar region with neurogenic claudication"),
    IcdRow("Z00", False, "Encounter for general examination without complaint, suspected or reported diagnosis"),
    IcdRow("Z006", True, "Encounter for examination for normal comparison and control in clinical research program"),
]
# FY2021: M54.5 "Low back pain" was billable; FY2022 made it a header over M54.50, M54.51 and M54.59.
FY2021_ICD = [
    *MILD_ICD,
    IcdRow("M54", False, "Dorsalgia"),
    IcdRow("M541", False, "Radiculopathy"),
    IcdRow("M5416", True, "Radiculopathy, lumbar region"),
    IcdRow("M545", True, "Low back pain"),
]


@cache
def icd_2026_rows() -> tuple[IcdRow, ...]:
    return (*MILD_ICD, *order_file_rows(CMS / "icd10cm_order_2026_sample.txt"))


ICD_FY2021 = ref(ICD10CM, "ICD-10-CM FY2021", date(2020, 10, 1), date(2021, 9, 30), 1)
ICD_FY2026 = ref(ICD10CM, "ICD-10-CM FY2026", date(2025, 10, 1), date(2026, 3, 31), 2)
ICD_APRIL_2026 = ref(ICD10CM, "ICD-10-CM April 2026 update", date(2026, 4, 1), date(2026, 9, 30), 3)


def icd_release(release_ref: ReleaseRef, rows: Iterable[IcdRow]) -> MemoryRelease:
    return MemoryRelease(release_ref, {row.code: row for row in rows})


# ---- procedure codes, modifiers, places of service --------------------------------------------------

SUMMARIES = [
    ProcedureSummaryRow(
        "0275T",
        "Percutaneous laminotomy/laminectomy, interlaminar approach, indirect image guidance, lumbar, any number "
        "of levels, one or both sides",
        "CPT",
        date(2011, 7, 1),
    ),
    ProcedureSummaryRow("0274T", "The same, cervical or thoracic", "CPT", date(2011, 7, 1)),
    ProcedureSummaryRow("77003", "Fluoroscopic guidance for spine injection", "CPT"),
    ProcedureSummaryRow("72275", "Epidurography", "CPT", None, date(2024, 12, 31)),
    ProcedureSummaryRow("64483", "Transforaminal epidural injection, lumbar or sacral, one level", "CPT"),
    ProcedureSummaryRow("62321", "Interlaminar epidural injection, cervical or thoracic, with imaging", "CPT"),
    ProcedureSummaryRow("63047", "Lumbar laminectomy with facetectomy and foraminotomy, one level", "CPT"),
    ProcedureSummaryRow("93010", "Electrocardiogram, interpretation and report only", "CPT"),
    ProcedureSummaryRow("77047", "MRI of both breasts without contrast", "CPT", date(2019, 1, 1)),
    ProcedureSummaryRow("22841", "Internal spinal fixation (add-on)", "CPT"),
    ProcedureSummaryRow("0469T", "Retinal polarization scan", "CPT"),
    ProcedureSummaryRow("0001U", "Red blood cell antigen typing by DNA analysis (PLA)", "CPT"),
    ProcedureSummaryRow("0029U", "Drug metabolism gene analysis (PLA)", "CPT"),
    ProcedureSummaryRow("0030U", "Warfarin response gene analysis (PLA)", "CPT"),
]
SUMMARIES_REF = ref(PROCEDURE_SUMMARIES, "Project procedure summaries 2026", date(2000, 1, 1), None, 10)


def hcpcs_modifier(code: str, text: str, added: date, terminated: date | None = None) -> HcpcsRow:
    return HcpcsRow(code, True, text, text[:28], coverage="C", added=added, terminated=terminated)


# Typed in from HCPC2020_ANWEB_w_disclaimer.txt (and AC from the October 2026 CSV excerpt).
HCPCS_ROWS = [
    HcpcsRow(
        "G0276",
        False,
        "Blinded procedure for lumbar stenosis, percutaneous image-guided lumbar decompression (pild) or "
        "placebo-control, performed in an approved coverage with evidence development (ced) clinical trial",
        "Pild/placebo control clin tr",
        pricing_indicators=("13",),
        coverage="D",
        asc_group="YY",
        added=date(2015, 1, 1),
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
        "Q0",
        True,
        "Investigational clinical service provided in a clinical research study that is in an approved "
        "clinical research study",
        "Investigational clinical ser",
        coverage="D",
        added=date(2008, 1, 1),
    ),
    hcpcs_modifier("Q1", "Routine clinical service provided in a clinical research study", date(2008, 1, 1)),
    hcpcs_modifier("GA", "Waiver of liability statement issued as required by payer policy", date(1995, 1, 1)),
    hcpcs_modifier("GY", "Item or service statutorily excluded", date(1995, 1, 1)),
    hcpcs_modifier("GZ", "Item or service expected to be denied as not reasonable and necessary", date(2002, 1, 1)),
    hcpcs_modifier(
        "GD",
        "Units of service exceeds medically unlikely edit value and represents reasonable and necessary services",
        date(2008, 1, 1),
        date(2019, 12, 31),
    ),
    hcpcs_modifier(
        "AC",
        "Initial onboarding support payment for access beneficiary enrollment, device/app setup, and care "
        "coordination activities; first month only; once per beneficiary per track",
        date(2026, 7, 1),
    ),
    hcpcs_modifier("LT", "Left side", date(1984, 1, 1)),
    hcpcs_modifier("RT", "Right side", date(1984, 1, 1)),
    hcpcs_modifier("TC", "Technical component", date(1984, 1, 1)),
    hcpcs_modifier("XE", "Separate encounter", date(2015, 1, 1)),
    hcpcs_modifier("XP", "Separate practitioner", date(2015, 1, 1)),
    hcpcs_modifier("XS", "Separate structure", date(2015, 1, 1)),
    hcpcs_modifier("XU", "Unusual non-overlapping service", date(2015, 1, 1)),
]
HCPCS_2020 = ref(HCPCS, "HCPCS 2020 (HCPC2020_ANWEB)", date(2020, 1, 1), date(2020, 12, 31), 20)
HCPCS_2026 = ref(HCPCS, "HCPCS 2026 July", date(2026, 1, 1), date(2026, 12, 31), 21)

# The project's own modifier list: CPT modifiers in our words and the HCPCS ones billing uses, with the
# NCCI flags (GD and AC are left to the HCPCS releases, which carry their dates).
MODIFIER_ROWS = [
    ModifierRow("Q0", "Investigational clinical service in an approved clinical research study", "HCPCS"),
    ModifierRow("Q1", "Routine clinical service in an approved clinical research study", "HCPCS"),
    ModifierRow("GA", "Waiver of liability statement issued as required by payer policy", "HCPCS"),
    ModifierRow("GY", "Item or service statutorily excluded", "HCPCS"),
    ModifierRow("GZ", "Item or service expected to be denied as not reasonable and necessary", "HCPCS"),
    ModifierRow("LT", "Left side", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("RT", "Right side", "HCPCS", anatomic=True, ncci_associated=True),
    ModifierRow("TC", "Technical component", "HCPCS"),
    ModifierRow("XE", "Separate encounter", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("XP", "Separate practitioner", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("XS", "Separate structure", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("XU", "Unusual non-overlapping service", "HCPCS", date(2015, 1, 1), ncci_associated=True),
    ModifierRow("25", "Significant, separately identifiable E/M service", "CPT", ncci_associated=True),
    ModifierRow("26", "Professional component", "CPT"),
    ModifierRow("50", "Bilateral procedure", "CPT"),
    ModifierRow("51", "Multiple procedures", "CPT"),
    ModifierRow("59", "Distinct procedural service", "CPT", ncci_associated=True),
    ModifierRow("76", "Repeat procedure by the same physician", "CPT"),
    ModifierRow("91", "Repeat clinical laboratory test", "CPT", ncci_associated=True),
]
MODIFIERS_REF = ref(MODIFIERS, "Project modifier list 2026", date(2000, 1, 1), None, 30)

POS_ROWS = [
    PlaceOfServiceRow("11", "Office", False),
    PlaceOfServiceRow("19", "Off Campus-Outpatient Hospital", True),
    PlaceOfServiceRow("21", "Inpatient Hospital", True),
    PlaceOfServiceRow("22", "On Campus-Outpatient Hospital", True),
    PlaceOfServiceRow("23", "Emergency Room - Hospital", True),
    PlaceOfServiceRow("24", "Ambulatory Surgical Center", True),
    PlaceOfServiceRow("99", "Other Place of Service", False),
]
POS_REF = ref(POS, "CMS place of service codes", date(2003, 1, 1), None, 40)


# ---- PFS relative values -------------------------------------------------------------------------------


def _decimal(value: str) -> Decimal | None:
    value = value.strip()
    return Decimal(value) if value else None


def pprrvu_rows(path: Path, codes: Iterable[str] | None = None) -> list[RvuRow]:
    """PPRRVU CSV rows (2025: 31 columns; 2026 adds PRIC IND after TEAM SURG), by position up to TEAM SURG."""
    wanted = set(codes) if codes is not None else None
    with path.open(encoding="latin-1", newline="") as handle:
        records = list(csv.reader(handle))
    header = next(i for i, record in enumerate(records) if record and record[0] == "HCPCS")
    factor = records[header].index("FACTOR")
    rows = []
    for r in records[header + 1 :]:
        if not r or not r[0] or (wanted is not None and r[0] not in wanted):
            continue
        rows.append(
            RvuRow(
                code=r[0],
                modifier=r[1],
                description=r[2],
                status=r[3],
                work_rvu=_decimal(r[5]),
                pe_nonfacility_rvu=_decimal(r[6]),
                pe_nonfacility_na=r[7] == "NA",
                pe_facility_rvu=_decimal(r[8]),
                pe_facility_na=r[9] == "NA",
                mp_rvu=_decimal(r[10]),
                total_nonfacility=_decimal(r[11]),
                total_facility=_decimal(r[12]),
                pctc_indicator=r[13],
                global_days=r[14],
                mult_proc=r[18],
                bilat_surg=r[19],
                asst_surg=r[20],
                co_surg=r[21],
                team_surg=r[22],
                conversion_factor=_decimal(r[factor]),
            )
        )
    return rows


PFS_CODES = ("0275T", "G0276", "77003", "77047", "93010", "62321", "63047", "64483", "22841", "0469T", "0042T")
PFS_2025_OCT = ref(PFS_RVU, "PFS RVU25D (PPRRVU2025_Oct)", date(2025, 10, 1), date(2025, 12, 31), 50)
PFS_2026_JUL = ref(PFS_RVU, "PFS RVU26C (PPRRVU2026_Jul nonQPP)", date(2026, 7, 1), date(2026, 9, 30), 51)


def pfs_release(release_ref: ReleaseRef, rows: Iterable[RvuRow]) -> MemoryRelease:
    return MemoryRelease(release_ref, {(row.code, row.modifier): row for row in rows})


# ---- NCCI PTP and MUE ----------------------------------------------------------------------------------

_CODE = re.compile(r"[0-9A-Z]{5}")


def _yyyymmdd(value: str) -> date | None:
    value = value.strip()
    return None if value in ("", "*") else date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def ptp_rows(path: Path) -> list[PtpRow]:
    """Data rows of an NCCI PTP text file (tab-delimited, after its wrapped header)."""
    rows = []
    for text in path.read_text(encoding="latin-1").splitlines():
        fields = text.split("\t")
        if len(fields) >= 7 and _CODE.fullmatch(fields[0]) and _CODE.fullmatch(fields[1]):
            rows.append(
                PtpRow(
                    fields[0],
                    fields[1],
                    fields[2].strip() == "*",
                    _yyyymmdd(fields[3]),
                    _yyyymmdd(fields[4]),
                    fields[5].strip(),
                    fields[6].strip(),
                )
            )
    return rows


def mue_rows(path: Path) -> list[MueRow]:
    """Data rows of an MUE CSV: the MAI is the first character of its label."""
    with path.open(encoding="latin-1", newline="") as handle:
        return [
            MueRow(r[0], int(r[1]), int(r[2][0]), r[3])
            for r in csv.reader(handle)
            if len(r) >= 4 and _CODE.fullmatch(r[0])
        ]


PTP_V322 = ref(PTP_PRACTITIONER, "NCCI practitioner PTP edits v32.2 (2026 Q3)", date(2026, 7, 1), date(2026, 9, 30), 60)
MUE_2026_Q3 = ref(
    MUE_PRACTITIONER, "MUEs practitioner 2026 Q3 (Eff 07-01-2026)", date(2026, 7, 1), date(2026, 9, 30), 70
)


@cache
def ptp_release() -> MemoryRelease:
    return MemoryRelease(PTP_V322, ptp=ptp_rows(CMS / "ccipra-v322r0-f1_excerpt.txt"))


@cache
def mue_release() -> MemoryRelease:
    rows = mue_rows(CMS / "MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv")
    return MemoryRelease(MUE_2026_Q3, {row.code: row for row in rows})


# ---- releases --------------------------------------------------------------------------------------------


@cache
def base_releases() -> dict[str, tuple[MemoryRelease, ...]]:
    """Everything but the NCCI PTP and MUE tables (the examples say when they need those)."""
    return {
        ICD10CM: (
            icd_release(ICD_FY2021, FY2021_ICD),
            icd_release(ICD_FY2026, icd_2026_rows()),
            icd_release(ICD_APRIL_2026, icd_2026_rows()),
        ),
        PROCEDURE_SUMMARIES: (MemoryRelease(SUMMARIES_REF, {row.code: row for row in SUMMARIES}),),
        HCPCS: (
            MemoryRelease(HCPCS_2020, {row.code: row for row in HCPCS_ROWS if row.code != "AC"}),
            MemoryRelease(HCPCS_2026, {row.code: row for row in HCPCS_ROWS if row.code != "C8907"}),
        ),
        MODIFIERS: (MemoryRelease(MODIFIERS_REF, {row.code: row for row in MODIFIER_ROWS}),),
        POS: (MemoryRelease(POS_REF, {row.code: row for row in POS_ROWS}),),
        PFS_RVU: (
            pfs_release(PFS_2025_OCT, pprrvu_rows(CMS / "PPRRVU2025_Oct.csv", PFS_CODES)),
            pfs_release(PFS_2026_JUL, pprrvu_rows(CMS / "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv")),
        ),
    }


@cache
def full_releases() -> dict[str, tuple[MemoryRelease, ...]]:
    """The base releases plus the real NCCI PTP v32.2 and 2026 Q3 MUE excerpts."""
    return {**base_releases(), PTP_PRACTITIONER: (ptp_release(),), MUE_PRACTITIONER: (mue_release(),)}


def snapshots(releases: dict[str, Sequence[MemoryRelease]]) -> Callable[[date], CodingSnapshot]:
    """A ``snapshot_for``: a fresh snapshot per date, as the database side builds them."""
    return lambda on: CodingSnapshot(on, releases)


# ---- payers and their rules (mild.md) ---------------------------------------------------------------

PAYERS = {
    "medicare": PayerInfo("medicare", "Medicare Part B", MEDICARE_FFS, 365),
    "medicare-advantage": PayerInfo("medicare-advantage", "Medicare Advantage", MEDICARE_ADVANTAGE, 365),
    "commercial-bcbs": PayerInfo("commercial-bcbs", "Blue Cross Blue Shield", COMMERCIAL, 180),
}
APPROVED_STUDIES = ("NCT03072927", "NCT02093520", "NCT02079038")
MEDICARE_ADVICE = (
    "Outside an approved study Medicare does not pay for mild: have the patient sign an ABN before the service "
    "and bill with modifier GA."
)


def ncd_rules(payer_key: str, first_id: int) -> list[PayerRuleVersion]:
    """NCD 150.13 as three rule versions (v1, v2) and two companion rules for mild's diagnosis and site."""
    common = {
        "payer_key": payer_key,
        "coverage": COVERED_CED,
        "required_modifiers": ("Q0",),
        "required_diagnoses": (DiagnosisRequirement(("Z006",), POSITION_SECONDARY),),
        "trial_number_required": True,
        "not_covered_advice": MEDICARE_ADVICE,
        "reference": "Medicare NCD 150.13",
    }
    return [
        PayerRuleVersion(
            id=first_id,
            name="NCD 150.13 PILD (CED)",
            codes=("0275T", "G0276"),
            effective_from=date(2014, 1, 9),
            effective_to=date(2016, 12, 6),
            version=1,
            approved_trials=("NCT02093520", "NCT02079038"),
            **common,
        ),
        PayerRuleVersion(
            id=first_id + 1,
            name="NCD 150.13 PILD (CED)",
            codes=("0275T", "G0276"),
            effective_from=date(2016, 12, 7),
            effective_to=None,
            version=2,
            approved_trials=APPROVED_STUDIES,
            **common,
        ),
        PayerRuleVersion(
            id=first_id + 2,
            name="mild primary diagnosis",
            payer_key=payer_key,
            codes=("0275T",),
            effective_from=date(2016, 12, 7),
            effective_to=None,
            version=1,
            coverage=COVERED_CED,
            required_diagnoses=(DiagnosisRequirement(("M48062",), POSITION_PRIMARY),),
            reference="Medicare NCD 150.13 indication (lumbar stenosis with neurogenic claudication)",
            certainty="likely",
        ),
        PayerRuleVersion(
            id=first_id + 3,
            name="mild site of service",
            payer_key=payer_key,
            codes=("0275T", "G0276"),
            effective_from=date(2016, 12, 7),
            effective_to=None,
            version=1,
            coverage=COVERED_CED,
            allowed_places_of_service=("22", "24"),
            place_of_service_severity="warning",
            reference="Vertos billing guide (site of service)",
            certainty="unverified",
        ),
    ]


BCBS_RULE = PayerRuleVersion(
    id=200,
    name="BCBSA 7.01.126 PILD",
    payer_key="commercial-bcbs",
    codes=("0275T",),
    effective_from=date(2015, 1, 1),
    effective_to=None,
    version=1,
    coverage=INVESTIGATIONAL,
    not_covered_advice="The plan considers mild investigational: before the service, get the member's signed "
    "waiver to bill the member, or ask the plan for an exception.",
    reference="BCBSA reference policy 7.01.126",
)
PAYER_RULES = [*ncd_rules("medicare", 100), *ncd_rules("medicare-advantage", 110), BCBS_RULE]


def rules_for(payer_key: str, rules: Sequence[PayerRuleVersion] = PAYER_RULES) -> Callable[[date], list]:
    """A ``rules_for``: the payer's rule versions in force on a date."""
    return lambda on: [rule for rule in rules if rule.payer_key == payer_key and rule.covers(on)]


# ---- claims ------------------------------------------------------------------------------------------------


def mild_claim(**fields) -> dict:
    """A clean Medicare CED claim for mild in an ASC (example 01); fields override the claim's keys."""
    data = {
        "payer": "medicare",
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "2026-09-30",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062", "Z00.6"],
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": None,
        "condition_codes": [],
        "lines": [
            {"code": "0275T", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2], "charge": "9500.00"}
        ],
    }
    data.update(fields)
    return data


def run(
    data: dict,
    releases: dict | None = None,
    rules: Sequence[PayerRuleVersion] = PAYER_RULES,
    today: date = TODAY,
) -> CheckResult:
    """parse_claim + check_claim with the in-memory coding (full by default) and the payer rules above."""
    claim: Claim = parse_claim(data, today=today)
    return check_claim(
        claim,
        snapshots(releases if releases is not None else full_releases()),
        PAYERS.get(claim.payer),
        rules_for(claim.payer, rules),
        today,
    )


def rule_ids(result: CheckResult) -> list[str]:
    return [finding.rule for finding in result.findings]


def of_rule(result: CheckResult, rule: str) -> list:
    return [finding for finding in result.findings if finding.rule == rule]


def load_examples() -> list[tuple[str, dict]]:
    return [(path.name, json.loads(path.read_text())) for path in sorted(EXAMPLES.glob("*.json"))]
