"""Database set-up for the guide and report download tests: the real CMS 2025 files loaded through the loader,
the practice defaults with the demo practice, users in their roles, and small test-data files written to a
temporary folder (a 2024 PFS/GPCI derived from the 2025 rows, an Addendum B row, a CPT descriptor), each marked
as test data."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl

from codes import snapshot as k
from codes.defaults import DEFAULT_SETS, FIXTURES
from codes.loading import load_files
from config.roles import sync_groups
from practice.defaults import load_defaults
from practice.models import Practice, ProcedureProfile, ProfileCode
from tests.factories import LocationFactory, PracticeFactory, UserFactory

HEADER_ROW = 4
PFS_2025 = "PPRRVU2025_Oct.csv"
GPCI_2025 = "GPCI2025.csv"
CF_2024 = "33.2875"


def load_cms_2025(cms_dir: Path) -> None:
    """PFS RVU October 2025 (the full file) and GPCI 2025, through ``codes.loading.load_files``."""
    load_files(k.PFS_RVU, [cms_dir / PFS_2025])
    load_files(k.GPCI, [cms_dir / GPCI_2025])


def load_fixture_codesets() -> None:
    """The project's fixture code sets (procedure summaries 2025-2026, modifiers, places of service)."""
    for kind, name, start, end, label in DEFAULT_SETS:
        load_files(kind, [FIXTURES / name], effective_from=start, effective_to=end, label=label)


def load_practice_defaults(comparator: str | None = "64483") -> Practice:
    """Payers, rules, the mild® profile and the demo practice; the role groups. With ``comparator``, a comparator
    code is added to the profile (as a related code, test data) so its physician amounts appear in the guide."""
    load_defaults(demo=True)
    sync_groups()
    if comparator:
        profile = ProcedureProfile.objects.get(key="mild")
        ProfileCode.objects.get_or_create(
            profile=profile,
            system=ProfileCode.PROCEDURE,
            code=comparator,
            defaults={"role": ProfileCode.RELATED, "summary": "Comparator (test data)", "position": 99},
        )
    return Practice.objects.get(key="demo")


def other_practice() -> Practice:
    practice = PracticeFactory(key="other", name="Other Spine Clinic")
    LocationFactory(practice=practice, name="Other ASC", mac="01112", locality="05", state="CA")
    return practice


def user_in(django_user_model, username: str, group: str | None, practice: Practice | None, **extra):
    """A staff user (password ``pw``) in ``group`` and ``practice`` (tests.factories.UserFactory)."""
    return UserFactory(
        username=username, roles=[group] if group else [], practices=[practice] if practice else [], **extra
    )


# ---- test-data files ------------------------------------------------------------------------------------------


def write_pfs_2024(cms_dir: Path, folder: Path, codes=("0275T", "G0276", "77003", "64483", "72275")) -> Path:
    """TEST DATA: a "2024" RVU file: the 2025 header and the 2025 rows of ``codes`` with the 2024 CF (33.2875)."""
    text = (cms_dir / PFS_2025).read_text(encoding="latin-1")
    lines = text.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("HCPCS,MOD,DESCRIPTION"))
    columns = next(csv.reader([lines[header_at]]))
    cf_column = len(columns) - 1 - columns[::-1].index("FACTOR")  # CONV FACTOR, stacked over two header rows
    out = io.StringIO()
    out.write("\n".join(lines[: header_at + 1]).replace("2025 National", "2024 National") + "\n")
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(lines[header_at + 1 :]):
        if row and row[0] in codes:
            row[cf_column] = CF_2024
            writer.writerow(row)
    path = folder / "PPRRVU2024_Oct.csv"
    path.write_text(out.getvalue(), encoding="latin-1")
    return path


def write_gpci_2024(cms_dir: Path, folder: Path) -> Path:
    """TEST DATA: a "2024" GPCI file with the 2025 Alabama row and the PE GPCI changed to 0.870."""
    lines = (cms_dir / GPCI_2025).read_text(encoding="latin-1").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("Medicare Administrative Contractor"))
    alabama = next(line for line in lines if line.startswith("10112,AL,00"))
    fields = alabama.split(",")
    fields[5] = "0.870"
    footer = next(line for line in lines if "MAC Assignments" in line)  # the table's end (CMS layout)
    body = [line.replace("2025", "2024") for line in lines[: header_at + 1]] + [",".join(fields), footer]
    path = folder / "GPCI2024.csv"
    path.write_text("\n".join(body) + "\n", encoding="latin-1")
    return path


def write_addendum_b(folder: Path) -> Path:
    """TEST DATA: an Addendum B with a 0275T row (J1, APC 5115 at the January 2025 APC rate of Addendum A)."""
    path = folder / "January 2025 Web Addendum B.test.csv"
    path.write_text(
        "HCPCS Code,Short Descriptor,SI,APC,Relative Weight,Payment Rate,National Unadjusted Copayment,"
        "Minimum Unadjusted Copayment\n"
        '0275T,,J1,5115,144.2970,"$12,866.82","$2,573.37","$2,573.37"\n'
        "77003,,N,,,,,\n",
        encoding="utf-8",
    )
    return path


def load_addendum_b(folder: Path) -> None:
    load_files(k.OPPS, [write_addendum_b(folder)], effective_from=date(2025, 1, 1), effective_to=date(2025, 12, 31))


def write_cpt(folder: Path) -> Path:
    """TEST DATA: a licensed-descriptor file with one invented descriptor (not AMA text)."""
    path = folder / "cpt_test_2025.txt"
    path.write_text("Code\tDescriptor\n0275T\tLICENSED TEST DESCRIPTOR FOR 0275T\n", encoding="utf-8")
    return path


# ---- reading workbooks back ------------------------------------------------------------------------------------


def workbook(content: bytes | Path) -> openpyxl.Workbook:
    if isinstance(content, Path):
        return openpyxl.load_workbook(content)
    return openpyxl.load_workbook(io.BytesIO(content))


def headers(ws) -> list[str]:
    return [c.value for c in ws[HEADER_ROW] if c.value is not None]


def table(ws) -> list[dict[str, object]]:
    names = headers(ws)
    return [
        dict(zip(names, row))
        for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)
        if any(v is not None for v in row)
    ]


def payment(wb, code: str, header: str, modifier: str | None = None):
    for row in table(wb["Payment"]):
        if row["Code"] == code and row["Modifier"] == modifier:
            return row[header]
    raise AssertionError(f"no payment row {code} {modifier}")


def money(value) -> Decimal:
    assert isinstance(value, int | float), value
    return Decimal(str(value)).quantize(Decimal("0.01"))
