"""The payer's own rules for a code, as the version in force on the line's date states them.

A payer rule version (practice.policy.PayerRuleVersion) says whether the payer covers a set of codes and
what it requires: modifiers, diagnoses in given positions, a clinical-trial number, prior authorisation, a
site of service. Requirements are only checked where the payer covers the service: where it does not,
PAYER_NOT_COVERED says so and what to do instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from billing.checking.claim import INSTITUTIONAL, ClaimLine
from billing.checking.context import CheckContext
from billing.checking.findings import ERROR, WARNING, Finding
from billing.checking.rules.base import Rule, and_list, icd_display, or_list
from billing.checking.studies import BLINDED_ARM_CODES, blinded_arm_problem
from practice.policy import (
    COVERAGE_CHOICES,
    COVERED_CED,
    INVESTIGATIONAL,
    MEDICARE_FFS,
    NOT_COVERED,
    POSITION_LINE,
    POSITION_PRIMARY,
    POSITION_SECONDARY,
    DiagnosisRequirement,
    PayerRuleVersion,
)

NOT_COVERED_COVERAGES = (NOT_COVERED, INVESTIGATIONAL)
TRIAL_NUMBER = re.compile(r"NCT\d{8}")
TRIAL_NUMBER_PLACE = "CMS-1500 item 19 / 837P REF*P4 (institutional: 837I REF*P4 with condition code 30)"
CLINICAL_TRIAL_CONDITION_CODE = "30"
DEFAULT_NOT_COVERED_ADVICE = (
    "Tell the patient before the service and follow the payer's rules for non-covered services: for Medicare a "
    "signed ABN and modifier GA (GZ when no ABN was signed); for most plans a signed member waiver."
)
# Medicare Claims Processing Manual (Pub 100-04) ch. 30 §40.3.6 (likely: the chapter on ABNs): GA = a signed ABN
# is on file, the patient may be billed; GZ = the service is expected to be denied and no ABN was given.
WAIVER_MODIFIERS = ("GA", "GZ")
MEDICARE_NON_COVERED_ADVICE = (
    "give the patient an ABN before the service and bill the line with modifier GA (or GZ when no ABN was signed: "
    "then the patient cannot be billed)"
)
ABN_REFERENCE = "Medicare Claims Processing Manual (Pub 100-04) ch. 30 §40.3.6: modifiers GA and GZ [likely]"
# Pub 100-04 ch. 32 §69.6 (sure, mild.md): Q0, the NCT number and Z00.6 report that the beneficiary takes part in
# an approved study; putting them on the claim of a patient who does not would misrepresent enrolment.
ENROLMENT_MODIFIERS = ("Q0", "Q1")
ENROLMENT_DIAGNOSES = ("Z006",)
ENROLMENT_REFERENCE = (
    "Medicare Claims Processing Manual (Pub 100-04) ch. 32 §69.6: Q0/Q1, the NCT number and Z00.6 attest "
    "enrolment in an approved study [sure]"
)


def payer_name(ctx: CheckContext) -> str:
    return ctx.payer.name if ctx.payer is not None else ctx.claim.payer


def caveat(rule: PayerRuleVersion) -> str:
    """What to add to a message when the payer rule itself is not confirmed."""
    if rule.certainty == "unverified":
        return " This payer rule is marked unverified: confirm it with the payer."
    return ""


def source(rule: PayerRuleVersion) -> str:
    return rule.reference or rule.name


def is_covered(rule: PayerRuleVersion) -> bool:
    """Whether the rule's requirements apply: the payer covers the service (fully or under conditions)."""
    return rule.coverage not in NOT_COVERED_COVERAGES


def normalised_trial_number(number: str | None) -> str | None:
    return number.strip().upper() if number else None


def rule_key(rule: PayerRuleVersion) -> tuple:
    return (rule.id, rule.name, rule.payer_key, rule.version, rule.effective_from)


def is_ced(rule: PayerRuleVersion) -> bool:
    """The payer covers the service only for patients enrolled in an approved study (e.g. NCD 150.13)."""
    return rule.coverage == COVERED_CED or rule.trial_number_required


