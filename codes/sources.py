"""The default sources: CMS's real address for every kind of code set except the licensed CPT file.

Each address is the CMS page that lists the kind's files; ``codes.cms_pages`` finds the current file on it (the
newest period begun, through the AMA licence page, the record counts checked). The pages and what was learnt
about them are in docs/sources.md. ``load_defaults`` creates a default source for each kind that has none
(idempotent; a source the code-set administrator changed or replaced is left alone).
"""

from __future__ import annotations

from dataclasses import dataclass

from codes import snapshot as k
from codes.cms_pages import RULES
from codes.models import Source

CMS = "https://www.cms.gov"
NCCI = f"{CMS}/medicare/coding-billing/national-correct-coding-initiative-ncci-edits"
PTP_PAGE = f"{NCCI}/medicare-ncci-procedure-procedure-ptp-edits"
MUE_PAGE = f"{NCCI}/medicare-ncci-medically-unlikely-edits"
HCPCS_PAGE = f"{CMS}/medicare/coding-billing/healthcare-common-procedure-system/quarterly-update"
RVU_PAGE = f"{CMS}/medicare/payment/fee-schedules/physician/pfs-relative-value-files"
PPS = f"{CMS}/medicare/payment/prospective-payment-systems"
OPPS_PAGE = f"{PPS}/hospital-outpatient/addendum-a-and-addendum-b-updates"
ASC_PAGE = f"{PPS}/ambulatory-surgical-center-asc/asc-payment-rates-addenda"
ICD10_PAGE = f"{CMS}/medicare/coding-billing/icd-10-codes"
ADDON_PAGE = f"{NCCI}/medicare-ncci-add-code-edits"
# "Fee Schedules - General Information": the ZIP code to carrier locality zip is posted there (the newest only).
FEE_SCHEDULES_PAGE = f"{CMS}/medicare/payment/fee-schedules"


@dataclass(frozen=True)
class DefaultSource:
    kind: str
    name: str
    url: str
    member: str = ""  # empty: the kind's usual member names (codes.refresh.DEFAULT_MEMBERS)
    schedule: str = Source.Schedule.DEFAULT


DEFAULT_SOURCES = [
    DefaultSource(k.PTP_PRACTITIONER, "CMS NCCI PTP edits, practitioner", PTP_PAGE, "ccipra-v*-f?.txt"),
    DefaultSource(k.PTP_HOSPITAL, "CMS NCCI PTP edits, outpatient hospital", PTP_PAGE, "ccioph-v*-f?.txt"),
    DefaultSource(k.MUE_PRACTITIONER, "CMS NCCI MUE table, practitioner services", MUE_PAGE),
    DefaultSource(k.MUE_HOSPITAL, "CMS NCCI MUE table, outpatient hospital services", MUE_PAGE),
    DefaultSource(k.HCPCS, "CMS HCPCS Level II quarterly file", HCPCS_PAGE),
    # The RVU zip (RVUyyA..D) holds the PFS relative values, the GPCIs and the locality counties.
    DefaultSource(
        k.PFS_RVU, "CMS PFS relative value file (RVUyyA-D)", RVU_PAGE, schedule=Source.Schedule.QUARTERLY
    ),
    DefaultSource(k.GPCI, "CMS GPCIs (from the PFS relative value file)", RVU_PAGE),
    DefaultSource(k.LOCALITY, "CMS Medicare localities (from the PFS relative value file)", RVU_PAGE),
    DefaultSource(k.OPPS, "CMS OPPS Addendum B", OPPS_PAGE),
    DefaultSource(k.ASC, "CMS ASC Addendum AA", ASC_PAGE),
    # Members named for the fiscal year only (icd10cm_order_2026.txt): not the addenda files beside them.
    DefaultSource(k.ICD10CM, "CMS ICD-10-CM code descriptions (October and April)", ICD10_PAGE,
                  "icd10cm?order?[0-9][0-9][0-9][0-9].txt"),
    DefaultSource(k.NCCI_ADDON, "CMS NCCI add-on code edits (Medicare, fixed-width text)", ADDON_PAGE),
    DefaultSource(k.ZIP5, "CMS ZIP code to carrier locality file (ZIP5)", FEE_SCHEDULES_PAGE),
]  # fmt: skip


def notes_for(default: DefaultSource) -> str:
    rule = RULES.get(default.kind)
    how = rule.describe if rule else ""
    return f"Shipped default (codes/sources.py; docs/sources.md). How the current file is found: {how}."


def ensure_default_sources() -> list[Source]:
    """Create the default source of every kind that has no source yet. Returns the sources created."""
    from codes import refresh

    have = set(Source.objects.values_list("kind", flat=True))
    created = []
    for default in DEFAULT_SOURCES:
        if default.kind in have:
            continue
        source = Source.objects.create(
            name=default.name,
            kind=default.kind,
            url=default.url,
            member=default.member,
            schedule=default.schedule,
            notes=notes_for(default),
        )
        refresh.sync_schedule(source)
        created.append(source)
    return created
