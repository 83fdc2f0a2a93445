"""Every kind of code set, in one place: what it is called, how its files are read and stored, where a refresh
finds it and what it speaks about. The loader (``codes.loading``), the selectors, the refresh, the admin and the
status page read this registry; adding a kind means one ``Kind`` here, its parser (``codes.formats``), its row type
(``codes.formats.rows``) and its model (``codes.models``, with a migration).

Pure: no Django at import time (the model is named, and looked up when asked for), so ``codes.snapshot`` can take
the kind names from here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path
from types import ModuleType, SimpleNamespace

from codes.formats import rows as r

# Release kinds. The contract's import kinds plus the project's own fixture kinds.
ICD10CM = "icd10cm"
HCPCS = "hcpcs"
CPT = "cpt"
PROCEDURE_SUMMARIES = "procedure-summaries"  # fixtures: our own plain summaries of CPT/HCPCS codes
MODIFIERS = "modifiers"  # fixtures: CPT and HCPCS modifiers
POS = "pos"
PFS_RVU = "pfs-rvu"
GPCI = "gpci"
LOCALITY = "locality"
PTP_PRACTITIONER = "ncci-ptp-practitioner"
PTP_HOSPITAL = "ncci-ptp-hospital"
MUE_PRACTITIONER = "mue-practitioner"
MUE_HOSPITAL = "mue-hospital"
OPPS = "opps"
ASC = "asc"
ZIP5 = "zip5"  # CMS ZIP code to carrier and pricing locality crosswalk (jurisdiction of a practice location)
NCCI_ADDON = "ncci-addon"  # NCCI add-on code edits

# Refresh schedules (the values of ``codes.models.Source.Schedule``); "" is manual: refreshed only when asked.
QUARTERLY, APRIL_OCTOBER, YEARLY, MANUAL = "quarterly", "april-october", "yearly", ""

# The practice's code systems (as ``codes.selectors.lookup`` names them) a release can speak about.
SYSTEMS = ("procedure", "icd10cm", "modifier", "pos")

# The CMS tables a PTP or MUE file can hold, in words.
TABLE_WORDS = {"practitioner": "practitioner", "hospital": "outpatient hospital", "dme": "DME supplier"}


@dataclass(frozen=True)
class Kind:
    """Everything a kind of code set is."""

    name: str
    label: str
    model: str  # the codes.models class holding the rows of a release
    row: type  # the codes.formats.rows type its parser yields
    columns: tuple[str, ...]  # the model's columns, as the row's fields of the same names
    parser: str | Callable[[Path], str]  # the codes.formats module (or path -> module name)
    parse: str = "parse"  # the module's function yielding the rows
    key: tuple[str, ...] = ()  # the fields that identify a row within a release
    unique: bool = True  # the loader refuses two rows with one key (across the files of a set)
    group_by: str = ""  # the snapshot asks by this field and gets every row with it (add-on code edits)
    joined: tuple[str, ...] = ()  # tuple fields stored as one space-separated text
    in_database: bool = False  # millions of rows: asked per claim in the database, never read into memory
    table: str | None = None  # PTP and MUE: the CMS table the kind holds ("practitioner", "hospital")
    table_file: str = ""  # ... and how its files are named, for the error refusing another table
    lists_procedures: bool = False  # a "procedure" look-up searches it (contract)
    cumulative: bool = False  # rows carry their own dates: a later release can answer for earlier dates
    asked_by_claims: bool = True  # a claim check asks it (ZIP5: settled when a practice location is saved)
    systems: tuple[str, ...] = ("procedure",)  # the practice's code systems its rows speak about (change notices)
    description: str = ""  # the field a look-up by words searches
    schedule: str = MANUAL  # the usual refresh schedule
    file_names: str = ""  # regex telling the kind from a file's (or zip's) name
    members: tuple[str, ...] = ()  # the member(s) to take from a CMS zip when the source names none, in order

    @property
    def model_class(self):
        from django.apps import apps

        return apps.get_model("codes", self.model)

    def parser_for(self, path: Path) -> ModuleType | SimpleNamespace:
        """The parser of a file of this kind: ``parse(path)`` and ``file_info(path)``."""
        name = self.parser(Path(path)) if callable(self.parser) else self.parser
        module = importlib.import_module(f"codes.formats.{name}")
        if self.parse == "parse":
            return module
        return SimpleNamespace(parse=getattr(module, self.parse), file_info=module.file_info)

    @property
    def to_tuple(self) -> Callable[[object], tuple]:
        """A parsed row -> the values of ``columns`` (tuple fields joined)."""
        get = attrgetter(*self.columns)
        if not self.joined:
            return get
        where = [self.columns.index(c) for c in self.joined]

        def joined(row) -> tuple:
            values = list(get(row))
            for i in where:
                values[i] = " ".join(v for v in values[i] if v)
            return tuple(values)

        return joined

    @property
    def key_of(self) -> Callable[[object], object] | None:
        """A row -> its key (one value, or a tuple of several)."""
        return attrgetter(*self.key) if self.key else None

    def rows_from(self, values: Iterator[tuple]) -> Iterator:
        """Stored values (``columns`` order, as ``values_list`` gives them) -> the parser's row objects."""
        row = self.row
        joined = [self.columns.index(c) for c in self.joined]
        if [f.name for f in fields(row)] == list(self.columns) and not joined:
            for v in values:
                yield row(*v)
            return
        columns = self.columns
        for v in values:
            if joined:
                v = list(v)
                for i in joined:
                    v[i] = tuple(v[i].split()) if v[i] else ()
            yield row(**dict(zip(columns, v)))


