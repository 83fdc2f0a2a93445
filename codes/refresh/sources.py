"""Where the code sets come from: the default sources (CMS's real address for every kind of code set except the
licensed CPT file), the placeholders of an address, and the kind a file's name says it is.

Each address is the CMS page that lists the kind's files; ``codes.refresh.pages`` finds the current file on it (the
newest period begun, through the AMA licence page, the record counts checked). The pages and what was learnt
about them are in docs/sources.md. ``load_defaults`` creates a default source for each kind that has none
(idempotent; a source the code-set administrator changed or replaced is left alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote, urlsplit

from codes import kinds as k
from codes.formats.base import MONTH_ABBR, MONTH_NAME
from codes.models import Source
from codes.refresh.download import RefreshError
from codes.refresh.page_rules import RULES

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
    member: str = ""  # empty: the kind's usual member names (codes.kinds: members)
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
    return f"Shipped default (codes/refresh/sources.py; docs/sources.md). How the current file is found: {how}."


def ensure_default_sources() -> list[Source]:
    """Create the default source of every kind that has no source yet. Returns the sources created."""
    from codes.refresh.schedules import sync_schedule

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
        sync_schedule(source)
        created.append(source)
    return created


# --- Addresses and file names -------------------------------------------------------------------------------


def expand_url(template: str, on: date) -> str:
    """Fill the placeholders of a source's address for the quarter of ``on``: {year} 2026, {yy} 26, {quarter} 1-4,
    {q0} 0-3, {ncci} 322 (the NCCI version of 2026 Q3: v322r0), {month} 04, {month_name} april, {mon} apr.
    No braces: unchanged."""
    if "{" not in template:
        return template
    quarter = (on.month - 1) // 3 + 1
    values = {
        "year": on.year,
        "yy": f"{on.year % 100:02d}",
        "quarter": quarter,
        "q0": quarter - 1,
        "ncci": f"{on.year - 1994}{quarter - 1}",
        "month": f"{on.month:02d}",
        "month_name": MONTH_NAME[on.month].lower(),
        "mon": MONTH_ABBR[on.month].lower(),
    }
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise RefreshError(f"the address {template!r} has an unknown placeholder ({exc}): use {set(values)}") from None


def infer_kind(url: str) -> str | None:
    """The kind the address's file name says it is (``codes.kinds``: file names), or None."""
    return k.kind_of_file(unquote(urlsplit(url).path.rsplit("/", 1)[-1]))