def outside_study(ctx: CheckContext, line: ClaimLine, rule: PayerRuleVersion) -> bool:
    """The claim says the patient is not in a study: a CED service with GA or GZ on its line and no
    clinical-trial number. NCD 150.13 covers PILD only for enrolled beneficiaries (sure), so the service is not
    covered and the enrolment requirements (Q0, NCT number, Z00.6) do not apply: adding them would
    misrepresent enrolment (Pub 100-04 ch. 32 §69.6, sure)."""
    return (
        is_ced(rule)
        and not ctx.claim.clinical_trial_number
        and any(modifier in WAIVER_MODIFIERS for modifier in line.modifiers)
    )


def enrolment_unstated(ctx: CheckContext, rule: PayerRuleVersion) -> bool:
    """A CED service with neither a clinical-trial number nor GA/GZ: the claim does not say whether the patient
    is enrolled, so advice must offer both paths (issue 13 point 2)."""
    return is_ced(rule) and not ctx.claim.clinical_trial_number


def non_covered_advice(ctx: CheckContext, rule: PayerRuleVersion) -> str:
    """What to do when the service is not covered: the ABN with GA/GZ for Medicare fee-for-service, else the
    rule's own advice."""
    if ctx.payer is not None and ctx.payer.payer_type == MEDICARE_FFS:
        return f"{MEDICARE_NON_COVERED_ADVICE[0].upper()}{MEDICARE_NON_COVERED_ADVICE[1:]}."
    return rule.not_covered_advice or DEFAULT_NOT_COVERED_ADVICE


def both_paths(ctx: CheckContext, rule: PayerRuleVersion, enrolled: str) -> str:
    """Advice for a CED claim that does not say whether the patient is in a study: never only the first path."""
    return (
        f"If the patient is enrolled in an approved study: {enrolled} If the patient is not enrolled: the service "
        f"is not covered under {source(rule)}; do not add Q0, an NCT number or Z00.6 (they attest enrolment). "
        f"{non_covered_advice(ctx, rule)}"
    )


def covered_rules(ctx: CheckContext) -> Iterator[tuple[ClaimLine, PayerRuleVersion]]:
    """Every (line, rule version) pair where the payer covers the line's code under that version (a CED service
    for a patient outside a study is not covered: PAYER_NOT_COVERED). Worked out once a claim (six rules ask)."""
    found = ctx.memo.get(covered_rules)
    if found is None:
        found = ctx.memo[covered_rules] = tuple(
            (line, rule)
            for line in ctx.claim.lines
            for rule in ctx.rules_for_line(line)
            if is_covered(rule) and not outside_study(ctx, line, rule)
        )
    return iter(found)


def once_per_rule(ctx: CheckContext) -> Iterator[tuple[PayerRuleVersion, list[ClaimLine]]]:
    """Each covered rule version once, with the lines it applies to (for claim-level requirements). Worked out
    once a claim (five rules ask); the lists are read, never changed."""
    found = ctx.memo.get(once_per_rule)
    if found is None:
        grouped: dict[tuple, tuple[PayerRuleVersion, list[ClaimLine]]] = {}
        for line, rule in covered_rules(ctx):
            grouped.setdefault(rule_key(rule), (rule, []))[1].append(line)
        found = ctx.memo[once_per_rule] = tuple(grouped.values())
    return iter(found)


def codes_of(lines: list[ClaimLine]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(line.code for line in lines))


class PayerUnknown(Rule):
    """The payer on the claim is not one of the practice's payers, so its rules and filing limit were not
    checked."""

    id = "PAYER_UNKNOWN"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.payer is not None:
            return
        yield self.finding(
            f'Payer "{ctx.claim.payer}" was not found.',
            codes=(ctx.claim.payer,),
            reference="The practice's payer list",
            suggestion="Choose the payer from the practice's payer list (e.g. medicare, medicare-advantage, "
            "commercial-bcbs), or add the payer first.",
        )


