"""The Changes sheet's data: what changed for a guide's procedure from the year before to the guide's year.

The conversion factor; the procedure codes added, terminated or changed in the PFS file; its diagnoses' ICD-10-CM
status; every amount (old and new); the payer rule versions that started or ended. Reads only what the builder
already holds (``billing.guide.year``): no query.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from billing.guide.data import CHANGE_AMOUNT, CHANGE_CODE, CHANGE_RULE, ChangeRow, Locality, PaymentRow, join_notes
from billing.guide.fees import NOT_LOADED, conversion_factor_source
from billing.guide.year import YearCoding, YearRules
from codes import snapshot as k
from codes.formats.icd10 import icd10cm_display
from practice import policy

NOT_COMPARED = "Not compared"  # a Changes row saying what could not be compared, and why


class YearChanges:
    """The changes from ``prev``'s year to ``cur``'s for a procedure's codes, diagnoses, amounts and payer rules."""

    def __init__(
        self,
        cur: YearCoding,
        prev: YearCoding,
        profile: policy.ProcedureProfileInfo,
        procedure_codes: list[policy.ProfileCodeInfo],
        rules: YearRules,
        practice_id: int | None,
        locality: Locality | None,
    ):
        self.cur, self.prev = cur, prev
        self.year, self.previous = cur.year, prev.year
        self.profile, self.procedure_codes = profile, procedure_codes
        self.rules, self.practice_id, self.locality = rules, practice_id, locality

    def rows(
        self,
        now: list[PaymentRow],
        before: list[PaymentRow],
        cf: tuple[Decimal | None, str],
        cf_before: tuple[Decimal | None, str],
    ) -> list[ChangeRow]:
        out: list[ChangeRow] = []
        year = self.year
        (cf, cf_source), (cf_before, cf_before_source) = cf, cf_before
        if cf is not None or cf_before is not None:
            entry = conversion_factor_source(self.cur.on(k.PFS_RVU) or self.cur.last)
            out.append(
                ChangeRow(
                    CHANGE_AMOUNT,
                    "Conversion factor",
                    "Medicare PFS conversion factor",
                    cf_before if cf_before is not None else NOT_LOADED,
                    cf if cf is not None else NOT_LOADED,
                    entry.start if entry and entry.start.year == year else date(year, 1, 1),
                    " / ".join(dict.fromkeys(x for x in (cf_before_source, cf_source) if x)),
                    decimals=4,
                )
            )
        out += self._code_changes()
        out += self._diagnosis_changes()
        out += self._amount_changes(now, before)
        out += self._rule_changes()
        return out

    def _code_changes(self) -> list[ChangeRow]:
        out = []
        year = self.year
        pfs_now, pfs_before = self.cur.data(k.PFS_RVU), self.prev.data(k.PFS_RVU)
        for code in self.procedure_codes:
            what, old, new, when, source = [], None, None, None, []
            start, end = self.cur.code_dates(code.code)
            if end is not None and date(year - 1, 12, 31) <= end < date(year, 12, 31):
                what.append(f"terminated: last valid day {end.isoformat()}")
                old, new, when = "valid", "terminated", end + timedelta(days=1)
            elif start is not None and date(year, 1, 1) <= start <= date(year, 12, 31):
                what.append(f"added: valid from {start.isoformat()}")
                old, new, when = "not valid", "valid", start
            if pfs_now is not None and pfs_before is not None:
                a, b = pfs_before.get((code.code, "")), pfs_now.get((code.code, ""))
                if a is not None and b is None:
                    what.append(f"not in the {year} PFS file (status {a.status} in {year - 1}): treat as deleted")
                    old, new = old or f"PFS status {a.status}", new or "not in the PFS file"
                elif a is None and b is not None:
                    what.append(f"new in the {year} PFS file (status {b.status})")
                    old, new = old or "not in the PFS file", new or f"PFS status {b.status}"
                elif a is not None and b is not None and a.status != b.status:
                    what.append(f"PFS status {a.status} -> {b.status}")
                    old, new = old or f"PFS status {a.status}", new or f"PFS status {b.status}"
                if a is not None or b is not None:
                    source.append(f"{pfs_before.ref.label} / {pfs_now.ref.label}")
            elif pfs_now is not None and pfs_now.get((code.code, "")) is None and not what:
                what.append(f"not in the {year} PFS file")
                source.append(pfs_now.ref.label)
            if what:
                summary = self.cur.data(k.PROCEDURE_SUMMARIES) or self.cur.data(k.HCPCS)
                if summary is not None and (start or end):
                    source.insert(0, summary.ref.label)
                out.append(
                    ChangeRow(CHANGE_CODE, code.code, "; ".join(what).capitalize(), old, new, when, join_notes(source))
                )
        return out

    def _diagnosis_changes(self) -> list[ChangeRow]:
        now, before = self.cur.data(k.ICD10CM), self.prev.data(k.ICD10CM)
        if now is None or before is None or now.ref.id == before.ref.id:
            return []
        out = []
        for code in self.profile.of("icd10cm"):
            a, b = before.get(code.code), now.get(code.code)
            if (a is None) == (b is None) and (a is None or a.billable == b.billable):
                continue
            state = lambda row: "not a code" if row is None else ("billable" if row.billable else "header")  # noqa: E731
            out.append(
                ChangeRow(
                    CHANGE_CODE,
                    icd10cm_display(code.code),
                    f"ICD-10-CM: {state(a)} in {before.ref.label}, {state(b)} in {now.ref.label}",
                    state(a),
                    state(b),
                    now.ref.effective_from,
                    f"{before.ref.label} / {now.ref.label}",
                )
            )
        return out

    def _amount_changes(self, now: list[PaymentRow], before: list[PaymentRow]) -> list[ChangeRow]:
        if not self.prev.loaded(k.PFS_RVU) or not self.cur.loaded(k.PFS_RVU):
            missing = self.previous if not self.prev.loaded(k.PFS_RVU) else self.year
            return [
                ChangeRow(
                    NOT_COMPARED,
                    "Physician amounts",
                    f"No PFS RVU file covering {missing} is loaded: amounts are not compared",
                    source="Sources sheet",
                )
            ]
        old_rows = {(r.code, r.modifier): r for r in before}
        source = f"{self.prev.data(k.PFS_RVU).ref.label} / {self.cur.data(k.PFS_RVU).ref.label}"
        effective = date(self.year, 1, 1)
        fields = [("national_nonfacility", "non-facility, national"), ("national_facility", "facility, national")]
        if self.locality:
            code = self.locality.code
            fields += [("locality_nonfacility", f"non-facility, {code}"), ("locality_facility", f"facility, {code}")]
        fields += [("opps_rate", "OPPS national"), ("asc_rate", "ASC national")]
        out = []
        for row in now:
            old_row = old_rows.get((row.code, row.modifier))
            for name, label in fields:
                new = getattr(row, name)
                old = getattr(old_row, name) if old_row is not None else "not in the file"
                if not isinstance(old, Decimal) and not isinstance(new, Decimal):
                    continue  # text both years (carrier priced, NA, not loaded): nothing to compare
                subject = f"{row.code}{'-' + row.modifier if row.modifier else ''} {label}"
                what = "PFS amount" if not name.startswith(("opps", "asc")) else "National unadjusted rate"
                if old == new:
                    what += ": unchanged"
                out.append(ChangeRow(CHANGE_AMOUNT, subject, what, old, new, effective, source))
        return out

    def _rule_changes(self) -> list[ChangeRow]:
        out = []
        codes = own_codes(self.profile)
        end_before = date(self.previous, 12, 31)
        for payer in self.rules.payers:
            before = {
                key: v
                for key, v in self.rules.on(payer.key, end_before, self.practice_id).items()
                if codes & set(v.codes)
            }
            during = [v for v in self.rules.in_year(payer.key, self.year, self.practice_id) if codes & set(v.codes)]
            series: dict[str, list[policy.PayerRuleVersion]] = {}
            for v in during:
                series.setdefault(v.key or v.name, []).append(v)
            for key in sorted(set(before) | set(series)):
                chain = [before.get(key)] + [v for v in series.get(key, []) if v is not before.get(key)]
                subject = f"{payer.name}: {(chain[-1] or chain[0]).reference or (chain[-1] or chain[0]).name}"
                for old, new in zip(chain, chain[1:]):
                    if old is not None and old.id == new.id:
                        continue
                    what = _rule_diff(old, new)
                    out.append(
                        ChangeRow(
                            CHANGE_RULE,
                            subject,
                            what,
                            _coverage_text(old) if old else "no rule",
                            _coverage_text(new),
                            new.effective_from,
                            f"{new.reference or new.name} [{new.certainty}]",
                        )
                    )
                last = chain[-1]
                if last is not None and last.effective_to and last.effective_to < date(self.year, 12, 31):
                    out.append(
                        ChangeRow(
                            CHANGE_RULE,
                            subject,
                            f"Version {last.version} ends on {last.effective_to.isoformat()}; no later version loaded",
                            _coverage_text(last),
                            "no rule",
                            last.effective_to + timedelta(days=1),
                            f"{last.reference or last.name} [{last.certainty}]",
                        )
                    )
        return out


