"""The claim as plain data, and ``parse_claim``: the contract's claim JSON checked and normalised.

``parse_claim`` never crashes on odd input: anything that is not a claim raises ``ClaimInputError`` whose
``errors`` maps a JSON path (``"lines[1].modifiers"``, ``"diagnoses[12]"``, ``"date_of_service"``; list indexes
count from 0 as in JSON) to a plain message. Input that is well formed but wrong for billing (an unknown code,
a bad check digit, a pointer past the diagnoses, a missing NPI) is not an input error: the checker reports it
as a finding.

Codes are normalised: procedure and diagnosis codes upper case without dots or spaces (``m48.062`` ->
``M48062``), modifiers upper case and stripped, the place of service zero-padded to two digits.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from codes.formats.base import normalise_code
from config.unstorable import NUL_OR_SURROGATE, bad_text

PROFESSIONAL = "professional"
INSTITUTIONAL = "institutional"
CLAIM_TYPES = (PROFESSIONAL, INSTITUTIONAL)

# The claim's own fields, in the order of the contract's claim format, in the groups the admin form shows them
# (the admin form, the API and the batch-upload columns all read these).
CLAIM_HEADER_FIELDS = (
    "reference",
    "payer",
    "claim_type",
    "place_of_service",
    "date_of_service",
    "submitted_on",
    "rendering_npi",
)
CLAIM_DIAGNOSIS_FIELDS = ("diagnoses", "clinical_trial_number", "prior_authorization_number", "condition_codes")
CLAIM_FIELDS = (*CLAIM_HEADER_FIELDS, *CLAIM_DIAGNOSIS_FIELDS, "location")

MAX_LINES = 50
MAX_DIAGNOSES = 12
MAX_MODIFIERS = 4
MAX_POINTERS = 4
MAX_CONDITION_CODES = 24  # 837I allows 24 condition codes
MAX_CODE_LENGTH = 20  # generous: real codes are 2 to 8 characters; longer text is not a code
MAX_TEXT_LENGTH = 50
# Dates a claim may carry: none before 2000 (ICD-10-CM began in 2015, our code sets later: older is a typo), none
# more than FUTURE_YEARS after today (a draft may be made ahead of a planned service, not years ahead). Keeps
# 9999-12-31 out, whose year the admin's date filters cannot step past.
EARLIEST_DATE = date(2000, 1, 1)
FUTURE_YEARS = 2


def latest_date(today: date | None = None) -> date:
    """The latest date a claim may carry: FUTURE_YEARS after ``today`` (28 February for 29 February)."""
    today = today or date.today()
    return date(today.year + FUTURE_YEARS, today.month, min(today.day, 28 if today.month == 2 else today.day))


@functools.lru_cache(maxsize=64)
def _latest_date(today: date) -> date:
    """``latest_date`` for a given day, worked out once a day (every date of every claim asks it)."""
    return latest_date(today)


def date_out_of_range(value: date, today: date | None = None) -> str | None:
    """Why ``value`` is no date for a claim (too early, too far ahead), or None."""
    latest = _latest_date(today or date.today())
    if EARLIEST_DATE <= value <= latest:
        return None
    return (
        f"{value.isoformat()} is out of range: dates from {EARLIEST_DATE.isoformat()} to {latest.isoformat()} "
        f"({FUTURE_YEARS} years from today)."
    )


CENT = Decimal("0.01")
MAX_CHARGE = Decimal("100000000")  # a sanity limit: no service line is charged $100 million

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_POS = re.compile(r"\d{1,2}")
_CHARGE = re.compile(r"\d{1,12}(\.\d{1,2})?")
_CHARGE_FORMAT = (
    'The charge must be an amount in dollars and cents: digits with up to two decimals, such as "9500.00" '
    '(no "$", thousands separators or exponents).'
)


class ClaimInputError(ValueError):
    """The input is not a claim. ``errors`` maps a JSON path to a plain message, e.g.
    ``{"lines[1].units": "Units must be a whole number of 1 or more."}``."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{path or 'claim'}: {message}" for path, message in self.errors.items()))


@dataclass(frozen=True, slots=True)
class ClaimLine:
    """One service line. ``number`` is 1-based; ``date_of_service`` is the line's own date, if it has one."""

    number: int
    code: str  # normalised: upper case, no dots or spaces
    units: int = 1
    modifiers: tuple[str, ...] = ()
    diagnosis_pointers: tuple[int, ...] = ()
    charge: Decimal | None = None
    date_of_service: date | None = None
    code_as_entered: str = ""


