"""How the current file of each kind is found on its CMS download page: the pattern of its links, the period a
link is for (``2026q3``, ``october-2026``, ``rvu26d``, ``april-1-2026``...), the file to take on a release page.
``codes.refresh.pages`` reads the pages with these rules; docs/sources.md describes the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from codes import kinds as k
from codes.formats.base import MONTHS

_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


# --- Periods: which quarter, month or fiscal year a link is for ----------------------------------------------


def _quarter(year: int, quarter: int) -> date | None:
    return date(year, 3 * quarter - 2, 1) if 1 <= quarter <= 4 else None


def period_ncci(text: str) -> date | None:
    """``medicare-ncci-2026q3-...`` or ``...-2026-q3-...`` -> 2026-07-01."""
    m = re.search(r"(20\d\d)[-_ ]?q([1-4])\b", text, re.I) or re.search(r"\bq([1-4])[-_ ](20\d\d)", text, re.I)
    if not m:
        return None
    year, quarter = (m[1], m[2]) if len(m[1]) == 4 else (m[2], m[1])
    return _quarter(int(year), int(quarter))


def period_month(text: str) -> date | None:
    """``october-2026-alpha-numeric-hcpcs-file.zip``, ``January 2026 Addendum B``, ``2026-january`` -> day 1."""
    m = re.search(rf"\b({_MONTH_RE})[-_ ]+(?:\d{{1,2}}[-_ ,]+)?(20\d\d)", text, re.I)
    if m:
        return date(int(m[2]), MONTHS[m[1].lower()], 1)
    m = re.search(rf"(20\d\d)[-_ ]+({_MONTH_RE})\b", text, re.I)
    if m:
        return date(int(m[1]), MONTHS[m[2].lower()], 1)
    return None


def period_rvu(text: str) -> date | None:
    """``rvu26d`` (the PFS relative value file of October 2026; A..D = January..October) -> 2026-10-01."""
    m = re.search(r"rvu(\d\d)([a-d])", text, re.I)
    if not m:
        return None
    return date(2000 + int(m[1]), 1 + 3 * "abcd".index(m[2].lower()), 1)


def period_icd10(text: str) -> date | None:
    """``2027-code-descriptions-tabular-order.zip`` -> 2026-10-01 (FY2027); ``april-1-2026-...`` -> 2026-04-01."""
    m = re.search(r"april[-_ ]1[-_ ,]+(20\d\d)", text, re.I)
    if m:
        return date(int(m[1]), 4, 1)
    m = re.search(r"(?:fy[-_ ]?)?(20\d\d)[-_ ]+code[-_ ]desc", text, re.I)
    if m:
        return date(int(m[1]) - 1, 10, 1)
    return None


def _day(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def period_posted(text: str) -> date | None:
    """``zip-code-carrier-locality-file-revised-02-18-2026.zip`` or ``Revised 08/14/2025`` -> the day posted.

    CMS keeps one ZIP code to carrier locality file on its page and names it by the day it was posted (the file
    for a quarter is posted weeks before the quarter); the records inside say which quarter they are for."""
    m = re.search(r"(?<!\d)(\d{1,2})[-/_.](\d{1,2})[-/_.](20\d\d)(?!\d)", text)
    return _day(m[3], m[1], m[2]) if m else None


def period_addon(text: str) -> date | None:
    """``Add-On Code Edits for Medicare Effective 07012026`` -> 2026-07-01; ``...-2026q3-...``,
    ``AOC_V2026Q3`` and ``Effective July 1, 2026`` too."""
    m = re.search(r"effective[-_ ]+(\d\d)[-/_]?(\d\d)[-/_]?(20\d\d)(?!\d)", text, re.I)
    if m:
        return _day(m[3], m[1], m[2])
    m = re.search(r"aoc[-_]?v(20\d\d)q([1-4])", text, re.I)
    if m:
        return _quarter(int(m[1]), int(m[2]))
    return period_ncci(text) or period_month(text)


def icd10_dates(start: date) -> tuple[date, date, str]:
    """An ICD-10-CM release runs to the end of its fiscal year (September 30)."""
    fiscal_year = start.year + 1 if start.month >= 10 else start.year
    what = "April update" if start.month == 4 else "October release"
    return start, date(fiscal_year, 9, 30), f"ICD-10-CM FY{fiscal_year} {what}"


# --- The rule of each kind -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRule:
    """How the current file of a kind is found on its CMS page."""

    link: str  # regex on the link's file name (after the licence hop) or its text
    period: object  # text -> first day of the period the link covers (date) or None
    file: str = r"\.zip$"  # on a release page: the file link to take
    exclude: str = r"quarterly-additions|additions-deletions|change[-_ ]?report"  # CMS's change logs are not tables
    parts: bool = False  # an NCCI PTP table: every part -f1..-f4 of the newest version
    dates: object = None  # start -> (effective_from, effective_to, label) when the file cannot tell (ICD-10-CM)
    in_path: bool = False  # also match and date the link by its address's path (a date written with slashes)
    describe: str = ""  # how the file is found, in words (the source's notes, --list)


RVU_RULE = PageRule(
    link=r"rvu\d\d[a-d]",
    period=period_rvu,
    file=r"rvu\d\d[a-d].*\.zip$",
    describe="the PFS relative value files page lists one page per release (RVUyyA..D: January, April, July, "
    "October; AR etc. are corrections); the newest release begun is opened and its zip (rvu26d.zip, "
    "rvu26c-updated-06-30-2026.zip) taken, through the AMA licence page when it is behind one",
)

RULES: dict[str, PageRule] = {
    k.PTP_PRACTITIONER: PageRule(
        link=r"practitioner-ptp-edits|ccipra",
        period=period_ncci,
        parts=True,
        describe="links named medicare-ncci-YYYYqN-practitioner-ptp-edits-ccipra-vVVVrR-fN.zip behind the AMA "
        "licence page (/license/ama?file=...), four parts per table; the newest quarter begun and its highest "
        "revision; the record counts in the link text are checked against the rows loaded",
    ),
    k.PTP_HOSPITAL: PageRule(
        link=r"hospital-ptp-edits|ccioph",
        period=period_ncci,
        parts=True,
        describe="as the practitioner table, with links named ...-hospital-ptp-edits-ccioph-vVVVrR-fN.zip",
    ),
    k.MUE_PRACTITIONER: PageRule(
        link=r"practitioner-services-mue",
        period=period_ncci,
        describe="links named medicare-ncci-YYYY-qN-practitioner-services-mue-table.zip (with or without the "
        "licence page); the newest quarter begun",
    ),
    k.MUE_HOSPITAL: PageRule(
        link=r"outpatient-hospital-services-mue|hospital-services-mue",
        period=period_ncci,
        describe="links named medicare-ncci-YYYY-qN-(facility-)outpatient-hospital-services-mue-table.zip; the "
        "newest quarter begun",
    ),
    k.HCPCS: PageRule(
        link=r"alpha-?numeric-hcpcs",
        period=period_month,
        describe="the quarterly update page links month-YYYY-alpha-numeric-hcpcs-file(s).zip (January, April, "
        "July, October); the newest quarter begun",
    ),
    k.PFS_RVU: RVU_RULE,
    k.GPCI: RVU_RULE,
    k.LOCALITY: RVU_RULE,
    k.OPPS: PageRule(
        link=r"addendum[-_ ]?b",
        period=period_month,
        file=r"addendum.*\.zip$|\.zip$",
        describe="the Addendum A and B updates page lists one entry per quarter (Month YYYY Addendum B), a zip "
        "or a page holding it, often behind the AMA licence page; the newest quarter begun",
    ),
    k.ASC: PageRule(
        link=r"asc[-_ ].*(addend|payment|rate)|addenda",
        period=period_month,
        file=r"\.zip$",
        describe="the ASC payment rates addenda page lists one entry per quarter (Month YYYY ASC Approved HCPCS "
        "Code and Payment Rates), a zip or a page holding it, often behind the AMA licence page; the newest "
        "quarter begun",
    ),
    k.NCCI_ADDON: PageRule(
        link=r"add[-_ ]?on[-_ ]code|\baoc\b|aoc[-_]v",
        period=period_addon,
        exclude=r"quarterly-additions|additions-deletions|change[-_ ]?report|medicaid|file[-_ ]?(format|structure)",
        in_path=True,
        describe='the add-on code edits page links the Medicare file as "Add-On Code Edits for Medicare Effective '
        'MMDDYYYY" (a zip holding AOC_VYYYYQN-F-MCR.txt and an Excel copy; the licence page followed if there '
        "is one); the newest date begun. The file is cumulative: every edit carries its own dates",
    ),
    k.ZIP5: PageRule(
        link=r"carrier[-_ ]locality",
        period=period_posted,
        exclude=r"end[-_ ]?(of[-_ ])?year",
        in_path=True,
        describe='the fee schedules general information page links the newest "Zip Code to Carrier Locality '
        'File" zip, named by the day it was posted (zip-code-carrier-locality-file-revised-MM-DD-YYYY.zip, '
        "sometimes with slashes in the date); the newest posted by the day of the run is taken and its "
        "ZIP5_MONYYYY.txt loaded, in force from the quarter its records name",
    ),
    k.ICD10CM: PageRule(
        link=r"code[-_ ]descriptions",
        period=period_icd10,
        dates=icd10_dates,
        describe="the ICD-10 page links YYYY-code-descriptions-tabular-order.zip (fiscal year YYYY, from October "
        "1 of YYYY-1) and april-1-YYYY-code-descriptions-tabular-order.zip (the April update); the newest begun. "
        "The order file inside has the same name in both, so the dates come from the link",
    ),
}
