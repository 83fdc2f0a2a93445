"""Claims written as one 837P (005010X222A1) interchange (pure: plain data in, segments out).

Our own writer, not a library: pyx12 validates and converts but does not build an 837 from data, and x12sdk
(typed 5010 models) is young with one maintainer; the 837P we send is a fixed shape of some 40 segments, and
every file this writer makes is checked against pyx12's X222A1 map in the tests (``x12valid``), which is what
proves it right. Nothing here depends on a payer or a procedure: the payer's id and claim filing indicator
and the practice's identifiers are data (``X12Partner``, ``X12PayerId``).

What it puts where: REF*P4 the clinical-trial number's 8 digits (CMS: NCT number without "NCT"); SV101 the
code with up to four modifiers (Q0 and the rest as the claim has them); HI ABK/ABF the diagnoses without
dots; SV107 the line's diagnosis pointers; REF*6R a line control number per line (the one received, else
claim reference + line number) so the 835 can be matched line by line; CLM05-3 frequency 1, 7 or 8, with
REF*F8 the payer's claim control number for a replacement or void.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

IMPLEMENTATION = "005010X222A1"
_UNSAFE = re.compile(r"[*:^~\r\n]")


class ExportError(ValueError):
    """A claim that cannot be written as a valid 837P (names the claim and what is missing)."""


@dataclass(frozen=True)
class Partner:
    submitter_id: str
    submitter_name: str
    contact_name: str
    contact_phone: str
    receiver_id: str
    receiver_name: str
    sender_qualifier: str = "ZZ"
    receiver_qualifier: str = "ZZ"
    usage: str = "T"


@dataclass(frozen=True)
class BillingProvider:
    name: str
    npi: str
    tax_id: str
    address: str
    city: str
    state: str
    zip: str
    taxonomy: str = ""


@dataclass
class ExportClaim:
    """One claim to write: the contract's claim (``payload``), its reference, and its X12 extras."""

    reference: str
    payload: dict
    payer_name: str
    payer_id: str
    filing_indicator: str
    frequency: str = "1"
    payer_claim_number: str = ""
    subscriber: dict = field(default_factory=dict)  # {"person": {...}, "sbr": [...]} as imported
    patient: dict | None = None  # {"person": {...}, "pat": [...]} when the patient is not the subscriber
    line_controls: list[str] = field(default_factory=list)
    rendering: dict | None = None  # {"last", "first", "npi", "taxonomy"}


def clean(text: str | None, limit: int = 60) -> str:
    """Element text without X12 delimiters, upper case, at most ``limit`` characters."""
    return _UNSAFE.sub(" ", (text or "").strip()).upper()[:limit].strip()


def write_837(
    partner: Partner, provider: BillingProvider, claims: list[ExportClaim], control: int, now: datetime
) -> Iterator[str]:
    """The interchange's segments, without terminators. ``control``: ISA13/GS06/ST02, unique and increasing
    per practice. Raises ExportError before the first segment when a claim cannot be written."""
    for claim in claims:
        check_claim(claim)
    if not claims:
        raise ExportError("no claims to export")
    isa_date, isa_time = now.strftime("%y%m%d"), now.strftime("%H%M")
    gs_date = now.strftime("%Y%m%d")
    st_control = f"{control:04d}"
    yield (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*{partner.sender_qualifier}*{clean(partner.submitter_id, 15):<15}"
        f"*{partner.receiver_qualifier}*{clean(partner.receiver_id, 15):<15}*{isa_date}*{isa_time}*^*00501"
        f"*{control:09d}*0*{partner.usage}*:"
    )
    sender, receiver = clean(partner.submitter_id, 15), clean(partner.receiver_id, 15)
    yield f"GS*HC*{sender}*{receiver}*{gs_date}*{isa_time}*{control}*X*{IMPLEMENTATION}"
    count = 0
    for segment in _transaction(partner, provider, claims, st_control, gs_date, isa_time, control):
        count += 1
        yield segment
    yield f"SE*{count + 1}*{st_control}"
    yield f"GE*1*{control}"
    yield f"IEA*1*{control:09d}"


def check_claim(claim: ExportClaim) -> None:
    p, ref = claim.payload, claim.reference
    missing = []
    if not (claim.subscriber.get("person") or {}).get("id"):
        missing.append("the subscriber's member id and name (2010BA): only claims imported from an 837P carry them")
    if not claim.payer_id:
        missing.append("the payer's id (2010BB): set it in X12 payer ids")
    if any(line.get("charge") in (None, "") for line in p["lines"]):
        missing.append("a charge on every line (SV102)")
    if claim.frequency in ("7", "8") and not claim.payer_claim_number:
        missing.append("the payer's claim control number of the original (REF*F8) for a replacement or void")
    if any(not line.get("diagnosis_pointers") for line in p["lines"]):
        missing.append("diagnosis pointers on every line (SV107)")
    if not p.get("diagnoses"):
        missing.append("a diagnosis (HI)")
    if missing:
        raise ExportError(f"claim {ref}: cannot be exported without " + "; ".join(missing))


