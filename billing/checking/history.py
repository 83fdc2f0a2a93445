"""A patient's earlier services, as plain data for the frequency rules, and the hashing of account numbers.

The claim may carry the practice's own patient account number (``"patient": {"account": "..."}``). It is never
stored or compared as typed: ``patient_hash`` turns it into an HMAC-SHA256 with the practice's own secret key,
so the same account at two practices gives two unrelated hashes and the stored hash says nothing without the
key. Checks keep that hash and the claim's services (date, code, modifiers); the checker reads them back to
count earlier sessions (``billing.claims.checker.Checker``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from billing.checking.claim import Claim


@dataclass(frozen=True, slots=True)
class PastService:
    """One earlier service of the patient: its date, code and modifiers (LT/RT say the side)."""

    on: date
    code: str
    modifiers: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"on": self.on.isoformat(), "code": self.code, "modifiers": list(self.modifiers)}

    @classmethod
    def from_json(cls, data: dict) -> PastService:
        return cls(date.fromisoformat(data["on"]), data["code"], tuple(data.get("modifiers") or ()))


def patient_hash(key: bytes, account: str) -> str:
    """The stored form of a patient account number: HMAC-SHA256 under the practice's key, hex. Case and
    surrounding spaces do not matter (``ab-12`` and `` AB-12`` are one account)."""
    return hmac.new(key, account.strip().upper().encode("utf-8"), hashlib.sha256).hexdigest()


def services_of(claim: Claim) -> tuple[PastService, ...]:
    """The claim's services as they are kept for later frequency checks."""
    return tuple(PastService(claim.line_date(line), line.code, line.modifiers) for line in claim.lines)
