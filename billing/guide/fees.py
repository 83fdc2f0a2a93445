"""Medicare payment arithmetic for the billing guide: physician fee schedule, OPPS and ASC rates.

Pure functions over the parser row types (``codes.formats.rows``) or the snapshot's ``RvuInfo``; no
Django, no database. The conversion-factor table is the project's one table, read once from
``fixtures/codesets/conversion_factors.csv``. Money is ``Decimal`` rounded to the cent with ROUND_HALF_UP; when
no amount can be given, a short text says why ("carrier priced", "not payable under the PFS", "NA in this setting",
"not loaded"): never a misleading $0.

Physician fee schedule (LAYOUTS 4.4)::

    amount = [(work RVU × work GPCI) + (PE RVU × PE GPCI) + (MP RVU × MP GPCI)] × conversion factor

with the facility PE RVU in facility settings and the non-facility PE RVU elsewhere. The national amount
uses GPCIs of 1.0, so it equals the file's total RVUs × CF. The products are summed unrounded and only
the final amount is rounded to the cent. The non-participating amount is 95% of the fee and the limiting
charge 115% of that (fee × 1.0925), both derived from the rounded fee and rounded to the cent.
-26 and -TC are separate rows of the RVU file, so each is priced on its own ``RvuInfo``/``RvuRow``.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Literal

from codes.formats.rows import AscRow, GpciRow, OppsRow, RvuRow
from codes.snapshot import RvuInfo

CENT = Decimal("0.01")
NONPAR_RATE = Decimal("0.95")
LIMITING_CHARGE_RATE = Decimal("1.0925")  # 115% of the non-participating amount (95% of the fee)

FACILITY: Literal["facility"] = "facility"
NONFACILITY: Literal["nonfacility"] = "nonfacility"
Setting = Literal["facility", "nonfacility"]

# Texts shown instead of an amount. Kept short: they go into spreadsheet cells.
CARRIER_PRICED = "carrier priced"
NOT_PAYABLE = "not payable under the PFS"
NA_IN_SETTING = "NA in this setting"
NO_RVUS = "no RVUs in the file"
NOT_IN_FEE_SCHEDULE = "not in the fee schedule"
NOT_LOADED = "not loaded"
NO_NATIONAL_RATE = "no national rate"

# PFS status codes (LAYOUTS 4.2, RVU25D). Only A, R and T RVUs are used for payment.
PFS_STATUS = {
    "A": "active",
    "B": "bundled",
    "C": "carrier priced",
    "D": "deleted (90-day grace period)",
    "E": "excluded by regulation",
    "F": "deleted, no grace period",
    "G": "not valid for Medicare (another code is used)",
    "H": "deleted modifier",
    "I": "not valid for Medicare (another code is used)",
    "J": "anesthesia service (paid by base and time units)",
    "M": "measurement code",
    "N": "non-covered service",
    "P": "bundled or excluded",
    "R": "restricted coverage",
    "T": "injection (paid only if no other PFS service that day)",
    "X": "statutory exclusion",
}
PAYABLE_STATUSES = frozenset("ART")

# Conversion factors by date (LAYOUTS 4.5): (first day, last day, non-QPP CF, QPP CF), read from the project's one
# table, fixtures/codesets/conversion_factors.csv (a blank QPP factor means the same as the non-QPP one).
# A file's own CF (RVU file column CONV FACTOR) is preferred over this table when present.
CONVERSION_FACTORS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "codesets" / "conversion_factors.csv"


@dataclass(frozen=True, slots=True)
class ConversionFactorSource:
    """Where a table CF comes from: the fixture row's certainty and source."""

    start: date
    end: date
    certainty: str
    source: str


def read_conversion_factors(
    path: Path = CONVERSION_FACTORS_FILE,
) -> tuple[tuple[tuple[date, date, Decimal, Decimal], ...], tuple[ConversionFactorSource, ...]]:
    """The CF table and each row's source from the fixture CSV (lines starting with '#' are comments)."""
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if line.strip() and not line.lstrip().startswith("#")]
    table, sources = [], []
    for n, row in enumerate(csv.DictReader(lines), 1):
        try:
            start, end = date.fromisoformat(row["effective_from"]), date.fromisoformat(row["effective_to"])
            cf = Decimal(row["conversion_factor"])
            qpp = Decimal(row["qpp_conversion_factor"]) if (row.get("qpp_conversion_factor") or "").strip() else cf
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"{path.name}: data row {n} is not a conversion factor row ({exc})") from exc
        table.append((start, end, cf, qpp))
        sources.append(ConversionFactorSource(start, end, row.get("certainty", ""), row.get("source", "")))
    return tuple(table), tuple(sources)


CONVERSION_FACTORS, CONVERSION_FACTOR_SOURCES = read_conversion_factors()

# POS codes paid at the PFS facility rate (LAYOUTS 6.1); every other POS uses the non-facility rate.
FACILITY_POS = frozenset(
    {"02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"}
)
ASC_POS = "24"