@dataclass(frozen=True, slots=True)
class Claim:
    """A draft claim. ``diagnoses`` are normalised (no dots); ``diagnoses_as_entered`` keeps what was typed.

    ``submitted_on`` None means "not given": the checker counts the filing limit to the day it checks.
    """

    payer: str
    place_of_service: str
    date_of_service: date
    lines: tuple[ClaimLine, ...]
    diagnoses: tuple[str, ...] = ()
    claim_type: str = PROFESSIONAL
    submitted_on: date | None = None
    rendering_npi: str | None = None
    clinical_trial_number: str | None = None
    prior_authorization_number: str | None = None
    condition_codes: tuple[str, ...] = ()
    diagnoses_as_entered: tuple[str, ...] = ()
    location: str | None = None  # key of one of the practice's locations; None: the practice's main location
    patient_account: str | None = None  # the practice's own account number: hashed before it is stored or compared

    def line_date(self, line: ClaimLine) -> date:
        """The date a line's service was given: its own date, else the claim's."""
        return line.date_of_service or self.date_of_service

    def service_dates(self) -> tuple[date, ...]:
        """Every date on the claim (the claim's and the lines' own), earliest first."""
        own = (line.date_of_service for line in self.lines if line.date_of_service)
        return tuple(sorted({self.date_of_service, *own}))


def parse_claim(data: Mapping[str, Any], today: date | None = None, *, text_checked: bool = False) -> Claim:
    """Check the contract's claim JSON (already decoded) and return a ``Claim``.

    ``today`` is the default for ``submitted_on`` when the claim has none; without it ``submitted_on`` stays
    None and the checker uses its own ``today``. Raises ``ClaimInputError`` listing every field in error.
    ``text_checked``: the caller has already refused text that cannot be stored (the API's JSON parser).
    """
    errors: dict[str, str] = {}
    if type(data) is not dict and not isinstance(data, Mapping):
        raise ClaimInputError({"": "A claim must be a JSON object."})
    unstorable = None if text_checked else bad_text(dict(data))  # NUL or a lone surrogate: named, never stored
    if unstorable is not None:
        raise ClaimInputError({unstorable: NUL_OR_SURROGATE})

    payer = _text(data, "payer", errors, required=True)
    payer = payer.lower() if payer else payer  # payer keys are case-insensitive: Medicare -> medicare
    place = _place_of_service(data, errors)
    now = date.today()  # the dates' range ends FUTURE_YEARS after it (asked once a claim, not once a date)
    date_of_service = _date(data, "date_of_service", errors, required=True, now=now)
    claim_type = _claim_type(data, errors)
    submitted_on = _date(data, "submitted_on", errors, now=now) or today
    npi = _text(data, "rendering_npi", errors)
    trial = _text(data, "clinical_trial_number", errors)
    prior_auth = _text(data, "prior_authorization_number", errors)
    normalised: list[str] = []
    entered = _code_list(data, "diagnoses", MAX_DIAGNOSES, "diagnoses", errors, normals=normalised)
    condition_codes = _code_list(data, "condition_codes", MAX_CONDITION_CODES, "condition codes", errors)
    lines = _lines(data, errors, now)
    location = _location(data, errors)
    patient_account = _patient_account(data, errors)

    if errors:
        raise ClaimInputError(errors)
    return Claim(
        payer=payer,
        place_of_service=place,
        date_of_service=date_of_service,
        lines=lines,
        diagnoses=tuple(normalised),
        claim_type=claim_type,
        submitted_on=submitted_on,
        rendering_npi=npi,
        clinical_trial_number=trial,
        prior_authorization_number=prior_auth,
        condition_codes=tuple(code.strip().upper() for code in condition_codes),
        diagnoses_as_entered=tuple(code.strip() for code in entered),
        location=location,
        patient_account=patient_account,
    )


# ---- fields ----------------------------------------------------------------------------------------


def _text(data: Mapping, key: str, errors: dict, *, path: str | None = None, required: bool = False) -> str | None:
    """An optional (or required) string; blank counts as missing."""
    path = path or key
    value = data.get(key)
    if value is None:
        if required:
            errors[path] = "This field is required."
        return None
    if not isinstance(value, str):
        errors[path] = "Must be text (a JSON string)."
        return None
    value = value.strip()
    if not value:
        if required:
            errors[path] = "This field is required."
        return None
    if len(value) > MAX_TEXT_LENGTH:
        errors[path] = f"Too long: at most {MAX_TEXT_LENGTH} characters."
        return None
    return value