class PayerNotCovered(Rule):
    """The payer does not cover this service on this date of service (not covered, or investigational)."""

    id = "PAYER_NOT_COVERED"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line in ctx.claim.lines:
            for rule in ctx.rules_for_line(line):
                if outside_study(ctx, line, rule):
                    yield self._outside_study(ctx, line, rule)
                    continue
                if is_covered(rule):
                    continue
                yield self.finding(
                    f'{payer_name(ctx)}: {line.code} is "{COVERAGE_CHOICES.get(rule.coverage, rule.coverage)}" '
                    f"on {ctx.line_date(line).isoformat()} under {source(rule)}.{caveat(rule)}",
                    line=line.number,
                    codes=(line.code,),
                    reference=rule.describe(),
                    suggestion=rule.not_covered_advice or DEFAULT_NOT_COVERED_ADVICE,
                )

    def _outside_study(self, ctx: CheckContext, line: ClaimLine, rule: PayerRuleVersion) -> Finding:
        waiver = and_list(m for m in line.modifiers if m in WAIVER_MODIFIERS)
        attesting = [m for m in line.modifiers if m in ENROLMENT_MODIFIERS]
        attesting += [icd_display(d) for d in ctx.claim.diagnoses if d in ENROLMENT_DIAGNOSES]
        remove = (
            f" Remove {and_list(attesting)}: {'they attest' if len(attesting) > 1 else 'it attests'} enrolment in a "
            "study."
            if attesting
            else ""
        )
        return self.finding(
            f"{payer_name(ctx)}: {line.code} is covered under {source(rule)} only for patients enrolled in an "
            f"approved study; line {line.number} carries {waiver} and the claim has no clinical-trial number, so the "
            f"patient is outside a study and the service is not covered on {ctx.line_date(line).isoformat()}."
            f"{caveat(rule)}",
            line=line.number,
            codes=(line.code, *(m for m in line.modifiers if m in WAIVER_MODIFIERS)),
            reference=f"{rule.describe()}; {ENROLMENT_REFERENCE}; {ABN_REFERENCE}",
            suggestion=f"Bill it as non-covered. {non_covered_advice(ctx, rule)} Do not add Q0, an NCT number or "
            f"Z00.6.{remove}",
        )


class PayerRequiresModifier(Rule):
    """The payer requires a modifier on this service that the line does not have."""

    id = "PAYER_REQUIRES_MODIFIER"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for line, rule in covered_rules(ctx):
            missing = [m.strip().upper() for m in rule.required_modifiers if m.strip().upper() not in line.modifiers]
            if not missing:
                continue
            yield self.finding(
                f"{payer_name(ctx)} requires {and_list(missing)} on {line.code} (line {line.number}) under "
                f"{source(rule)}.{caveat(rule)}",
                line=line.number,
                codes=(line.code, *missing),
                reference=rule.describe(),
                suggestion=both_paths(ctx, rule, f"add modifier {and_list(missing)} to line {line.number}.")
                if enrolment_unstated(ctx, rule) and any(m in ENROLMENT_MODIFIERS for m in missing)
                else f"Add modifier {and_list(missing)} to line {line.number}.",
            )


@functools.lru_cache(maxsize=1024)
def _wanted_codes(requirement: DiagnosisRequirement) -> tuple[tuple[str, bool], ...]:
    """(code or prefix, is a prefix) for each code of the requirement, normalised once per requirement."""
    out = []
    for code in requirement.codes:
        wanted = code.replace(".", "").strip().upper()
        out.append((wanted[:-1], True) if wanted.endswith("*") else (wanted, False))
    return tuple(out)


def _matches(requirement: DiagnosisRequirement, diagnosis: str) -> bool:
    for wanted, prefix in _wanted_codes(requirement):
        if diagnosis.startswith(wanted) if prefix else diagnosis == wanted:
            return True
    return False


@functools.lru_cache(maxsize=1024)
def _wanted_text(requirement: DiagnosisRequirement) -> str:
    shown = []
    for code in requirement.codes:
        wanted = code.replace(".", "").strip().upper()
        shown.append(f"a code starting {icd_display(wanted[:-1])}" if wanted.endswith("*") else icd_display(wanted))
    return or_list(shown)


