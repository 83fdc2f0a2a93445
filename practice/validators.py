"""Format checks for the identifiers a practice and its payer rules carry. Pure functions, no ORM.

Each ``validate_*`` raises ``django.core.exceptions.ValidationError`` with a message billing staff can act on;
``normalise_*`` turns what people type ("m48.062", " q0 ") into the stored form ("M48062", "Q0").
Whether a well-formed code exists in the loaded code sets is a separate question (``practice.codecheck``).
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from codes.formats.icd10 import icd10cm_display

NPI_RE = re.compile(r"^\d{10}$")
NCT_RE = re.compile(r"^NCT\d{8}$")
# CPT (four digits and a digit or letter: 99213, 0275T, 2000F, 0001U) or HCPCS Level II (a letter and four digits).
PROCEDURE_RE = re.compile(r"^(\d{4}[0-9A-Z]|[A-Z]\d{4})$")
MODIFIER_RE = re.compile(r"^[0-9A-Z]{2}$")
# ICD-10-CM without the dot: a letter, a digit, a digit or letter, then up to four more characters.
DIAGNOSIS_RE = re.compile(r"^[A-Z]\d[0-9A-Z][0-9A-Z]{0,4}$")
POS_RE = re.compile(r"^\d{2}$")
TAXONOMY_RE = re.compile(r"^[0-9A-Z]{9}X$")  # NUCC provider taxonomy: ten characters ending in X
TAX_ID_RE = re.compile(r"^\d{2}-?\d{7}$")  # EIN 12-3456789 (or nine digits)
MAC_RE = re.compile(r"^\d{5}$")  # Medicare contractor number as in the GPCI/locality files: 10112
LOCALITY_RE = re.compile(r"^\d{2}$")  # locality number within the contractor: 00
STATE_RE = re.compile(r"^[A-Z]{2}$")


def npi_check_digit(first_nine: str) -> int:
    """The NPI check digit: Luhn over the card-issuer prefix 80840 followed by the first nine digits."""
    total = 0
    # Walking right to left over "80840" + nine digits, the check digit's position is 0, so the rightmost of
    # these digits (position 1) is doubled, then every other one.
    for i, ch in enumerate(reversed("80840" + first_nine)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def npi_is_valid(value: str) -> bool:
    value = (value or "").strip()
    return bool(NPI_RE.match(value)) and npi_check_digit(value[:9]) == int(value[9])


def validate_npi(value: str) -> None:
    value = (value or "").strip()
    if not NPI_RE.match(value):
        raise ValidationError("An NPI is exactly 10 digits.", code="npi_format")
    expected = npi_check_digit(value[:9])
    if expected != int(value[9]):
        raise ValidationError(
            f"NPI {value} fails the check digit (expected last digit {expected}): check it for a typing error.",
            code="npi_check_digit",
        )


def validate_taxonomy(value: str) -> None:
    if value and not TAXONOMY_RE.match(value):
        raise ValidationError(
            "A provider taxonomy code has ten letters or digits and ends in X (e.g. 208VP0014X).", code="taxonomy"
        )


def validate_tax_id(value: str) -> None:
    if value and not TAX_ID_RE.match(value):
        raise ValidationError("A tax id (EIN) is nine digits, e.g. 12-3456789.", code="tax_id")


validate_mac = RegexValidator(MAC_RE, "A Medicare contractor number is five digits, e.g. 10112.", "mac")
validate_locality = RegexValidator(LOCALITY_RE, "A locality number is two digits, e.g. 00.", "locality")
validate_state = RegexValidator(STATE_RE, "A state is two capital letters, e.g. AL.", "state")


def dotted(code: str) -> str:
    """A stored diagnosis code as people write it: M48062 -> M48.062 (a trailing * stays)."""
    return code if len(code.rstrip("*")) <= 3 else icd10cm_display(code)


def normalise(value: str) -> str:
    """Upper case, no dots or spaces (the stored form of every code)."""
    return re.sub(r"[.\s]", "", value or "").upper()


def normalise_nct(value: str) -> str:
    return re.sub(r"\s", "", value or "").upper()


def procedure_code_error(code: str) -> str | None:
    if not PROCEDURE_RE.match(code):
        return (
            f"“{code}” is not a procedure code: CPT codes are five characters (0275T, 77003), "
            "HCPCS codes a letter and four digits (G0276)."
        )
    return None


def modifier_error(code: str) -> str | None:
    if not MODIFIER_RE.match(code):
        return f"“{code}” is not a modifier: modifiers are two letters or digits (Q0, GA, 59)."
    return None


def diagnosis_error(code: str) -> str | None:
    """A diagnosis code without the dot; a trailing ``*`` makes it a prefix (any code starting with it)."""
    stem = code[:-1] if code.endswith("*") else code
    if not DIAGNOSIS_RE.match(stem):
        return f"“{code}” is not an ICD-10-CM code (a letter, a digit, then up to five letters or digits: M48.062)."
    return None


def place_of_service_error(code: str) -> str | None:
    if not POS_RE.match(code):
        return f"“{code}” is not a place-of-service code: they are two digits (22, 24)."
    return None


def nct_error(value: str) -> str | None:
    if not NCT_RE.match(value):
        return f"“{value}” is not a ClinicalTrials.gov number: NCT followed by 8 digits (NCT03072927)."
    return None


def validate_place_of_service(value: str) -> None:
    message = place_of_service_error(value or "")
    if message:
        raise ValidationError(message, code="pos")
