"""Small HCPCS files cut from the project's sample of the 2020 file (tests/data/cms), and zips of them, for the
refresh tests."""

from __future__ import annotations

import io
import zipfile
from functools import cache

from tests.testdata import CMS

HCPCS_2020 = "HCPC2020_ANWEB_w_disclaimer.txt"
CODES = ("A4550", "G0260", "G0276", "J1040", "Q0", "Q1")


@cache
def _real_lines() -> tuple[list[str], list[str]]:
    text = (CMS / HCPCS_2020).read_bytes().decode("latin-1")
    lines = text.split("\r\n")
    first = next(i for i, line in enumerate(lines) if len(line) >= 300)
    return lines[:first], lines[first:]


def hcpcs_text(codes=CODES, *, g0276_description: str | None = None, g0276_terminated: str | None = None) -> bytes:
    """The preamble and the records of ``codes`` from the real 2020 file, G0276 optionally changed: a new first
    line of long description (80 columns) or a termination date (YYYYMMDD in columns 285-292)."""
    preamble, records = _real_lines()
    keep = {c.rjust(5) for c in codes}
    out = list(preamble)
    for line in records:
        if line[:5] not in keep:
            continue
        if line[:5] == "G0276" and line[10] == "3":
            if g0276_description is not None:
                line = line[:11] + g0276_description.ljust(80)[:80] + line[91:]
            if g0276_terminated is not None:
                line = line[:284] + g0276_terminated + line[292:]
        out.append(line)
    return ("\r\n".join(out) + "\r\n").encode("latin-1")


def hcpcs_full() -> bytes:
    return (CMS / HCPCS_2020).read_bytes()


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def mild_profile(codes=(("procedure", "0275T", "primary"), ("procedure", "G0276", "alternative"))):
    """The mild® procedure profile with a few of its codes (practice.models), as load_defaults ships it."""
    from practice.models import ProcedureProfile, ProfileCode

    profile, _ = ProcedureProfile.objects.get_or_create(key="mild", defaults={"name": "mild®"})
    for system, code, role in codes:
        ProfileCode.objects.get_or_create(profile=profile, system=system, code=code, defaults={"role": role})
    return profile


def ptp_text(pairs) -> bytes:
    """An NCCI PTP file in the real layout (the header of the v322r0 excerpt) with ``pairs``: (column 1,
    column 2, effective YYYYMMDD, deletion YYYYMMDD or "*", modifier indicator), sorted as CMS sorts them."""
    excerpt = (CMS / "ccipra-v322r0-f1_excerpt.txt").read_bytes().decode("latin-1")
    header = excerpt.split("\n")[:6]
    why = "Misuse of Column Two code with Column One code"
    rows = [f"{c1}\t{c2}\t\t{eff}\t{dele}\t{mod}\t{why}" for c1, c2, eff, dele, mod in sorted(pairs)]
    return ("\n".join(header + rows) + "\n").encode("latin-1")