def _icd_parser(path: Path) -> str:
    return "icd10cm_tabular" if path.suffix.lower() == ".xml" else "icd10cm_order"


def _columns(row: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row))


_HCPCS_COLUMNS = _columns(r.HcpcsRow)
_PTP = {
    "model": "PtpEdit",
    "row": r.PtpRow,
    "columns": _columns(r.PtpRow),
    "parser": "ncci_ptp",
    "key": ("column1", "column2"),
    "unique": False,  # the parser checks duplicate keys itself, per file
    "in_database": True,
    "cumulative": True,
    "schedule": QUARTERLY,
}
_MUE = {"model": "MueValue", "row": r.MueRow, "columns": _columns(r.MueRow), "parser": "mue", "key": ("code",)}
_MUE |= {"schedule": QUARTERLY}

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in [
        Kind(
            ICD10CM,
            "ICD-10-CM diagnoses",
            "IcdCode",
            r.IcdRow,
            _columns(r.IcdRow),
            _icd_parser,
            key=("code",),
            systems=("icd10cm",),
            description="description",
            schedule=APRIL_OCTOBER,  # fiscal year from October 1, updates from April 1
            file_names=r"icd-?10-?cm|code[-_ ]descriptions|tabular",
            members=("icd10cm?order?*.txt", "icd10cm?tabular?*.xml", "icd10c?tabular?*.xml"),
        ),
        Kind(
            HCPCS,
            "HCPCS Level II",
            "HcpcsCode",
            r.HcpcsRow,
            _HCPCS_COLUMNS,
            "hcpcs",
            key=("code",),
            joined=("pricing_indicators", "type_of_service", "xrefs"),
            lists_procedures=True,
            systems=("procedure", "modifier"),  # the HCPCS file lists Level II modifiers too
            description="long_description",
            schedule=QUARTERLY,
            file_names=r"hcpc|alpha[-_ ]?numeric",
            members=("HCPC*ANWEB*.txt", "HCPC*ANWEB*.csv", "HCPC*ANWEB*.xlsx"),
        ),
        Kind(
            CPT,
            "CPT descriptors (licensed)",
            "CptDescriptor",
            r.CptRow,
            _columns(r.CptRow),
            "cpt_descriptors",
            key=("code",),
            lists_procedures=True,
            description="description",
            schedule=YEARLY,
        ),
        Kind(
            PROCEDURE_SUMMARIES,
            "Procedure codes (project summaries)",
            "ProcedureSummary",
            r.ProcedureSummaryRow,
            ("code", "code_system", "summary", "effective_from", "effective_to", "replacement"),
            "fixtures_csv",
            parse="parse_procedure_summaries",
            key=("code",),
            lists_procedures=True,
            description="summary",
        ),
        Kind(
            MODIFIERS,
            "Modifiers",
            "ModifierCode",
            r.ModifierRow,
            ("code", "code_system", "description", "effective_from", "effective_to", "ncci_associated", "anatomic"),
            "fixtures_csv",
            parse="parse_modifiers",
            key=("code",),
            systems=("modifier",),
            description="description",
        ),
        Kind(
            POS,
            "Places of service",
            "PlaceOfService",
            r.PlaceOfServiceRow,
            _columns(r.PlaceOfServiceRow),
            "fixtures_csv",
            parse="parse_places_of_service",
            key=("code",),
            systems=("pos",),
            description="name",
        ),
        Kind(
            PFS_RVU,
            "Physician fee schedule RVUs",
            "RvuValue",
            r.RvuRow,
            _columns(r.RvuRow),
            "pfs_rvu",
            key=("code", "modifier"),
            lists_procedures=True,
            schedule=YEARLY,
            file_names=r"pprrvu|rvu\d\d",
            members=("PPRRVU*nonQPP*.csv", "PPRRVU*.csv", "PPRRVU*.txt"),
        ),
        Kind(
            GPCI,
            "GPCIs",
            "Gpci",
            r.GpciRow,
            _columns(r.GpciRow),
            "gpci",
            key=("mac", "locality"),
            systems=(),
            schedule=YEARLY,
            file_names=r"gpci",
            members=("GPCI*.csv", "GPCI*.txt"),
        ),
        Kind(
            LOCALITY,
            "Medicare localities",
            "Locality",
            r.LocalityRow,
            _columns(r.LocalityRow),
            "locality",
            key=("mac", "locality"),
            unique=False,
            systems=(),
            schedule=YEARLY,
            file_names=r"locco",
            members=("*LOCCO*.txt", "*LOCCO*.csv"),
        ),
        Kind(
            PTP_PRACTITIONER,
            "NCCI PTP edits, practitioner",
            **_PTP,
            table="practitioner",
            table_file="ccipra-v...-f1..4.txt",
            file_names=r"ccipra|practitioner[-_ ]ptp",
            members=("ccipra-*.txt",),
        ),
        Kind(
            PTP_HOSPITAL,
            "NCCI PTP edits, outpatient hospital",
            **_PTP,
            table="hospital",
            table_file="ccioph-v...-f1..4.txt",
            file_names=r"ccioph|hospital[-_ ]ptp|outpatient[-_ ]ptp",
            members=("ccioph-*.txt",),
        ),
        Kind(
            MUE_PRACTITIONER,
            "MUEs, practitioner",
            **_MUE,
            table="practitioner",
            table_file="MCR_MUE_PractitionerServices_Eff_...csv",
            file_names=r"mue.*practitioner",
            members=("*MUE*Practitioner*.csv",),
        ),
        Kind(
            MUE_HOSPITAL,
            "MUEs, outpatient hospital",
            **_MUE,
            table="hospital",
            table_file="MCR_MUE_OutpatientHospitalServices_Eff_...csv",
            file_names=r"mue.*(outpatient|hospital)",
            members=("*MUE*Outpatient*.csv", "*MUE*Hospital*.csv"),
        ),
        Kind(
            OPPS,
            "OPPS Addendum B",
            "OppsRate",
            r.OppsRow,
            _columns(r.OppsRow),
            "opps_addendum_b",
            key=("code",),
            lists_procedures=True,
            schedule=QUARTERLY,
            file_names=r"addendum[-_ ]?b|opps[-_ ]addend",
            members=("*addendum?b*.csv", "*addendum?b*.txt"),
        ),
        Kind(
            ASC,
            "ASC Addendum AA",
            "AscRate",
            r.AscRow,
            _columns(r.AscRow),
            "asc_addendum_aa",
            key=("code",),
            lists_procedures=True,
            schedule=QUARTERLY,
            file_names=r"addendum[-_ ]?aa|asc[-_ ]addend",
            members=("*addendum?aa*.csv",),
        ),
        Kind(
            NCCI_ADDON,
            "NCCI add-on code edits",
            "AddonEdit",
            r.AddonEditRow,
            _columns(r.AddonEditRow),
            "ncci_addon",
            key=("addon", "primary", "addon_effective"),
            group_by="addon",
            cumulative=True,
            schedule=QUARTERLY,
            file_names=r"^aoc[-_]|add[-_ ]?on[-_ ]code",
            # AOC_V2026Q3-F-MCR.txt is the fixed-width text; the Excel copy beside it (AOC_V2026Q3-MCR.xlsx) is not read
            members=("AOC*-F-MCR*.txt", "AOC*MCR*.txt"),
        ),
        Kind(
            ZIP5,
            "ZIP code to carrier and locality",
            "ZipLocality",
            r.ZipLocalityRow,
            ("zip_code", "state", "carrier", "locality", "rural", "plus_four", "year_quarter"),
            "zip5",
            key=("zip_code",),
            asked_by_claims=False,
            schedule=QUARTERLY,
            file_names=r"^zip5[-_]|carrier[-_ ]locality",
            # ZIP5_OCT2025.txt; not its layout (ZIP5lyout.txt), its Excel copy or the ZIP9 (ZIP+4) file beside it
            members=("ZIP5_*.txt",),
        ),
    ]
}