# OPPS status indicators (Addendum D1, LAYOUTS 5.3) for which a payment rate means separate payment,
# and short texts for those that never carry one.
OPPS_NO_PAYMENT = {
    "B": "not recognised by OPPS",
    "C": "inpatient only",
    "D": "discontinued code",
    "E1": "not covered by Medicare",
    "E2": "not paid: no pricing data",
    "M": "not billable to the MAC",
    "N": "packaged (no separate payment)",
    "Q1": "conditionally packaged (STV)",
    "Q2": "conditionally packaged (T)",
    "Q4": "conditionally packaged lab",
}
ASC_NO_PAYMENT = {
    "N1": "packaged (no separate payment)",
    "L1": "packaged (no separate payment)",
}


RvuLike = RvuInfo | RvuRow  # what ``pfs_amount`` reads: the snapshot's row or the parser's
GpciInput = Sequence[Decimal] | GpciRow | None  # (work, pe, mp), a GPCI row, or None: national (all 1.0)


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (the way fee schedule amounts are published)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---- conversion factors and settings ------------------------------------------------------------


def table_conversion_factor(on: date, *, qpp: bool = False) -> Decimal | None:
    """The CF in force on ``on`` from ``CONVERSION_FACTORS``, or None for a date the table does not cover.

    ``qpp``: the qualifying APM participant CF (different from 2026 on; the same before).
    """
    for start, end, non_qpp_cf, qpp_cf in CONVERSION_FACTORS:
        if start <= on <= end:
            return qpp_cf if qpp else non_qpp_cf
    return None


def conversion_factor_source(on: date) -> ConversionFactorSource | None:
    """The fixture row (certainty, source) behind the table CF in force on ``on``."""
    for entry in CONVERSION_FACTOR_SOURCES:
        if entry.start <= on <= entry.end:
            return entry
    return None


def conversion_factor(on: date, *, qpp: bool = False, file_cf: Decimal | None = None) -> Decimal:
    """The CF to use on ``on``: the loaded RVU file's own CF when given (non-zero), else the table's.

    Pass the CF of the release in force on ``on`` (2024: the January file says 32.7442, the files from
    2024-03-09 say 33.2875) and, from 2026, of the QPP file for qualifying APM participants.
    Raises ``LookupError`` when neither is known, so a caller never prices with a guessed factor.
    """
    if file_cf is not None and file_cf > 0:
        return file_cf
    cf = table_conversion_factor(on, qpp=qpp)
    if cf is None:
        raise LookupError(f"no conversion factor known for {on.isoformat()}: load the PFS file for that year")
    return cf


def uses_facility_rate(pos: str, *, on_asc_list: bool = True) -> bool:
    """Whether the PFS facility rate applies at place of service ``pos`` (LAYOUTS 6.1).

    In an ASC (POS 24) the facility rate applies to procedures on the ASC covered list; a procedure
    not on it is paid at the non-facility rate (pass ``on_asc_list=False``).
    """
    code = (pos or "").strip().zfill(2)
    if code == ASC_POS:
        return on_asc_list
    return code in FACILITY_POS


def setting_for_pos(pos: str, *, on_asc_list: bool = True) -> Setting:
    """``"facility"`` or ``"nonfacility"`` for a place of service."""
    return FACILITY if uses_facility_rate(pos, on_asc_list=on_asc_list) else NONFACILITY


# ---- physician fee schedule -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PfsAmount:
    """A physician fee schedule amount for one code/modifier row in one setting, or why there is none.

    ``amount`` is the participating fee (None when ``status`` says why there is no amount);
    ``nonparticipating`` is 95% of it and ``limiting_charge`` 109.25% of it.
    ``status`` is "" when an amount is given, else one of the module's texts (``CARRIER_PRICED``…).
    ``status_code`` is the file's PFS status; ``note`` explains a non-numeric status in a few words.
    """

    setting: Setting
    status_code: str
    amount: Decimal | None
    nonparticipating: Decimal | None = None
    limiting_charge: Decimal | None = None
    status: str = ""
    note: str = ""

    @property
    def payable(self) -> bool:
        return self.amount is not None

    @property
    def display(self) -> Decimal | str:
        """The amount, or the status text: what a spreadsheet cell or a page shows."""
        return self.amount if self.amount is not None else self.status