def _date(
    data: Mapping,
    key: str,
    errors: dict,
    *,
    path: str | None = None,
    required: bool = False,
    at: str = "",
    now: date | None = None,
) -> date | None:
    """``at``: the path of the object holding ``key`` (``lines[0]``), when ``path`` is not given; ``now``: today
    (None: asked here)."""
    value = data.get(key)
    if value is None:
        if required:
            errors[path or key] = "This field is required (a date as YYYY-MM-DD)."
        return None
    text = value.strip() if isinstance(value, str) else None
    if text is not None and not text:
        if required:
            errors[path or key] = "This field is required (a date as YYYY-MM-DD)."
        return None
    if text is None or not _ISO_DATE.fullmatch(text):
        errors[path or (f"{at}.{key}" if at else key)] = "Must be a date written YYYY-MM-DD."
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        errors[path or (f"{at}.{key}" if at else key)] = f"{text} is not a real date."
        return None
    if (out_of_range := date_out_of_range(parsed, now)) is not None:
        errors[path or (f"{at}.{key}" if at else key)] = out_of_range
        return None
    return parsed


def _place_of_service(data: Mapping, errors: dict) -> str | None:
    value = data.get("place_of_service")
    if value is None or (isinstance(value, str) and not value.strip()):
        errors["place_of_service"] = "This field is required (the two-digit CMS place-of-service code)."
        return None
    if not isinstance(value, str) or not _POS.fullmatch(value.strip()):
        errors["place_of_service"] = 'Must be the CMS place-of-service code: one or two digits, as text (e.g. "24").'
        return None
    return value.strip().zfill(2)


_LOCATION_KEY = re.compile(r"[-a-zA-Z0-9_]+")


def _location(data: Mapping, errors: dict) -> str | None:
    """``"location"``: a location key (letters, digits, hyphens, underscores); the practice decides if it exists."""
    value = _text(data, "location", errors)
    if value is not None and not _LOCATION_KEY.fullmatch(value):
        errors["location"] = 'Must be the key of one of the practice\'s locations (e.g. "tx-asc").'
        return None
    return value.lower() if value else None


def _patient_account(data: Mapping, errors: dict) -> str | None:
    """``"patient": {"account": "..."}``: the practice's own patient account number. Never echoed in errors."""
    value = data.get("patient")
    if value is None:
        return None
    if not isinstance(value, Mapping):
        errors["patient"] = 'Must be an object: {"account": "the practice\'s patient account number"}.'
        return None
    unknown = sorted(str(k) for k in value if k != "account")
    if unknown:
        errors["patient"] = "Only the practice's account number is accepted here (no names or other identifiers)."
        return None
    return _text(value, "account", errors, path="patient.account")


def _claim_type(data: Mapping, errors: dict) -> str:
    value = data.get("claim_type")
    if value is None:
        return PROFESSIONAL
    if not isinstance(value, str) or value.strip().lower() not in CLAIM_TYPES:
        errors["claim_type"] = 'Must be "professional" or "institutional".'
        return PROFESSIONAL
    return value.strip().lower()