KIND_LABELS = {name: kind.label for name, kind in KINDS.items()}
ALL_KINDS = tuple(KINDS)
# Sources that list procedure codes (contract: "procedure" look-ups search all of them).
PROCEDURE_KINDS = tuple(name for name, kind in KINDS.items() if kind.lists_procedures)
# Kinds whose files are cumulative: rows carry their own dates, so a later release can answer for earlier dates.
CUMULATIVE_KINDS = tuple(name for name, kind in KINDS.items() if kind.cumulative)
# Kinds a claim check never asks (the location's jurisdiction is settled when the location is saved).
NOT_CLAIM_KINDS = tuple(name for name, kind in KINDS.items() if not kind.asked_by_claims)

# Which kind a file is, from its (or its zip's) name: first match wins. The more specific names first (a PTP or
# MUE table names its care setting; an ASC addendum "AA" before OPPS's "B").
_NAME_ORDER = (PTP_PRACTITIONER, PTP_HOSPITAL, MUE_PRACTITIONER, MUE_HOSPITAL, ICD10CM, HCPCS, PFS_RVU, GPCI,
               LOCALITY, ASC, OPPS, NCCI_ADDON, ZIP5)  # fmt: skip
KIND_NAMES = [(re.compile(KINDS[name].file_names, re.I), name) for name in _NAME_ORDER]
KIND_NAMES += [(re.compile(kind.file_names, re.I), kind.name) for kind in KINDS.values() if kind.file_names
               and kind.name not in _NAME_ORDER]  # fmt: skip


def get(kind: str) -> Kind:
    """The kind named ``kind`` (KeyError when there is none)."""
    return KINDS[kind]


def label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind)


def default_schedule(kind: str) -> str:
    return KINDS[kind].schedule if kind in KINDS else MANUAL


def kind_of_file(name: str) -> str | None:
    """The kind a file's name says it is, or None."""
    for pattern, kind in KIND_NAMES:
        if pattern.search(name):
            return kind
    return None
