"""837P (005010X222A1) claims mapped to the contract's claim format, streamed (pure: segments in, claims out).

``read_837(segments, payer_keys)`` walks the segments of one or many interchanges with a small state machine
(billing provider HL 20 -> subscriber HL 22 -> patient HL 23 -> CLM -> LX) and yields one ``ClaimRecord`` per
CLM as soon as the claim's last segment has gone by: a 10,000-claim file is never held whole. Each record
carries the claim as the checker reads it (``payload``), what the export needs again that the claim format
has no place for (``x12``: frequency, payer claim number, subscriber and patient, line control numbers,
service facility) and its ``errors``: a claim with an error is refused on its own, the others go on.

The mapping (docs/x12.md):
  CLM01 -> reference; CLM05-1 -> place_of_service; CLM05-3 -> frequency (1, 7, 8); BHT04 -> submitted_on;
  HI ABK/ABF -> diagnoses (as sent, without dots); HI BG -> condition_codes; REF*P4 -> clinical_trial_number
  (NCT + the 8 digits); REF*G1 -> prior_authorization_number; REF*F8 -> payer claim number;
  NM1*82 (2310B) -> rendering_npi, else the billing provider's NPI (2010AA) when no rendering provider is
  sent (the guide's rule: 2310B only when it differs); 2010BB NM1*PR NM109 -> the practice's payer by payer
  id; SV101 -> code and modifiers; SV102 -> charge; SV104 -> units; SV107 -> diagnosis_pointers;
  DTP*472 -> the line's date (the claim's date of service is the earliest); REF*6R -> line control number;
  REF*EA (2300, medical record number) -> patient.account; the 2310C (else 2010AA) N4 ZIP and name ->
  location (``claim_location``, given the practice's locations).

Errors say ``segment N (ID), loop L, element E: what``. Patient names and member ids only go to ``x12`` (kept
with the claim for the export), never into an error message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from billing.x12.segments import Delimiters, Segment

IMPLEMENTATION_837P = "005010X222A1"
FREQUENCIES = {"1": "original", "7": "replacement", "8": "void"}
_NCT_DIGITS = re.compile(r"(?:NCT)?(\d{8})", re.IGNORECASE)
_POS = re.compile(r"\d{1,2}")
CENT = Decimal("0.01")


@dataclass
class ClaimRecord:
    """One CLM of the file. ``errors`` empty: the claim can be stored and checked."""

    claim_ref: str
    segment: int
    payload: dict
    x12: dict
    errors: list[str] = field(default_factory=list)
    billing_provider: dict = field(default_factory=dict)  # 2010AA (name, address) for the location; not stored


def x12_date(value: str) -> date | None:
    if len(value) != 8 or not value.isdigit():
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


class _State:
    """Where the walk is, and what the enclosing loops said."""

    def __init__(self, payer_keys: Mapping[str, str]):
        self.payer_keys = payer_keys
        self.loop = "ISA"
        self.in_837 = False
        self.submitted_on: str | None = None
        self.set_errors: list[str] = []
        self.billing: dict = {}
        self.billing_errors: list[str] = []
        self.subscriber: dict = {}
        self.subscriber_errors: list[str] = []
        self.patient: dict | None = None
        self.claim: ClaimRecord | None = None
        self.line: dict | None = None
        self.hl_level = ""


def read_837(segments: Iterable[tuple[Delimiters, Segment]], payer_keys: Mapping[str, str]) -> Iterator[ClaimRecord]:
    """The claims of every 837P transaction set in ``segments``, each as soon as it is complete.

    ``payer_keys`` maps a payer id (2010BB NM109) to the practice's payer key. Segments outside an 837
    transaction set (the envelope, other sets) are skipped: the caller checks the envelope.
    """
    st = _State(payer_keys)
    for delimiters, seg in segments:
        sid = seg.id
        if sid == "ST":
            st.in_837 = seg.get(1) == "837"
            st.loop = "ST"
            st.billing, st.billing_errors, st.subscriber, st.subscriber_errors = {}, [], {}, []
            st.set_errors, st.submitted_on = [], None
            if st.in_837 and seg.get(3) and seg.get(3) != IMPLEMENTATION_837P:
                st.set_errors.append(
                    _at(seg, "ST", "ST03", f"implementation {seg.get(3)!r} is not {IMPLEMENTATION_837P} (837P)")
                )
            continue
        if not st.in_837:
            continue
        if sid in ("SE", "HL") or (sid == "CLM" and st.claim is not None):
            if st.claim is not None:
                yield _finish(st)
            if sid == "SE":
                st.in_837 = False
                continue
        handler = _HANDLERS.get(sid)
        if handler is not None:
            handler(st, seg, delimiters)
        elif sid == "NM1":
            _nm1(st, seg, delimiters)
    if st.claim is not None:  # a file cut inside a claim: the envelope check fails the whole file anyway
        yield _finish(st)


# ---- segment handlers --------------------------------------------------------------------------------


def _bht(st: _State, seg: Segment, d: Delimiters) -> None:
    on = x12_date(seg.get(4))
    if on is None:
        st.set_errors.append(_at(seg, "BHT", "BHT04", f"{seg.get(4)!r} is not a date (CCYYMMDD)"))
    else:
        st.submitted_on = on.isoformat()


def _hl(st: _State, seg: Segment, d: Delimiters) -> None:
    level = seg.get(3)
    st.hl_level = level
    st.line = None
    if level == "20":
        st.loop = "2000A"
        st.billing, st.billing_errors = {}, []
    elif level == "22":
        st.loop = "2000B"
        st.subscriber, st.subscriber_errors, st.patient = {}, [], None
    elif level == "23":
        st.loop = "2000C"
        st.patient = {}
    else:
        st.subscriber_errors.append(_at(seg, "2000", "HL03", f"hierarchical level {level!r} is not 20, 22 or 23"))


def _sbr(st: _State, seg: Segment, d: Delimiters) -> None:
    if st.loop.startswith("2000B"):
        st.subscriber["sbr"] = seg.elements[1:]
    elif st.claim is not None:  # 2320: other subscriber: kept for the export
        st.loop = "2320"
        st.claim.x12.setdefault("other_subscribers", []).append({"sbr": seg.elements[1:]})


def _pat(st: _State, seg: Segment, d: Delimiters) -> None:
    if st.patient is not None:
        st.patient["pat"] = seg.elements[1:]


def _nm1(st: _State, seg: Segment, d: Delimiters) -> None:
    entity = seg.get(1)
    person = {"entity": entity, "type": seg.get(2), "last": seg.get(3), "first": seg.get(4), "middle": seg.get(5),
              "suffix": seg.get(7), "id_qualifier": seg.get(8), "id": seg.get(9)}  # fmt: skip
    if entity == "85":
        st.loop = "2010AA"
        st.billing["provider"] = person
    elif entity == "87":
        st.loop = "2010AB"
        st.billing["pay_to"] = person
    elif entity == "IL":
        st.loop = "2010BA"
        st.subscriber["person"] = person
    elif entity == "PR" and st.claim is None:
        st.loop = "2010BB"
        st.subscriber["payer"] = person
        payer_id = seg.get(9)
        key = st.payer_keys.get(payer_id)
        if not payer_id:
            st.subscriber_errors.append(_at(seg, "2010BB", "NM109", "the payer id is missing"))
        elif key is None:
            st.subscriber_errors.append(
                _at(seg, "2010BB", "NM109", f"payer id {payer_id!r} is not one of the practice's payers")
            )
        else:
            st.subscriber["payer_key"] = key
    elif entity == "QC":
        st.loop = "2010CA"
        if st.patient is not None:
            st.patient["person"] = person
    elif st.claim is not None:
        _claim_nm1(st, seg, entity, person)


def _claim_nm1(st: _State, seg: Segment, entity: str, person: dict) -> None:
    claim = st.claim
    if st.line is not None:
        st.loop = "2420"
        st.line.setdefault("providers", []).append(person)
        if entity == "82" and seg.get(9):
            st.line["rendering_npi"] = seg.get(9)
        return
    if st.loop.startswith(("2320", "2330")):
        st.loop = "2330"
        others = claim.x12.setdefault("other_subscribers", [{}])
        others[-1].setdefault("names", []).append(person)
        return
    st.loop = {"DN": "2310A", "82": "2310B", "77": "2310C", "DQ": "2310D", "PW": "2310E", "45": "2310F"}.get(
        entity, "2310"
    )
    claim.x12.setdefault("claim_providers", []).append(person)
    if entity == "82":
        if seg.get(8) != "XX" or not seg.get(9):
            claim.errors.append(_at(seg, "2310B", "NM109", "the rendering provider has no NPI (NM108 XX)"))
        elif len(seg.get(9)) != 10 or not seg.get(9).isdigit():
            claim.errors.append(_at(seg, "2310B", "NM109", f"{seg.get(9)!r} is not an NPI (10 digits)"))
        else:
            claim.payload["rendering_npi"] = seg.get(9)
    elif entity == "77":
        claim.x12["service_facility"] = {"name": seg.get(3), "npi": seg.get(9) if seg.get(8) == "XX" else ""}


def _address(st: _State, seg: Segment, d: Delimiters) -> None:
    target = _current_party(st)
    if target is not None:
        target.setdefault("address", []).append(seg.elements)
        if seg.id == "N4":
            target["n4_segment"] = seg.number  # for an error naming the segment the claim's location comes from


def _current_party(st: _State) -> dict | None:
    loop = st.loop
    if loop == "2010AA":
        return st.billing.get("provider")
    if loop == "2010AB":
        return st.billing.get("pay_to")
    if loop == "2010BA":
        return st.subscriber.get("person")
    if loop == "2010BB":
        return st.subscriber.get("payer")
    if loop == "2010CA" and st.patient is not None:
        return st.patient.get("person")
    if loop == "2310C" and st.claim is not None:
        return st.claim.x12.get("service_facility")
    return None


def _dmg(st: _State, seg: Segment, d: Delimiters) -> None:
    target = _current_party(st)
    if target is not None:
        target["dmg"] = seg.elements[1:]


def _ref(st: _State, seg: Segment, d: Delimiters) -> None:
    qualifier, value = seg.get(1), seg.get(2)
    if st.line is not None:
        if qualifier == "6R":
            st.line["control"] = value
        return
    claim = st.claim
    if claim is None:
        if st.loop == "2010AA":
            st.billing.setdefault("refs", {})[qualifier] = value
        elif st.loop == "2010BA":
            st.subscriber.setdefault("person", {}).setdefault("refs", {})[qualifier] = value
        return
    if st.loop != "2300":
        return
    if qualifier == "P4":
        match = _NCT_DIGITS.fullmatch(value.strip())
        if match is None:
            claim.errors.append(_at(seg, "2300", "REF02", f"{value!r} is not a clinical-trial number (8 digits)"))
        else:
            claim.payload["clinical_trial_number"] = f"NCT{match.group(1)}"
    elif qualifier == "G1":
        claim.payload["prior_authorization_number"] = value.strip() or None
    elif qualifier == "F8":
        claim.x12["payer_claim_number"] = value.strip()
    elif qualifier == "EA":
        # the practice's own patient identifier (X222A1 "Medical Record Number"): patient.account for the
        # frequency limits, hashed by the checker; kept with the claim's REFs too, never in an error
        claim.x12.setdefault("refs", {})[qualifier] = value
        if value.strip():
            claim.payload["patient"] = {"account": value.strip()}
    else:
        claim.x12.setdefault("refs", {})[qualifier] = value


def _clm(st: _State, seg: Segment, d: Delimiters) -> None:
    ref = seg.get(1)
    st.loop, st.line = "2300", None
    subscriber = st.subscriber
    claim = ClaimRecord(
        claim_ref=ref,
        segment=seg.number,
        payload={
            "payer": subscriber.get("payer_key"),
            "claim_type": "professional",
            "place_of_service": None,
            "date_of_service": None,
            "submitted_on": st.submitted_on,
            "rendering_npi": (st.billing.get("provider") or {}).get("id") or None,
            "diagnoses": [],
            "clinical_trial_number": None,
            "prior_authorization_number": None,
            "condition_codes": [],
            "lines": [],
        },
        x12={
            "frequency": "1",
            "payer_claim_number": "",
            "total_charge": seg.get(2),
            "clm": seg.elements[1:],
            "payer_id": (subscriber.get("payer") or {}).get("id", ""),
            "subscriber": {k: v for k, v in subscriber.items() if k != "payer_key"},
            "patient": st.patient,
        },
        errors=[*st.set_errors, *st.billing_errors, *st.subscriber_errors],
        billing_provider=st.billing.get("provider") or {},
    )
    st.claim = claim
    if not ref:
        claim.errors.append(_at(seg, "2300", "CLM01", "the claim has no patient control number"))
    if len(ref) > 38:
        claim.errors.append(_at(seg, "2300", "CLM01", "longer than the 38 characters X12 allows"))
    parts = seg.get(5).split(d.component)
    pos = parts[0] if parts else ""
    if not _POS.fullmatch(pos):
        claim.errors.append(_at(seg, "2300", "CLM05-1", f"place of service {pos!r} is not a 2-digit code"))
    else:
        claim.payload["place_of_service"] = pos.zfill(2)
    frequency = parts[2] if len(parts) > 2 else ""
    if frequency not in FREQUENCIES:
        claim.errors.append(_at(seg, "2300", "CLM05-3", f"frequency {frequency!r} is not 1, 7 or 8"))
    else:
        claim.x12["frequency"] = frequency
    if _amount(seg.get(2)) is None:
        claim.errors.append(_at(seg, "2300", "CLM02", f"{seg.get(2)!r} is not an amount"))


def _hi(st: _State, seg: Segment, d: Delimiters) -> None:
    claim = st.claim
    if claim is None:
        return
    for i, element in enumerate(seg.elements[1:], start=1):
        if not element:
            continue
        qualifier, _, code = element.partition(d.component)
        code = code.split(d.component)[0]
        where = f"HI{i:02d}"
        if qualifier in ("ABK", "ABF"):
            if not code:
                claim.errors.append(_at(seg, "2300", f"{where}-2", "the diagnosis code is missing"))
            else:
                claim.payload["diagnoses"].append(code)
        elif qualifier in ("BK", "BF"):
            claim.errors.append(_at(seg, "2300", f"{where}-1", "ICD-9-CM diagnoses (BK/BF) are not accepted"))
        elif qualifier == "BG":
            claim.payload["condition_codes"].append(code)
        else:
            claim.x12.setdefault("other_hi", []).append(element)


def _lx(st: _State, seg: Segment, d: Delimiters) -> None:
    if st.claim is None:
        return
    st.loop = "2400"
    st.line = {"lx": seg.get(1), "segment": seg.number}
    st.claim.payload["lines"].append(st.line)


def _sv1(st: _State, seg: Segment, d: Delimiters) -> None:
    line, claim = st.line, st.claim
    if line is None or claim is None:
        return
    composite = seg.get(1).split(d.component)
    if composite[0] != "HC":
        claim.errors.append(_at(seg, "2400", "SV101-1", f"qualifier {composite[0]!r} is not HC (CPT/HCPCS)"))
    code = composite[1] if len(composite) > 1 else ""
    if not code:
        claim.errors.append(_at(seg, "2400", "SV101-2", "the procedure code is missing"))
    elif len(code) != 5 or not code.isalnum():
        claim.errors.append(_at(seg, "2400", "SV101-2", f"{code!r} is not a 5-character CPT/HCPCS code"))
    for i, modifier in enumerate(composite[2:6], start=3):
        if modifier and (len(modifier) != 2 or not modifier.isalnum()):
            claim.errors.append(_at(seg, "2400", f"SV101-{i}", f"{modifier!r} is not a 2-character modifier"))
    line["code"] = code
    line["modifiers"] = [m for m in composite[2:6] if m]
    charge = _amount(seg.get(2))
    if charge is None:
        claim.errors.append(_at(seg, "2400", "SV102", f"{seg.get(2)!r} is not an amount"))
    line["charge"] = str(charge) if charge is not None else None
    units = _amount(seg.get(4) or "1")
    if units is None or units != units.to_integral_value() or units < 1:
        claim.errors.append(_at(seg, "2400", "SV104", f"units {seg.get(4)!r} are not a whole number of 1 or more"))
        line["units"] = 1
    else:
        line["units"] = int(units)
    pointers = []
    for i, text in enumerate(filter(None, seg.get(7).split(d.component)), start=1):
        if not text.isdigit():
            claim.errors.append(_at(seg, "2400", f"SV107-{i}", f"pointer {text!r} is not a number"))
        else:
            pointers.append(int(text))
    line["diagnosis_pointers"] = pointers


def _dtp(st: _State, seg: Segment, d: Delimiters) -> None:
    if st.line is None or st.claim is None or seg.get(1) != "472":
        return
    value = seg.get(3)
    start = value.split("-")[0] if seg.get(2) == "RD8" else value
    on = x12_date(start)
    if on is None:
        st.claim.errors.append(_at(seg, "2400", "DTP03", f"{value!r} is not a date (CCYYMMDD)"))
    else:
        st.line["date_of_service"] = on.isoformat()


def _finish(st: _State) -> ClaimRecord:
    claim = st.claim
    st.claim, st.line = None, None
    lines = claim.payload["lines"]
    if not lines:
        claim.errors.append(_at_number(claim.segment, "CLM", "2300", "LX", "the claim has no service line"))
    dates = [line.get("date_of_service") for line in lines]
    if lines and not all(dates):
        missing = next(line for line in lines if not line.get("date_of_service"))
        claim.errors.append(
            _at_number(missing["segment"], "LX", "2400", "DTP*472", "the service line has no date of service")
        )
    elif lines:
        first = min(dates)
        claim.payload["date_of_service"] = first
        for line in lines:
            if line["date_of_service"] == first:
                del line["date_of_service"]
    controls = []
    for line in lines:
        controls.append(line.pop("control", ""))
        line.pop("segment", None)
        line.pop("lx", None)
        line.pop("providers", None)
        line.pop("rendering_npi", None)
    claim.x12["line_controls"] = controls
    return claim


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite() or value < 0 or value >= Decimal("100000000"):
        return None
    return value.quantize(CENT) if value == value.quantize(CENT) else None


def _at(seg: Segment, loop: str, element: str, message: str) -> str:
    return _at_number(seg.number, seg.id, loop, element, message)


def _at_number(number: int, sid: str, loop: str, element: str, message: str) -> str:
    return f"segment {number} ({sid}), loop {loop}, element {element}: {message}"


_HANDLERS = {
    "BHT": _bht,
    "HL": _hl,
    "SBR": _sbr,
    "PAT": _pat,
    "N3": _address,
    "N4": _address,
    "DMG": _dmg,
    "REF": _ref,
    "CLM": _clm,
    "HI": _hi,
    "LX": _lx,
    "SV1": _sv1,
    "DTP": _dtp,
}


@dataclass(frozen=True)
class Place:
    """One location of the practice, as the 837P import matches it: key, name, 5-digit ZIP, main or not."""

    key: str
    name: str
    zip5: str
    is_main: bool


def _normal(name: str) -> str:
    return " ".join(name.upper().replace("&", " AND ").split())


def claim_location(record: ClaimRecord, places: list[Place]) -> None:
    """Set the claim's ``location`` from where the service was done: the 2310C service facility's N4 ZIP, else
    the 2010AA billing provider's (X222A1: 2310C is sent only when it differs from the billing provider).

    The practice's location with that 5-digit ZIP is the claim's; several with the ZIP: the one whose name is
    the facility's (NM103, case, spacing and "&"/"AND" aside), else the main one among them. A ZIP that is none
    of the practice's locations is an error naming the N4: the state and Medicare contractor decide which payer
    rules apply (WISeR prior authorisation), so a claim is never silently checked as done elsewhere. A practice
    without keyed locations, or an address without a ZIP, leaves ``location`` empty (the main location).
    """
    places = [p for p in places if p.key and p.zip5]
    if record.errors or not places:
        return
    facility = record.x12.get("service_facility") or {}
    party, loop = (facility, "2310C") if _zip5(facility) else (record.billing_provider, "2010AA")
    zip5 = _zip5(party)
    if not zip5:
        return
    same = [p for p in places if p.zip5 == zip5]
    name = _normal(party.get("last") or party.get("name") or "")
    named = [p for p in same if _normal(p.name) == name]
    main = [p for p in same if p.is_main]
    chosen = named[0] if len(named) == 1 else main[0] if len(main) == 1 else same[0] if len(same) == 1 else None
    if chosen is not None:
        record.payload["location"] = chosen.key
        return
    where = f"segment {party.get('n4_segment', '?')} (N4), loop {loop}, element N403"
    if same:
        keys = ", ".join(p.key for p in same)
        record.errors.append(
            f"{where}: ZIP {zip5} is several of the practice's locations ({keys}) and the name matches none of "
            "them: name the facility (NM103) as the location is named"
        )
    else:
        known = ", ".join(f"{p.key} {p.zip5}" for p in places)
        record.errors.append(
            f"{where}: ZIP {zip5} is none of the practice's locations ({known}); add the location (its ZIP "
            "gives the state and Medicare contractor the payer rules depend on)"
        )


def _zip5(party: Mapping) -> str:
    for elements in reversed(party.get("address") or ()):
        if elements and elements[0] == "N4" and len(elements) > 3:
            digits = elements[3].strip()[:5]
            return digits if len(digits) == 5 and digits.isdigit() else ""
    return ""
