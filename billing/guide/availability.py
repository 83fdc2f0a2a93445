"""What a billing guide will lack, said on the form before it is downloaded (pure: over a built GuideData).

Each amount column of the Payment sheet is either filled for every code or shows "not loaded" for some: the form
lists the latter with the reason the guide itself gives (no PFS file for the year, no GPCI for the locality...).
"""

from __future__ import annotations

from billing.guide.data import GuideData
from billing.guide.fees import NOT_LOADED

# (column, its fields, words that pick the guide's own reason from a row's notes, the reason otherwise)
COLUMNS = (
    ("Physician national amounts (PFS)", ("national_nonfacility", "national_facility"), ("PFS", "conversion"),
     "no PFS RVU file loaded for {year}"),
    ("Physician amounts for the locality (PFS x GPCI)", ("locality_nonfacility", "locality_facility"),
     ("GPCI", "PFS", "conversion"), "no GPCI file loaded for {year}"),
    ("Hospital outpatient rates (OPPS)", ("opps_rate",), (), "no OPPS Addendum B loaded for {year}"),
    ("ASC rates", ("asc_rate",), (), "no ASC Addendum AA loaded for {year}"),
)  # fmt: skip


def missing_amounts(guide: GuideData) -> list[tuple[str, str]]:
    """(column, why) for each kind of amount the guide will show as "not loaded"."""
    out = []
    for label, fields, words, default in COLUMNS:
        if fields[0].startswith("locality") and guide.locality is None:
            continue  # national only: the guide has no locality columns
        rows = [r for r in guide.payments if any(getattr(r, f) == NOT_LOADED for f in fields)]
        if not rows:
            continue
        reasons = [part.strip() for r in rows for part in (r.notes or "").split(";")]
        picked = next((p for p in reasons if words and any(w in p for w in words) and "no " in p), None)
        codes = ", ".join(dict.fromkeys(r.code for r in rows))
        out.append((label, f"{picked or default.format(year=guide.year)} (codes {codes})"))
    return out
