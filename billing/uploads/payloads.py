"""A batch upload's claim as the contract's claim (pure): ``claim_payload`` reads a claim's rows into the claim
object the checker takes. A claim whose rows cannot be read as a claim (rows that disagree, a unit that is not a
number) is not an error of the file: ``claim_payload`` and ``input_errors`` say which row and column, and the job
records it as that claim's ``CLAIM_INPUT_INVALID`` finding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from billing.uploads.reading import CLAIM_COLUMNS, UploadClaim
from codes.formats.base import normalise_code

POINTER_LETTERS = "ABCDEFGHIJKL"  # CMS-1500 box 24E
_LIST_SPLIT = re.compile(r"[;,\s]+")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_START = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_WHOLE = re.compile(r"\d+(?:\.0*)?")


def split_list(text: str) -> list[str]:
    if not text:
        return []
    if text.isalnum():  # one item, nothing to split or strip (a code, a modifier, a pointer)
        return [text]
    return [item for item in _LIST_SPLIT.split(text.strip()) if item]


def date_text(text: str) -> str:
    """YYYY-MM-DD from what a person or a spreadsheet writes (ISO, ISO with a time, MM/DD/YYYY); anything
    else is returned as it is, for the claim check to say it is not a date."""
    text = text.strip()
    if match := _ISO_START.fullmatch(text):
        return match.group(1)
    if match := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def _units(text: str) -> int | str | None:
    if not text:
        return None
    if _WHOLE.fullmatch(text):
        return int(text.split(".")[0])
    return text  # the check says "Units must be a whole number of 1 or more."


def _pointer(text: str) -> int | str:
    if text.isdigit():
        return int(text)
    if len(text) == 1 and text.upper() in POINTER_LETTERS:
        return POINTER_LETTERS.index(text.upper()) + 1
    return text


def _charge(text: str) -> str | None:
    """The cell as it is written: the claim check applies the API's rule (a decimal with up to two places), so
    "6,500.00" or "$95" get a finding naming row and column instead of being read as something else."""
    return text.strip() or None


_SAME = {
    "payer": lambda v: v.lower(),
    "claim_type": lambda v: v.lower(),
    "place_of_service": lambda v: v.zfill(2),
    "date_of_service": date_text,
    "submitted_on": date_text,
    "rendering_npi": str.upper,
    "diagnoses": lambda v: tuple(normalise_code(x) for x in split_list(v)),
    "clinical_trial_number": str.upper,
    "prior_authorization_number": str.upper,
    "condition_codes": lambda v: tuple(x.upper() for x in split_list(v)),
    "location": str.lower,
    "patient_account": lambda v: v.strip().upper(),
}


def claim_payload(claim: UploadClaim) -> tuple[dict, dict[str, str]]:
    """The contract's claim object for a claim's rows, and the errors that stop it being one: a missing
    ``claim_ref``, or rows that disagree on a claim-level column ({column: "row 7 has ... but row 5 has ..."})."""
    errors: dict[str, str] = {}
    if not claim.ref:
        errors["claim_ref"] = (
            f"Row {claim.first_row} has no claim_ref: every row needs the claim it belongs to, so its lines can be "
            "put together."
        )
    chosen: dict[str, tuple[str, int]] = {}
    if claim.rows:  # the first row's texts are taken as they are; the later rows are compared with them
        values, number = claim.rows[0].values, claim.rows[0].number
        chosen = {column: (text, number) for column in CLAIM_COLUMNS if (text := values[column])}
    for row in claim.rows[1:]:
        for column in CLAIM_COLUMNS:
            text = row.values[column]
            if not text:
                continue
            first = chosen.get(column)
            if first is None:
                chosen[column] = (text, row.number)
            elif text != first[0] and column not in errors:  # the same text is the same value: nothing to compare
                first_text, first_row = first
                same = _SAME[column]
                if same(first_text) != same(text):
                    shown = (  # a patient's account number is never echoed
                        ("another account", "a different one")
                        if column == "patient_account"
                        else (repr(text), repr(first_text))
                    )
                    errors[column] = (
                        f"Row {row.number} has {shown[0]} but row {first_row} has {shown[1]}: every row of claim "
                        f"{claim.ref} must give the same {column} (or leave it blank)."
                    )

    texts = {column: text for column, (text, _) in chosen.items()}

    def value(column: str) -> str:
        return texts.get(column, "")

    payload: dict[str, Any] = {
        "payer": value("payer") or None,
        "place_of_service": value("place_of_service") or None,
        "date_of_service": date_text(value("date_of_service")) or None,
        "submitted_on": date_text(value("submitted_on")) or None,
        "rendering_npi": value("rendering_npi") or None,
        "diagnoses": split_list(value("diagnoses")),
        "clinical_trial_number": value("clinical_trial_number") or None,
        "prior_authorization_number": value("prior_authorization_number") or None,
        "condition_codes": split_list(value("condition_codes")),
        "lines": [],
    }
    if value("claim_type"):
        payload["claim_type"] = value("claim_type").lower()
    if value("location"):
        payload["location"] = value("location")
    if value("patient_account"):
        payload["patient"] = {"account": value("patient_account")}
    for row in claim.rows:
        v = row.values
        line: dict[str, Any] = {
            "code": v["code"],
            "modifiers": [m.upper() for m in split_list(v["modifiers"])],
            "diagnosis_pointers": [_pointer(p) for p in split_list(v["diagnosis_pointers"])],
            "charge": _charge(v["charge"]),
        }
        units = _units(v["units"])
        if units is not None:
            line["units"] = units
        if v["line_date_of_service"]:
            line["date_of_service"] = date_text(v["line_date_of_service"])
        payload["lines"].append(line)
    return payload, errors


def _row_of(claim: UploadClaim, column: str) -> str:
    """ "row 7, " for the first row of the claim that fills a claim-level column (else its first row)."""
    for row in claim.rows:
        if row.values.get(column):
            return f"row {row.number}, "
    return f"row {claim.first_row}, " if claim.rows else ""


_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.([a-z_]+))?(?:\[(\d+)\])?")
_LIST_PATH = re.compile(r"([a-z_]+)\[(\d+)\]")


def input_errors(errors: Mapping[str, str], claim: UploadClaim) -> list[tuple[str, str, int | None]]:
    """The claim check's input errors (JSON paths, ``lines[1].units``) as (field, message, line) in the words
    of the file: ``("row 12, units", "Units must be ...", 2)``; ``line`` is the claim's 1-based line."""
    out: dict[str, tuple[str, int | None]] = {}
    for path, message in errors.items():
        line = None
        if match := _LINE_PATH.fullmatch(path):
            index, column, item = int(match.group(1)), match.group(2), match.group(3)
            number = claim.rows[index].number if index < len(claim.rows) else "?"
            line = index + 1
            column = "line_date_of_service" if column == "date_of_service" else column
            label = f"row {number}" + (f", {column}" if column else "")
            if item is not None:
                label += f" (item {int(item) + 1})"
        elif match := _LIST_PATH.fullmatch(path):
            label = f"{_row_of(claim, match.group(1))}{match.group(1)} (item {int(match.group(2)) + 1})"
        elif path.startswith("patient"):
            label = f"{_row_of(claim, 'patient_account')}patient_account"  # the claim's "patient": {"account"}
        elif path in CLAIM_COLUMNS:
            label = f"{_row_of(claim, path)}{path}"
        else:
            label = path or "claim"
        if label in out:
            message = f"{out[label][0]} {message}"
        out[label] = (message, line)
    return [(label, message, line) for label, (message, line) in out.items()]
