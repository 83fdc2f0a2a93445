"""The default code sets: the project's fixtures, the CMS starter files and the ICD-10-CM release shipped by
simple-icd-10-cm. What ships and where each figure comes from: fixtures/codesets/README.md."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from datetime import date
from pathlib import Path

from django.conf import settings

from codes import snapshot as k
from codes.loading import LoadResult, load_files

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "codesets"

# (kind, file, effective_from, effective_to, label). The procedure summaries cover 2025 and 2026 (the years the
# project's facts were checked for); modifiers and places of service are open ended.
DEFAULT_SETS = [
    (
        k.PROCEDURE_SUMMARIES,
        "procedure_codes.csv",
        date(2025, 1, 1),
        date(2026, 12, 31),
        "Procedure codes of the procedure profiles, project summaries 2025-2026",
    ),
    (k.MODIFIERS, "modifiers.csv", date(2008, 1, 1), None, "CPT and HCPCS modifiers (project fixtures)"),
    (k.POS, "places_of_service.csv", date(2003, 1, 1), None, "CMS places of service (project fixtures)"),
    # A starter set of NCCI add-on code edits for the procedure profiles, in CMS's fixed-width layout; the
    # rows carry their own dates (docs/procedures.md: sources and sureness). The full file replaces it.
    (
        k.NCCI_ADDON,
        "ncci_addon_starter.txt",
        date(2013, 4, 1),
        None,
        "NCCI add-on code edits, starter set for the procedure profiles (project fixtures)",
    ),
]

# CMS files shipped as starter data (facts and figures only; fixtures/codesets/build_cms_starter.py rebuilds them).
# Their in-force dates and labels come from the files themselves, as for any CMS file loaded by hand.
CMS_STARTER_SETS = [
    (k.PFS_RVU, "cms/PPRRVU2025_Oct.csv.gz"),  # CY2025 October release, descriptions blanked
    (k.GPCI, "cms/GPCI2025.csv"),
    (k.LOCALITY, "cms/25LOCCO.csv"),
    # The complete ZIP code to carrier and locality file of October 2025 (2025 Q4, 42,956 ZIPs), byte for byte:
    # in force from 2025-10-01 (its records say 20254), open ended until a later quarter's file is loaded.
    (k.ZIP5, "cms/ZIP5_OCT2025.txt.gz"),
]

ICD10CM_SHIPPED = (
    "icd10c-tabular-April-1-2026.xml",
    date(2026, 4, 1),
    date(2026, 9, 30),
    "ICD-10-CM April 2026 (tabular XML shipped by simple-icd-10-cm)",
)


def shipped_icd10cm_xml() -> Path:
    import simple_icd_10_cm

    return Path(simple_icd_10_cm.__file__).parent / "data" / ICD10CM_SHIPPED[0]


def load_default_codesets() -> list[LoadResult]:
    """Load (or find unchanged) every default code set. Idempotent by checksum."""
    results = []
    for kind, name, start, end, label in DEFAULT_SETS:
        results.append(load_files(kind, [FIXTURES / name], effective_from=start, effective_to=end, label=label))
    for kind, name in CMS_STARTER_SETS:
        results.append(load_shipped(kind, FIXTURES / name))
    _, start, end, label = ICD10CM_SHIPPED
    results.append(load_files(k.ICD10CM, [shipped_icd10cm_xml()], effective_from=start, effective_to=end, label=label))
    return results


def load_shipped(kind: str, path: Path) -> LoadResult:
    """Load one shipped file; a ``.gz`` is decompressed (streaming, in 1 MiB chunks) to a temporary file under
    its inner name, so the parser reads CMS's own layout and takes the dates from CMS's own file name."""
    if path.suffix != ".gz":
        return load_files(kind, [path])
    with tempfile.TemporaryDirectory(prefix="mild-starter-") as folder:
        plain = Path(folder) / path.stem
        with gzip.open(path, "rb") as src, open(plain, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        return load_files(kind, [plain])