def _transaction(partner, provider, claims, st_control, gs_date, time, control) -> Iterator[str]:
    yield f"ST*837*{st_control}*{IMPLEMENTATION}"
    yield f"BHT*0019*00*{control}*{gs_date}*{time}*CH"
    yield f"NM1*41*2*{clean(partner.submitter_name)}*****46*{clean(partner.submitter_id, 15)}"
    yield f"PER*IC*{clean(partner.contact_name) or clean(partner.submitter_name)}*TE*{partner.contact_phone}"
    yield f"NM1*40*2*{clean(partner.receiver_name)}*****46*{clean(partner.receiver_id, 15)}"
    yield "HL*1**20*1"
    if provider.taxonomy:
        yield f"PRV*BI*PXC*{provider.taxonomy}"
    yield f"NM1*85*2*{clean(provider.name)}*****XX*{provider.npi}"
    yield f"N3*{clean(provider.address, 55)}"
    yield f"N4*{clean(provider.city, 30)}*{provider.state}*{provider.zip}"
    yield f"REF*EI*{provider.tax_id}"
    hl = 1
    for claim in claims:
        hl += 1
        subscriber_hl = hl
        has_patient = bool(claim.patient and (claim.patient.get("person") or {}).get("last"))
        yield f"HL*{subscriber_hl}*1*22*{1 if has_patient else 0}"
        yield _sbr(claim, has_patient)
        person = claim.subscriber["person"]
        yield from _person("IL", person, "MI", with_demographics=not has_patient)
        yield f"NM1*PR*2*{clean(claim.payer_name)}*****PI*{clean(claim.payer_id, 80)}"
        if has_patient:
            hl += 1
            yield f"HL*{hl}*{subscriber_hl}*23*0"
            relation = (claim.patient.get("pat") or ["19"])[0] or "19"
            yield f"PAT*{relation}"
            yield from _person("QC", claim.patient["person"], None, with_demographics=True)
        yield from _claim(claim)


def _sbr(claim: ExportClaim, has_patient: bool) -> str:
    sbr = list(claim.subscriber.get("sbr") or [])
    sbr += [""] * (9 - len(sbr))
    sbr[0] = sbr[0] or "P"
    sbr[1] = "" if has_patient else "18"
    sbr[8] = sbr[8] or claim.filing_indicator
    return "*".join(["SBR", *(clean(v, 60) for v in sbr[:9])]).rstrip("*")


def _person(entity: str, person: dict, id_qualifier: str | None, with_demographics: bool) -> Iterator[str]:
    name = [clean(person.get("last"), 60), clean(person.get("first"), 35), clean(person.get("middle"), 25)]
    segment = f"NM1*{entity}*1*{'*'.join(name)}**{clean(person.get('suffix'), 10)}"
    if id_qualifier:
        segment += f"*{id_qualifier}*{clean(person.get('id'), 80)}"
    yield segment.rstrip("*")
    address = {row[0]: row for row in person.get("address") or [] if row}
    if with_demographics and "N3" in address and "N4" in address:
        yield "*".join(clean(v, 55) for v in address["N3"][:3]).rstrip("*")
        yield "*".join(clean(v, 30) for v in address["N4"][:4]).rstrip("*")
    dmg = person.get("dmg") or []
    if with_demographics and len(dmg) >= 3 and dmg[1]:
        yield f"DMG*D8*{dmg[1]}*{dmg[2] or 'U'}"


def _claim(claim: ExportClaim) -> Iterator[str]:
    p = claim.payload
    lines = p["lines"]
    total = sum((Decimal(str(line["charge"])) for line in lines), Decimal(0))
    yield f"CLM*{clean(claim.reference, 38)}*{_amount(total)}***{p['place_of_service']}:B:{claim.frequency}*Y*A*Y*Y"
    if p.get("prior_authorization_number"):
        yield f"REF*G1*{clean(p['prior_authorization_number'], 50)}"
    if claim.frequency in ("7", "8"):
        yield f"REF*F8*{clean(claim.payer_claim_number, 50)}"
    trial = (p.get("clinical_trial_number") or "").upper()
    if trial:
        digits = trial[3:] if trial.startswith("NCT") else trial
        yield f"REF*P4*{clean(digits, 50)}"
    codes = [clean(code, 30).replace(".", "") for code in p["diagnoses"]]
    yield "HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{code}" for i, code in enumerate(codes))
    if claim.rendering and claim.rendering.get("npi"):
        r = claim.rendering
        yield f"NM1*82*1*{clean(r.get('last'))}*{clean(r.get('first'), 35)}****XX*{r['npi']}"
        if r.get("taxonomy"):
            yield f"PRV*PE*PXC*{r['taxonomy']}"
    for number, line in enumerate(lines, start=1):
        yield f"LX*{number}"
        composite = ":".join(["HC", line["code"].upper(), *(m.upper() for m in line.get("modifiers") or [])])
        pointers = ":".join(str(n) for n in line.get("diagnosis_pointers") or [])
        charge = _amount(Decimal(str(line["charge"])))
        yield f"SV1*{composite}*{charge}*UN*{line.get('units') or 1}***{pointers}"
        on = (line.get("date_of_service") or p["date_of_service"]).replace("-", "")
        yield f"DTP*472*D8*{on}"
        controls = claim.line_controls
        control = controls[number - 1] if number - 1 < len(controls) and controls[number - 1] else ""
        yield f"REF*6R*{clean(control, 50) or clean(f'{claim.reference}-{number}', 50)}"


def _amount(value: Decimal) -> str:
    """An X12 amount: no trailing zeros after the point (9500, 12.5), as the guide prefers."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