class PayerRequiresDiagnosis(Rule):
    """The payer requires a diagnosis, in a given position, that the claim does not have there."""

    id = "PAYER_REQUIRES_DIAGNOSIS"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        diagnoses = ctx.claim.diagnoses
        done: set[tuple] = set()
        for line, rule in covered_rules(ctx):
            for requirement in rule.required_diagnoses:
                if requirement.position == POSITION_LINE:
                    problem = self._line_problem(ctx, line, requirement)
                    key = (rule_key(rule), requirement, line.number)
                else:
                    problem = self._claim_problem(diagnoses, requirement, rule)
                    key = (rule_key(rule), requirement)
                if problem is None or key in done:
                    continue
                done.add(key)
                detail, suggestion, *severity = problem
                if enrolment_unstated(ctx, rule) and not severity and _attests_enrolment(requirement):
                    suggestion = both_paths(ctx, rule, suggestion[:1].lower() + suggestion[1:])
                yield self.finding(
                    f"{payer_name(ctx)}, {line.code} under {source(rule)}: {detail}{caveat(rule)}",
                    line=line.number if requirement.position == POSITION_LINE else None,
                    codes=(line.code, *(icd_display(c.replace(".", "").upper()) for c in requirement.codes)),
                    reference=rule.describe(),
                    suggestion=suggestion,
                    severity=severity[0] if severity else None,
                )

    @staticmethod
    def _claim_problem(
        diagnoses: tuple[str, ...], requirement: DiagnosisRequirement, rule: PayerRuleVersion | None = None
    ) -> tuple[str, ...] | None:
        """(detail, suggestion[, severity]) when the claim's diagnoses miss the requirement, else None."""
        wanted = _wanted_text(requirement)
        positions = [i for i, diagnosis in enumerate(diagnoses) if _matches(requirement, diagnosis)]
        if requirement.position == POSITION_PRIMARY:
            if 0 in positions:
                return None
            if positions and all(d in ENROLMENT_DIAGNOSES for d in diagnoses[: positions[0]]):
                return None  # only Z00.6 before it: CMS accepts that order; the Z00.6 requirement warns
            if positions:
                found = icd_display(diagnoses[positions[0]])
                return (
                    f"{wanted} must be the primary (first) diagnosis; {found} is diagnosis {positions[0] + 1}.",
                    f"Move {found} to the first position.",
                )
            return (
                f"the primary (first) diagnosis must be {wanted}.",
                f"Put {wanted} first, if the record supports it.",
            )
        if requirement.position == POSITION_SECONDARY:
            if any(i > 0 for i in positions):
                return None
            if positions:
                found = icd_display(diagnoses[0])
                if diagnoses[0] in ENROLMENT_DIAGNOSES:
                    return _enrolment_code_first(found, rule)
                return (
                    f"{found} must be a secondary diagnosis, not the primary one.",
                    f"{found} must be a secondary diagnosis: list the condition treated first and {found} after it.",
                )
            return (
                f"the claim needs {wanted} as a secondary diagnosis.",
                f"Add {wanted} as a secondary diagnosis (after the primary) and point the line to it.",
            )
        # any position
        if positions:
            return None
        return (f"the claim needs {wanted} among its diagnoses.", f"Add {wanted} to the diagnoses.")

    @staticmethod
    def _line_problem(ctx: CheckContext, line: ClaimLine, requirement: DiagnosisRequirement) -> tuple[str, str] | None:
        if any(_matches(requirement, diagnosis) for diagnosis in ctx.pointed_diagnoses(line)):
            return None
        wanted = _wanted_text(requirement)
        on_claim = [i for i, diagnosis in enumerate(ctx.claim.diagnoses) if _matches(requirement, diagnosis)]
        if on_claim:
            return (
                f"line {line.number} must point to {wanted}.",
                f"Add pointer {on_claim[0] + 1} to line {line.number}.",
            )
        return (
            f"line {line.number} must point to {wanted}, which the claim does not list.",
            f"Add {wanted} to the diagnoses and point line {line.number} to it.",
        )


