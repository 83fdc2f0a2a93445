"""Facts about the approved CED studies and the codes billed in them, with their sources and sureness.

Plain data for the payer rules (billing.checking.rules.payer): which study is blinded or has a placebo arm,
and which codes are for the blinded / placebo arm only. Sureness as in ../shared/domain/mild.md: sure (read in a
primary source), likely (secondary source), unverified.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Study:
    """A CMS-approved study. ``blinded``: True (blinded or placebo/sham-controlled RCT), False (open, not
    blinded), None (not in our sources)."""

    nct: str
    title: str
    blinded: bool | None
    source: str
    certainty: str


STUDIES: dict[str, Study] = {
    study.nct: study
    for study in (
        Study(
            "NCT03072927",
            "MILD Percutaneous Image-Guided Lumbar Decompression: A Medicare Claims Study",
            False,
            "CMS CED approved studies for NCD 150.13 (approved 2017-02-16); a study of Medicare claims, the study "
            "behind routine mild® claims, billed with 0275T (mild.md)",
            "likely",
        ),
        Study(
            "NCT02079038",
            "Sham-controlled randomised trial approved under NCD 150.13 (approved 2014-05-22)",
            True,
            "CMS CED approved studies for NCD 150.13; mild.md: the G0276 setting",
            "sure",
        ),
        Study(
            "NCT02093520",
            "MiDAS ENCORE (randomised trial of mild® against epidural steroid injections)",
            None,
            "CMS CED approved studies for NCD 150.13 (mild.md); whether it has a blinded or placebo arm is not in "
            "our sources",
            "unverified",
        ),
    )
}

# Codes billed only for the blinded or placebo-control arm of an approved CED randomised trial.
BLINDED_ARM_CODES: dict[str, str] = {
    "G0276": "HCPCS G0276 descriptor: blinded PILD or placebo control in an approved CED clinical trial (sure; "
    "HCPCS 2020 file, added 2015-01-01)",
}


def blinded_arm_problem(code: str, number: str) -> str | None:
    """Why ``number`` does not fit ``code`` when the code is for a blinded / placebo arm; None when it fits or
    the study is not one we know (then the payer rule's own list of studies decides)."""
    if code not in BLINDED_ARM_CODES:
        return None
    study = STUDIES.get(number)
    if study is None or study.blinded is True:
        return None
    if study.blinded is False:
        return (
            f"{number} ({study.title}) is not blinded and has no placebo arm [{study.certainty}], while {code} is "
            f"billed only for the blinded or placebo-control arm of an approved CED randomised trial "
            f"({BLINDED_ARM_CODES[code]}); routine mild® in {number} is billed with 0275T."
        )
    return (
        f"Whether {number} ({study.title}) has a blinded or placebo arm is not confirmed [{study.certainty}], while "
        f"{code} is billed only for that arm ({BLINDED_ARM_CODES[code]})."
    )