def own_codes(profile: policy.ProcedureProfileInfo) -> set[str]:
    """The procedure's own codes (primary, alternative): a related code's rules belong to its own profile."""
    return {c.code for c in profile.of("procedure", "primary", "alternative")}


def _coverage_text(v: policy.PayerRuleVersion) -> str:
    text = {
        policy.COVERED: "covered",
        policy.COVERED_CED: "CED only",
        policy.NOT_COVERED: "not covered",
        policy.INVESTIGATIONAL: "investigational",
    }.get(v.coverage, v.coverage)
    return f"v{v.version}: {text}"


def _rule_diff(old: policy.PayerRuleVersion | None, new: policy.PayerRuleVersion) -> str:
    """What a new version changes, in words."""
    start = f"Version {new.version} from {new.effective_from.isoformat()}"
    if old is None:
        return f"{start}: {new.name} ({policy.COVERAGE_CHOICES.get(new.coverage, new.coverage)})"

    def listed(values) -> str:
        return ", ".join(values) or "none"

    def diagnoses(v: policy.PayerRuleVersion) -> str:
        return listed(f"{'/'.join(icd10cm_display(c) for c in r.codes)} {r.position}" for r in v.required_diagnoses)

    checks = [
        ("coverage", lambda v: policy.COVERAGE_CHOICES.get(v.coverage, v.coverage)),
        ("modifiers", lambda v: listed(v.required_modifiers)),
        ("diagnoses", diagnoses),
        ("NCT number required", lambda v: "yes" if v.trial_number_required else "no"),
        ("approved studies", lambda v: listed(v.approved_trials)),
        ("prior authorisation", lambda v: "required" if v.prior_auth_required else "not required"),
        ("places of service", lambda v: listed(v.allowed_places_of_service) if v.allowed_places_of_service else "any"),
        ("certainty", lambda v: v.certainty),
    ]
    changed = [f"{name}: {get(old)} -> {get(new)}" for name, get in checks if get(old) != get(new)]
    return f"{start}: " + ("; ".join(changed) if changed else "same requirements, new version (see its notes)")
