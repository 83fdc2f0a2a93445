"""ICD-10-CM helpers shared by the tabular-XML and order-file parsers (LAYOUTS section 1).

Codes are stored without the dot (``M48062``); ``icd10cm_display`` puts it back for people. ICD-10-CM records
carry no dates: a file's validity comes from the release it belongs to (LAYOUTS 1.1), i.e. from its name:
``..._2026`` is fiscal year 2026 (2025-10-01 to 2026-09-30); ``...-April-1-2026`` is the April update of that
fiscal year (2026-04-01 to 2026-09-30).
"""

from __future__ import annotations

import re
from datetime import date

from .base import FileInfo, normalise_code

# A code without its dot: a letter, two letters-or-digits (QA0 is new in FY2026), up to 4 more.
ICD10CM_CODE = re.compile(r"[A-Z][0-9A-Z]{2}[0-9A-Z]{0,4}")

_RELEASE_NAME = re.compile(
    r"icd10c?m?[-_ ]?(?P<kind>tabular|order|codes)[-_ ](?:(?P<april>april)[-_ ]0?1[-_ ])?(?P<year>(?:19|20)\d\d)(?!\d)",
    re.IGNORECASE,
)


def icd10cm_display(code: str) -> str:
    """``M48062`` -> ``M48.062``; ``M48`` stays ``M48``; a code that already has its dot is returned normalised."""
    code = normalise_code(code)
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def fiscal_year_info(fiscal_year: int, *, april: bool = False) -> FileInfo:
    """The validity of an ICD-10-CM release: the fiscal year, or its April update (to the end of the same FY)."""
    end = date(fiscal_year, 9, 30)
    if april:
        return FileInfo(date(fiscal_year, 4, 1), end, f"ICD-10-CM FY{fiscal_year} (April 1, {fiscal_year} update)")
    return FileInfo(date(fiscal_year - 1, 10, 1), end, f"ICD-10-CM FY{fiscal_year}")


def release_from_name(name: str, kind: str | None = None) -> FileInfo | None:
    """FileInfo from a CMS/CDC file name (``_`` or ``-`` separators, any case, suffixes after the year allowed).

    ``kind`` ("tabular", "order" or "codes") restricts the names accepted; None when the name says nothing.
    """
    match = _RELEASE_NAME.search(name)
    if not match or (kind is not None and match["kind"].lower() != kind):
        return None
    return fiscal_year_info(int(match["year"]), april=bool(match["april"]))