def _decimal(value: Decimal | int | float | str) -> Decimal:
    """A Decimal from a GPCI value; floats go through their shortest text (0.869, not 0.86899999…)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _gpci_triple(gpci: GpciInput) -> tuple[Decimal, Decimal, Decimal]:
    if gpci is None:
        return Decimal(1), Decimal(1), Decimal(1)
    if hasattr(gpci, "work"):
        return _decimal(gpci.work), _decimal(gpci.pe), _decimal(gpci.mp)
    work, pe, mp = gpci
    return _decimal(work), _decimal(pe), _decimal(mp)


def _setting(setting: str) -> Setting:
    value = setting.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if value == FACILITY:
        return FACILITY
    if value == NONFACILITY:
        return NONFACILITY
    raise ValueError(f"setting must be 'facility' or 'nonfacility', not {setting!r}")


def pfs_amount(rvu: RvuLike | None, gpci: GpciInput, cf: Decimal, setting: str) -> PfsAmount:
    """The PFS amount for one RVU row (global, -26 or -TC) in ``setting``, national when ``gpci`` is None.

    ``gpci``: ``(work, pe, mp)`` or a GPCI row; None means national (all 1.0).
    ``cf``: the conversion factor (see ``conversion_factor``).
    Order of the answers: a code missing from the file; carrier priced (status C, or R without RVUs
    for the setting); a status not paid under the PFS; the NA indicator for the setting; no RVUs for
    the setting (A/T: never seen in the 2025 file, but never priced as $0); else the amount.
    """
    where = _setting(setting)
    if rvu is None:
        return PfsAmount(where, "", None, status=NOT_IN_FEE_SCHEDULE, note="the loaded RVU file does not list it")
    code = (rvu.status or "").strip().upper()
    meaning = PFS_STATUS.get(code, "unknown status")
    pe = rvu.pe_facility_rvu if where == FACILITY else rvu.pe_nonfacility_rvu
    has_rvus = any(value for value in (rvu.work_rvu, pe, rvu.mp_rvu) if value is not None)
    if code == "C" or (code == "R" and not has_rvus):
        return PfsAmount(where, code, None, status=CARRIER_PRICED, note=f"status {code}: {meaning}")
    if code not in PAYABLE_STATUSES:
        return PfsAmount(where, code, None, status=NOT_PAYABLE, note=f"status {code or '?'}: {meaning}")
    na = rvu.pe_facility_na if where == FACILITY else rvu.pe_nonfacility_na
    if na:
        label = "facility" if where == FACILITY else "non-facility"
        return PfsAmount(where, code, None, status=NA_IN_SETTING, note=f"no {label} PE RVUs (NA indicator)")
    if not has_rvus:
        return PfsAmount(where, code, None, status=NO_RVUS, note=f"status {code}: {meaning}, but no RVUs")
    work_g, pe_g, mp_g = _gpci_triple(gpci)
    total = ((rvu.work_rvu or Decimal(0)) * work_g + (pe or Decimal(0)) * pe_g + (rvu.mp_rvu or Decimal(0)) * mp_g) * cf
    fee = cents(total)
    note = f"status {code}: {meaning}" if code != "A" else ""
    return PfsAmount(
        where,
        code,
        fee,
        nonparticipating=cents(fee * NONPAR_RATE),
        limiting_charge=cents(fee * LIMITING_CHARGE_RATE),
        note=note,
    )


def pfs_amounts(rvu: RvuLike | None, gpci: GpciInput, cf: Decimal) -> tuple[PfsAmount, PfsAmount]:
    """Both settings at once: ``(non-facility, facility)``."""
    return pfs_amount(rvu, gpci, cf, NONFACILITY), pfs_amount(rvu, gpci, cf, FACILITY)


# ---- OPPS and ASC ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FacilityRate:
    """A national unadjusted OPPS or ASC rate: the indicator, the APC (OPPS only), and an amount or a text."""

    indicator: str
    apc: str
    amount: Decimal | None
    status: str = ""
    note: str = ""

    @property
    def display(self) -> Decimal | str:
        return self.amount if self.amount is not None else self.status


def opps_rate(row: OppsRow | None, *, source_loaded: bool = False) -> FacilityRate:
    """The hospital outpatient national rate from an Addendum B row.

    ``row`` None: "not loaded" (no Addendum B for the year), or, with ``source_loaded=True``,
    "not in Addendum B" (the loaded file does not list the code).
    """
    if row is None:
        return FacilityRate("", "", None, NOT_LOADED if not source_loaded else "not in Addendum B")
    si = (row.status_indicator or "").strip().upper()
    apc = (row.apc or "").strip()
    if si in OPPS_NO_PAYMENT:
        return FacilityRate(si, apc, None, OPPS_NO_PAYMENT[si], note=f"status indicator {si}")
    if row.payment_rate is None:
        return FacilityRate(si, apc, None, NO_NATIONAL_RATE, note=f"status indicator {si or '?'}")
    return FacilityRate(si, apc, cents(row.payment_rate))


def asc_rate(row: AscRow | None, *, source_loaded: bool = False) -> FacilityRate:
    """The ASC national rate from an Addendum AA row.

    ``row`` None: "not loaded", or with ``source_loaded=True`` "not on the ASC list" (no ASC payment).
    """
    if row is None:
        return FacilityRate("", "", None, NOT_LOADED if not source_loaded else "not on the ASC list")
    pi = (row.payment_indicator or "").strip().upper()
    if pi in ASC_NO_PAYMENT:
        return FacilityRate(pi, "", None, ASC_NO_PAYMENT[pi], note=f"payment indicator {pi}")
    if row.payment_rate is None:
        return FacilityRate(pi, "", None, NO_NATIONAL_RATE, note=f"payment indicator {pi or '?'}")
    return FacilityRate(pi, "", cents(row.payment_rate))
