"""A full mild® billing guide for 2025 built from the real CMS rows, for the workbook tests and the benchmark.

Physician amounts come from PPRRVU2025_Oct and GPCI2025 through ``billing.guide.fees``. No real OPPS
Addendum B or ASC Addendum AA row for these codes is at hand (the project has no real file of either): the OPPS/ASC rows
below are marked as test data, and every other code shows "not loaded". The 2024 "before" amounts on
the Changes sheet are test data too.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from billing.guide.data import (
    CHANGE_AMOUNT,
    CHANGE_CODE,
    CHANGE_RULE,
    TEXT_CMS,
    TEXT_SUMMARY,
    ChangeRow,
    CoverageRow,
    DiagnosisCode,
    GuideData,
    Locality,
    ModifierCode,
    PaymentRow,
    PlaceOfService,
    ProcedureCode,
    SourceRow,
    claim_fields_from,
)
from billing.guide.fees import asc_rate, conversion_factor, opps_rate, uses_facility_rate
from codes.formats.rows import AscRow, OppsRow
from codes.snapshot import GPCI, PFS_RVU, ReleaseRef
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
from tests.billing.cms_csv import read_gpci, read_pprrvu

# mild®'s claim items, as the project ships them in its procedure profile fixture
MILD_CLAIM_FIELDS = claim_fields_from(
    next(
        p["claim_fields"]
        for p in json.loads(
            (Path(__file__).resolve().parents[2] / "fixtures" / "practice" / "procedure_profiles.json").read_text()
        )["profiles"]
        if p["key"] == "mild"
    )
)

MILD_CODES = ("0275T", "G0276", "77003", "64483", "62321", "63047", "22867")
SUMMARIES = {
    "0275T": "Percutaneous laminotomy/laminectomy, interlaminar approach, indirect image guidance, lumbar, "
    "any number of levels, one or both sides (the mild® procedure)",
    "77003": "Fluoroscopic guidance for a spine injection (part of 0275T's descriptor: do not bill with it)",
    "64483": "Transforaminal epidural injection, lumbar or sacral, one level, with imaging guidance (comparator)",
    "62321": "Interlaminar epidural injection, cervical or thoracic, with imaging guidance (comparator)",
    "63047": "Open laminectomy with facetectomy and foraminotomy, lumbar, one level (comparator)",
    "22867": "Interlaminar stabilisation device with decompression, lumbar, one level (comparator)",
    "72275": "Epidurography (absent from the 2025 PFS file: treat as deleted for 2025)",
}
G0276_TEXT = (
    "Blinded procedure for lumbar stenosis, percutaneous image-guided lumbar decompression (PILD) or "
    "placebo-control, performed in an approved coverage with evidence development (CED) clinical trial"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def payers_and_rules() -> list[tuple[PayerInfo, PayerRuleVersion]]:
    medicare = PayerInfo("medicare", "Medicare Part B", MEDICARE_FFS, 365)
    uhc_ma = PayerInfo("uhc-ma", "UnitedHealthcare Medicare Advantage", MEDICARE_ADVANTAGE, None)
    bcbs = PayerInfo("bcbs-nc", "Blue Cross NC", COMMERCIAL, 180)
    anthem = PayerInfo("anthem", "Anthem (Elevance)", COMMERCIAL, 90)
    healthpartners = PayerInfo("healthpartners", "HealthPartners", COMMERCIAL, None)
    mild = ("0275T",)
    ced = {
        "coverage": COVERED_CED,
        "required_modifiers": ("Q0",),
        "required_diagnoses": (
            DiagnosisRequirement(("M48062",), POSITION_PRIMARY),
            DiagnosisRequirement(("Z006",), POSITION_SECONDARY),
        ),
        "trial_number_required": True,
        "approved_trials": ("NCT03072927", "NCT02093520"),
        "allowed_places_of_service": ("22", "24"),
        "place_of_service_severity": "warning",
    }
    return [
        (
            medicare,
            PayerRuleVersion(
                1,
                "Medicare NCD 150.13 (PILD)",
                "medicare",
                mild,
                date(2016, 12, 7),
                None,
                2,
                reference="NCD 150.13, Pub 100-03",
                reference_url="https://www.cms.gov/medicare-coverage-database/view/ncd.aspx?ncdid=358",
                notes="Covered only for beneficiaries enrolled in a CMS-approved study.",
                **ced,
            ),
        ),
        (
            uhc_ma,
            PayerRuleVersion(
                2,
                "UHC MA follows NCD 150.13",
                "uhc-ma",
                mild,
                date(2024, 1, 1),
                None,
                1,
                reference="UnitedHealthcare MA coverage summary MCS089.02",
                certainty="likely",
                **ced,
            ),
        ),
        (
            bcbs,
            PayerRuleVersion(
                3,
                "BCBSA 7.01.126",
                "bcbs-nc",
                mild,
                date(2023, 1, 1),
                None,
                1,
                coverage=INVESTIGATIONAL,
                reference="BCBSA reference policy 7.01.126",
            ),
        ),
        (
            anthem,
            PayerRuleVersion(
                4,
                "Anthem SURG.00071",
                "anthem",
                mild,
                date(2024, 1, 1),
                None,
                1,
                coverage=INVESTIGATIONAL,
                reference="Anthem/Elevance SURG.00071",
                notes="=Investigational and not medically necessary",  # a leading '=' must stay text
            ),
        ),
        (
            healthpartners,
            PayerRuleVersion(
                5,
                "HealthPartners investigational",
                "healthpartners",
                mild,
                date(2024, 1, 1),
                None,
                1,
                coverage=INVESTIGATIONAL,
                not_covered_advice="GA modifier and a signed member waiver before billing the member",
                certainty="likely",
            ),
        ),
    ]


def build_mild_guide(cms_dir: Path, *, locality: tuple[str, str] | None = ("10112", "00")) -> GuideData:
    """The 2025 mild® guide: national and (by default) Alabama amounts from the real files."""
    rvu_path, gpci_path = cms_dir / "PPRRVU2025_Oct.csv", cms_dir / "GPCI2025.csv"
    rvus = read_pprrvu(rvu_path)
    gpci_row = read_gpci(gpci_path)[locality] if locality else None
    cf = conversion_factor(date(2025, 6, 1), file_cf=rvus[("64483", "")].conversion_factor)
    test_opps = {
        "0275T": OppsRow(
            "0275T", "Perq lamot/lam lumbar", "J1", "5115", Decimal("144.2970"), Decimal("12866.820"), None, None
        ),
        "77003": OppsRow("77003", "Fluoroguide for spine inject", "N", "", None, None, None, None),
    }
    test_asc = {"77003": AscRow("77003", "Fluoroguide for spine inject", False, "", "N1", None, None)}
    payments = []
    for code in MILD_CODES:
        modifiers = ("", "26", "TC") if rvus[(code, "")].pctc_indicator == "1" else ("",)
        for modifier in modifiers:
            opps = opps_rate(test_opps.get(code)) if modifier == "" else opps_rate(None)
            asc = asc_rate(test_asc.get(code)) if modifier == "" else asc_rate(None)
            note = "OPPS/ASC values are test data" if code in test_opps and modifier == "" else ""
            payments.append(
                PaymentRow.build(
                    code,
                    G0276_TEXT if code == "G0276" else SUMMARIES[code],
                    rvus[(code, modifier)],
                    cf,
                    modifier=modifier,
                    gpci=gpci_row,
                    opps=opps,
                    asc=asc,
                    notes=note,
                )
            )
    payments.append(PaymentRow.build("72275", SUMMARIES["72275"], rvus.get(("72275", "")), cf, gpci=gpci_row))
    pfs_ref = ReleaseRef(1, PFS_RVU, "RVU25D (PPRRVU2025_Oct)", date(2025, 10, 1), date(2025, 12, 31), sha256(rvu_path))
    gpci_ref = ReleaseRef(2, GPCI, "GPCI2025 (Addendum E)", date(2025, 1, 1), date(2025, 12, 31), sha256(gpci_path))
    return GuideData(
        procedure="mild®",
        year=2025,
        generated_at=datetime(2025, 1, 6, 9, 30, tzinfo=UTC),
        locality=Locality(f"{gpci_row.mac}-{gpci_row.locality}", gpci_row.name) if gpci_row else None,
        conversion_factor=cf,
        previous_year=2024,
        claim_fields=MILD_CLAIM_FIELDS,
        summary=(
            "mild® (percutaneous image-guided lumbar decompression) is billed with 0275T. Medicare covers it only "
            "under Coverage with Evidence Development (NCD 150.13) for patients in an approved study.",
            "0275T is carrier priced under the physician fee schedule: ask the MAC for its price.",
        ),
        coverage=tuple(CoverageRow.from_rule(rule, payer) for payer, rule in payers_and_rules()),
        procedures=(
            ProcedureCode("0275T", "CPT", SUMMARIES["0275T"], TEXT_SUMMARY, "CPT Category III since 2011-07-01"),
            ProcedureCode("G0276", "HCPCS", G0276_TEXT, TEXT_CMS, "CED trial setting (blinded/placebo arm)"),
            ProcedureCode("77003", "CPT", SUMMARIES["77003"], TEXT_SUMMARY),
            ProcedureCode("72275", "CPT", SUMMARIES["72275"], TEXT_SUMMARY),
        ),
        diagnoses=(
            DiagnosisCode("M48.062", "Spinal stenosis, lumbar region with neurogenic claudication", True, "primary"),
            DiagnosisCode(
                "M48.061",
                "Spinal stenosis, lumbar region without neurogenic claudication",
                True,
                "does not fit the indication",
            ),
            DiagnosisCode("M48.06", "Spinal stenosis, lumbar region", False, "header: use M48.061 or M48.062"),
            DiagnosisCode(
                "Z00.6",
                "Encounter for examination for normal comparison and control in clinical research program",
                True,
                "secondary on Medicare CED claims",
            ),
        ),
        modifiers=(
            ModifierCode("Q0", "Investigational clinical service provided in a clinical research study", "on 0275T"),
            ModifierCode("Q1", "Routine clinical service provided in a clinical research study"),
            ModifierCode("GA", "Waiver of liability statement issued as required by payer policy"),
            ModifierCode("26", "Professional component", "PFS row of its own"),
            ModifierCode("TC", "Technical component", "PFS row of its own"),
        ),
        places=tuple(
            PlaceOfService(code, name, uses_facility_rate(code))
            for code, name in (
                ("22", "On Campus-Outpatient Hospital"),
                ("24", "Ambulatory Surgical Center"),
                ("19", "Off Campus-Outpatient Hospital"),
                ("11", "Office"),
            )
        ),
        payments=tuple(payments),
        changes=(
            ChangeRow(
                CHANGE_AMOUNT,
                "G0276 facility, national",
                "PFS amount (2024 figure is test data: 2025 RVUs × the 2024 CF)",
                Decimal("364.17"),
                next(p for p in payments if p.code == "G0276").national_facility,
                date(2025, 1, 1),
                "RVU25D",
            ),
            ChangeRow(
                CHANGE_AMOUNT,
                "Conversion factor",
                "CY PFS conversion factor",
                Decimal("33.2875"),
                cf,
                date(2025, 1, 1),
                "LAYOUTS 4.5",
                decimals=4,
            ),
            ChangeRow(
                CHANGE_CODE,
                "72275",
                "Absent from the 2025 PFS file: treat as deleted",
                "active",
                "deleted",
                date(2025, 1, 1),
                "PPRRVU2025_Oct",
            ),
            ChangeRow(CHANGE_RULE, "0275T", "No change to NCD 150.13 in 2025", "CED", "CED", None, "NCD 150.13"),
        ),
        sources=(SourceRow.from_release(pfs_ref, published=date(2025, 9, 11)), SourceRow.from_release(gpci_ref)),
    )
