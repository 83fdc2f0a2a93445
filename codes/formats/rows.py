"""The rows parsers yield: one plain, frozen type per kind of data, shared with the loader.

Codes are normalised: upper case, no dots (ICD-10-CM ``M48062``; shown with the dot by
``codes.formats.icd10cm_display``). Dates are ``datetime.date`` or None. Money and RVUs are
``decimal.Decimal`` or None ("not given"), never 0 for "not given".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class IcdRow:
    """An ICD-10-CM code or header. ``billable`` False for categories and headers (order-file flag 0)."""

    code: str  # no dot: M48062, S32001A
    billable: bool
    description: str  # the long description
    short_description: str = ""  # order file only; "" from the XML


@dataclass(frozen=True, slots=True)
class HcpcsRow:
    """A HCPCS Level II procedure code or modifier record, continuation lines already joined."""

    code: str  # "G0276"; modifiers are 2 characters: "Q0"
    is_modifier: bool
    long_description: str
    short_description: str
    pricing_indicators: tuple[str, ...] = ()  # PRICE1..4, blanks dropped
    multiple_pricing: str = ""
    coverage: str = ""  # COV: C, D, I, M, S
    asc_group: str = ""
    asc_date: date | None = None
    proc_note: str = ""
    betos: str = ""
    type_of_service: tuple[str, ...] = ()
    xrefs: tuple[str, ...] = ()  # XREF1..5: codes CMS points to (e.g. a replacement)
    added: date | None = None  # ADD DT
    action_effective: date | None = None  # ACT EFF DT
    terminated: date | None = None  # TERM DT: last valid day
    action_code: str = ""


@dataclass(frozen=True, slots=True)
class CptRow:
    """A line of a licensed AMA CPT descriptor file (the practice's own licence; never shipped)."""

    code: str
    description: str


@dataclass(frozen=True, slots=True)
class ProcedureSummaryRow:
    """A procedure code from the project's own fixtures: our plain-language summary, never AMA text."""

    code: str
    summary: str
    code_system: str  # "CPT" or "HCPCS"
    effective_from: date | None = None
    effective_to: date | None = None
    replacement: str = ""


@dataclass(frozen=True, slots=True)
class ModifierRow:
    """A modifier from the project's fixtures (CPT modifiers in our words, HCPCS ones from CMS text)."""

    code: str
    description: str
    code_system: str  # "CPT" or "HCPCS"
    effective_from: date | None = None
    effective_to: date | None = None
    ncci_associated: bool = False  # bypasses a PTP edit with modifier indicator 1
    anatomic: bool = False


@dataclass(frozen=True, slots=True)
class PlaceOfServiceRow:
    code: str  # two digits: "24"
    name: str
    facility: bool  # PFS facility rate applies
    effective_from: date | None = None
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class RvuRow:
    """A PFS relative value file row (PPRRVU). ``modifier`` is "" for the global row, "26", "TC" or "53"."""

    code: str
    modifier: str
    description: str  # HCPCS Level II short text; CPT text is AMA's and is dropped by the parser
    status: str
    work_rvu: Decimal | None
    pe_nonfacility_rvu: Decimal | None
    pe_nonfacility_na: bool
    pe_facility_rvu: Decimal | None
    pe_facility_na: bool
    mp_rvu: Decimal | None
    total_nonfacility: Decimal | None
    total_facility: Decimal | None
    pctc_indicator: str
    global_days: str
    mult_proc: str
    bilat_surg: str
    asst_surg: str
    co_surg: str
    team_surg: str
    conversion_factor: Decimal | None


@dataclass(frozen=True, slots=True)
class GpciRow:
    mac: str  # "10112" (leading zeros kept)
    state: str
    locality: str  # "00"
    name: str
    work: Decimal
    pe: Decimal
    mp: Decimal


@dataclass(frozen=True, slots=True)
class LocalityRow:
    mac: str  # "01112"
    locality: str  # "05"
    state: str
    area: str
    counties: str


@dataclass(frozen=True, slots=True)
class PtpRow:
    """An NCCI procedure-to-procedure edit. ``deleted`` is the last day it applies (None: active)."""

    column1: str
    column2: str
    prior_1996: bool
    effective: date
    deleted: date | None
    modifier_indicator: str  # "0", "1" or "9"
    rationale: str


@dataclass(frozen=True, slots=True)
class MueRow:
    code: str
    value: int
    adjudication_indicator: int  # 1 line, 2 date of service (policy), 3 date of service (clinical)
    rationale: str


@dataclass(frozen=True, slots=True)
class OppsRow:
    """An OPPS Addendum B row (hospital outpatient), money as Decimal, None where the file has none."""

    code: str
    short_description: str
    status_indicator: str
    apc: str
    relative_weight: Decimal | None
    payment_rate: Decimal | None
    national_copayment: Decimal | None
    minimum_copayment: Decimal | None


@dataclass(frozen=True, slots=True)
class AscRow:
    """An ASC Addendum AA row."""

    code: str
    short_description: str
    multiple_procedure_discount: bool
    comment_indicator: str
    payment_indicator: str
    payment_weight: Decimal | None
    payment_rate: Decimal | None


@dataclass(frozen=True, slots=True)
class ZipLocalityRow:
    """A ZIP code's Medicare carrier (MAC contractor number) and pricing locality (CMS ZIP5 file)."""

    state: str  # "TX"
    zip_code: str  # "75201"
    carrier: str  # "04412"
    locality: str  # "11"
    rural: str  # "" urban, "R" rural, "B" super rural
    plus_four: bool  # True: some ranges of the ZIP need the ZIP9 file
    year_quarter: str  # "20254"


@dataclass(frozen=True, slots=True)
class AddonEditRow:
    """An NCCI add-on code edit: ``addon`` is paid only with ``primary`` (type 1), with a primary the contractor
    chooses (type 2: ``primary`` is empty), or with ``primary`` or another the contractor accepts (type 3).
    Dates are the rows' own (None: open); a deletion date is the last day the row applies."""

    addon: str
    primary: str
    edit_type: int  # 1, 2 or 3
    addon_effective: date
    addon_deleted: date | None
    primary_effective: date | None
    primary_deleted: date | None