def _list(data: Mapping, key: str, path: str, errors: dict, *, limit: int, not_a_list: str, too_many: str) -> list:
    """The list at ``key`` (missing or null: empty), else empty with the error at ``path``: ``not_a_list`` when it is
    not a JSON list, ``too_many`` (``{count}``: its length) when it has more than ``limit`` items."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        errors[path] = not_a_list
        return []
    if len(value) > limit:
        errors[path] = too_many.format(count=len(value))
        return []
    return value


def _code_list(
    data: Mapping,
    key: str,
    limit: int,
    what: str,
    errors: dict,
    *,
    path: str | None = None,
    normals: list[str] | None = None,
) -> list[str]:
    """A list of up to ``limit`` non-blank code strings (missing or null: empty). ``normals``, when given, gets
    each one normalised (``normalise_code``), as it was for the check."""
    path = path or key
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > limit:  # the messages are only made for an error
        _list(
            data,
            key,
            path,
            errors,
            limit=limit,
            not_a_list=f"Must be a list of {what}.",
            too_many=f"At most {limit} {what} (this has {{count}}).",
        )
        return []
    out = []
    for i, item in enumerate(value):
        normal = normalise_code(item) if isinstance(item, str) else ""
        if not normal:
            errors[f"{path}[{i}]"] = "Must be a code written as text."
        elif len(normal) > MAX_CODE_LENGTH:
            errors[f"{path}[{i}]"] = "This is not a code: too long."
        else:
            out.append(item)
            if normals is not None:
                normals.append(normal)
    return out


def _lines(data: Mapping, errors: dict, now: date | None = None) -> tuple[ClaimLine, ...]:
    value = data.get("lines")
    if value is None:
        errors["lines"] = "This field is required: a claim needs at least one service line."
        return ()
    if not isinstance(value, list):
        errors["lines"] = "Must be a list of service lines."
        return ()
    if not value:
        errors["lines"] = "A claim needs at least one service line."
        return ()
    if len(value) > MAX_LINES:
        errors["lines"] = f"At most {MAX_LINES} service lines on one claim (this has {len(value)})."
        return ()
    lines = []
    for i, item in enumerate(value):
        line = _line(item, i, errors, now)
        if line is not None:
            lines.append(line)
    return tuple(lines)


def _line(item: Any, index: int, errors: dict, now: date | None = None) -> ClaimLine | None:
    at = f"lines[{index}]"
    if type(item) is not dict and not isinstance(item, Mapping):  # a dict first: the ABC check is slower
        errors[at] = "A service line must be a JSON object."
        return None
    before = len(errors)

    code = item.get("code")
    normal = normalise_code(code) if isinstance(code, str) else ""
    if not normal:
        errors[f"{at}.code"] = 'The procedure code is required, as text (e.g. "0275T").'
    elif len(normal) > MAX_CODE_LENGTH:
        errors[f"{at}.code"] = "This is not a procedure code: too long."

    units = item.get("units", 1)
    if units is None:
        units = 1
    if isinstance(units, bool) or not isinstance(units, int) or units < 1:
        errors[f"{at}.units"] = "Units must be a whole number of 1 or more."

    modifiers = _modifiers(item, at, errors)
    pointers = _pointers(item, at, errors)
    charge = _charge(item, at, errors)
    own_date = _date(item, "date_of_service", errors, at=at, now=now)

    if len(errors) > before:
        return None
    return ClaimLine(
        number=index + 1,
        code=normal,
        units=units,
        modifiers=modifiers,
        diagnosis_pointers=pointers,
        charge=charge,
        date_of_service=own_date,
        code_as_entered=code.strip(),
    )


def _modifiers(item: Mapping, at: str, errors: dict) -> tuple[str, ...]:
    value = item.get("modifiers")
    if value is None:
        return ()
    path = f"{at}.modifiers"
    if not isinstance(value, list) or len(value) > MAX_MODIFIERS:
        _list(
            item,
            "modifiers",
            path,
            errors,
            limit=MAX_MODIFIERS,
            not_a_list='Must be a list of modifiers (e.g. ["Q0"]).',
            too_many=f"At most {MAX_MODIFIERS} modifiers on a line (this has {{count}}).",
        )
        return ()
    out = []
    for i, modifier in enumerate(value):
        text = modifier.strip() if isinstance(modifier, str) else ""
        if not text:
            errors[f"{path}[{i}]"] = 'A modifier is a two-character code written as text (e.g. "Q0").'
        elif len(text) > MAX_CODE_LENGTH:
            errors[f"{path}[{i}]"] = "This is not a modifier: too long."
        else:
            out.append(text.upper())
    return tuple(out)


def _pointers(item: Mapping, at: str, errors: dict) -> tuple[int, ...]:
    value = item.get("diagnosis_pointers")
    if value is None:
        return ()
    path = f"{at}.diagnosis_pointers"
    if not isinstance(value, list) or len(value) > MAX_POINTERS:
        _list(
            item,
            "diagnosis_pointers",
            path,
            errors,
            limit=MAX_POINTERS,
            not_a_list="Must be a list of diagnosis numbers (e.g. [1, 2]).",
            too_many=f"At most {MAX_POINTERS} diagnosis pointers on a line (this has {{count}}).",
        )
        return ()
    out = []
    for i, pointer in enumerate(value):
        if isinstance(pointer, bool) or not isinstance(pointer, int):
            errors[f"{path}[{i}]"] = "A diagnosis pointer is the number of a diagnosis on the claim (1 to 12)."
        else:
            out.append(pointer)
    return tuple(out)


def _charge(item: Mapping, at: str, errors: dict) -> Decimal | None:
    """A charge: a plain decimal with up to two places (``"9500.00"``, ``"9500"``, 9500). ``"1e3"``,
    ``"$9,500.00"``, ``"9500.005"`` and negative amounts are refused, naming the field (issue 13 point 8): a
    charge is written as the 837P SV102 and CMS-1500 item 24F write it, digits and up to two decimals."""
    value = item.get("charge")
    if value is None:
        return None
    if type(value) is str and _CHARGE.fullmatch(text := value.strip()):  # the usual case: "9500.00"
        amount = Decimal(text)
        if amount < MAX_CHARGE:
            return amount
    path = f"{at}.charge"
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        errors[path] = _CHARGE_FORMAT
        return None
    if isinstance(value, float) and not math.isfinite(value):
        errors[path] = _CHARGE_FORMAT
        return None
    text = (repr(value) if isinstance(value, float) else str(value)).strip()
    if text.startswith("-") and _CHARGE.fullmatch(text[1:]):
        errors[path] = "The charge cannot be negative."
        return None
    if not _CHARGE.fullmatch(text):
        errors[path] = _CHARGE_FORMAT
        return None
    amount = Decimal(text)
    if amount >= MAX_CHARGE:
        errors[path] = "The charge is too large for a claim line."
        return None
    return amount