Z006_POSITION_NOTE = (
    "CMS accepts Z00.6 as the primary or a secondary diagnosis (Medicare Claims Processing Manual, Pub 100-04 ch. 32 "
    "§69.6) [likely]"
)


def _attests_enrolment(requirement: DiagnosisRequirement) -> bool:
    return any(code.replace(".", "").strip().upper() in ENROLMENT_DIAGNOSES for code in requirement.codes)


def _enrolment_code_first(found: str, rule: PayerRuleVersion | None) -> tuple[str, str, str]:
    """Z00.6 listed first: accepted by CMS, but the indication is expected primary (issue 13 point 6) -> a
    warning. The billing guide's Z00.6 row (the mild® profile's claim fields) says the same."""
    primary = [r for r in (rule.required_diagnoses if rule else ()) if r.position == POSITION_PRIMARY]
    indication = _wanted_text(primary[0]) if primary else "the condition treated"
    return (
        f"{found} is the first diagnosis. {Z006_POSITION_NOTE}; the indication ({indication}) is expected as the "
        f"primary diagnosis and {found} as a secondary one.",
        f"List {indication} first and {found} after it.",
        WARNING,
    )


class PayerRequiresTrialNumber(Rule):
    """The payer covers this service only within a clinical study and needs the study's clinical-trial number:
    NCT followed by 8 digits."""

    id = "PAYER_REQUIRES_TRIAL_NUMBER"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        number = normalised_trial_number(ctx.claim.clinical_trial_number)
        if number and TRIAL_NUMBER.fullmatch(number):
            return
        needing = [(rule, lines) for rule, lines in once_per_rule(ctx) if rule.trial_number_required]
        if not needing:
            return
        rule, _ = needing[0]
        lines = [line for _, rule_lines in needing for line in rule_lines]
        problem = (
            "The claim has no clinical-trial number."
            if not number
            else f"{ctx.claim.clinical_trial_number} is not NCT followed by 8 digits."
        )
        example = next((trial for trial in rule.approved_trials), "NCT03072927")
        yield self.finding(
            f"{problem} {payer_name(ctx)} requires it for {and_list(codes_of(lines))} under {source(rule)}."
            f"{caveat(rule)}",
            codes=codes_of(lines),
            reference="; ".join(r.describe() for r, _ in needing),
            suggestion=both_paths(
                ctx,
                rule,
                f"enter the study's NCT number (NCT + 8 digits, e.g. {example}; the 8 digits go in "
                f"{TRIAL_NUMBER_PLACE}), Q0 on the line and Z00.6 as a diagnosis.",
            )
            if not number
            else f"Enter the study's NCT number (NCT + 8 digits, e.g. {example}): the 8-digit number goes "
            f"in {TRIAL_NUMBER_PLACE}.",
        )


class PayerTrialNotApproved(Rule):
    """The clinical-trial number is not one of the studies the payer has approved for this service."""

    id = "PAYER_TRIAL_NOT_APPROVED"
    severity = WARNING

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        """Two checks: the number on the payer rule's list of studies, and, for a code billed only in the blinded
        or placebo arm of a CED trial (G0276, HCPCS descriptor), a study that has such an arm
        (billing.checking.studies; issue 13 point 3)."""
        number = normalised_trial_number(ctx.claim.clinical_trial_number)
        if not number or not TRIAL_NUMBER.fullmatch(number):
            return
        for rule, lines in once_per_rule(ctx):
            approved = [trial.strip().upper() for trial in rule.approved_trials]
            arm_lines = [line for line in lines if blinded_arm_problem(line.code, number)]
            other_lines = [line for line in lines if line not in arm_lines]
            for code in codes_of(arm_lines):
                yield self.finding(
                    f"{number} does not fit {code} under {source(rule)}: {blinded_arm_problem(code, number)}"
                    f"{caveat(rule)}",
                    codes=(code, number),
                    reference=f"{rule.describe()}; {BLINDED_ARM_CODES[code]}",
                    suggestion=f"Check the patient's study and the code: a patient in {number} who had mild® is "
                    f"billed with 0275T and Q0; {code} only for the blinded or placebo-control arm of an approved "
                    "CED randomised trial, with that trial's NCT number.",
                )
            if not other_lines or not approved or number in approved:
                continue
            yield self.finding(
                f"{number} is not on {payer_name(ctx)}'s list for {and_list(codes_of(other_lines))} under "
                f"{source(rule)} (approved: {', '.join(approved)}).{caveat(rule)}",
                codes=(*codes_of(other_lines), number),
                reference=rule.describe(),
                suggestion=f"Check the patient's study: use the NCT number of the approved study they are enrolled "
                f"in ({or_list(approved)}); outside an approved study the service is not covered.",
            )


class PayerRequiresPriorAuth(Rule):
    """The payer requires prior authorisation for this service and the claim has no authorisation number."""

    id = "PAYER_REQUIRES_PRIOR_AUTH"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.claim.prior_authorization_number:
            return
        for rule, lines in once_per_rule(ctx):
            if not rule.prior_auth_required:
                continue
            yield self.finding(
                f"{payer_name(ctx)} requires prior authorisation for {and_list(codes_of(lines))} under "
                f"{source(rule)}.{caveat(rule)}",
                severity=WARNING if rule.certainty == "unverified" else None,  # unverified facts warn
                codes=codes_of(lines),
                reference=rule.describe(),
                suggestion="Enter the payer's authorisation number (CMS-1500 item 23 / 837P REF*G1); if there is "
                "none, ask the payer about a retroactive authorisation before sending the claim.",
            )


class PayerPlaceOfService(Rule):
    """The payer's rule does not allow this site of service for the code."""

    id = "PAYER_PLACE_OF_SERVICE"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        place = ctx.claim.place_of_service
        for rule, lines in once_per_rule(ctx):
            allowed = [p.strip().zfill(2) for p in rule.allowed_places_of_service]
            if not allowed or place in allowed:
                continue
            severity = rule.place_of_service_severity if rule.place_of_service_severity in (ERROR, WARNING) else ERROR
            yield self.finding(
                f"{payer_name(ctx)} allows {and_list(codes_of(lines))} only in place of service "
                f"{or_list(allowed)} under {source(rule)}; the claim says {place}.{caveat(rule)}",
                severity=severity,
                codes=(*codes_of(lines), place),
                reference=rule.describe(),
                suggestion=f"Check where the service was given: if the place of service is right, the payer is "
                f"likely to deny it; if not, correct it ({or_list(allowed)}).",
            )


class PayerRequiresConditionCode(Rule):
    """An institutional claim for a clinical-study service needs condition code 30 (qualifying clinical trial)."""

    id = "PAYER_REQUIRES_CONDITION_CODE"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        claim = ctx.claim
        if claim.claim_type != INSTITUTIONAL or CLINICAL_TRIAL_CONDITION_CODE in claim.condition_codes:
            return
        for rule, lines in once_per_rule(ctx):
            if rule.coverage != COVERED_CED and not rule.trial_number_required:
                continue
            yield self.finding(
                f"{payer_name(ctx)} covers {and_list(codes_of(lines))} only within a clinical study under "
                f"{source(rule)}; the claim has no condition code 30.{caveat(rule)}",
                codes=(*codes_of(lines), CLINICAL_TRIAL_CONDITION_CODE),
                reference=f"{rule.describe()}; Medicare Claims Processing Manual (Pub 100-04) ch. 32 §69: "
                "condition code 30 on institutional clinical-trial claims",
                suggestion=both_paths(ctx, rule, "add condition code 30 (UB-04 form locators 18-28 / 837I HI*BG).")
                if enrolment_unstated(ctx, rule)
                else "Add condition code 30 to the claim (UB-04 form locators 18-28 / 837I HI*BG).",
            )
            return
