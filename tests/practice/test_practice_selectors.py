"""Selectors: versions by date, practice overrides, RuleBook without a query per claim."""

from datetime import date

import pytest

from practice import policy
from practice.models import PayerRule, Practice, PracticeMembership, ProcedureProfile, ProfileCode
from practice.selectors import RuleBook, payer_info, practices_for, procedure_profile, rules_in_force


@pytest.fixture
def two_versions(make_rule, no_codesets):
    v1 = make_rule(version=1, effective_from=date(2014, 1, 9), effective_to=date(2016, 12, 6), approved_trials=[])
    v2 = make_rule(version=2, effective_from=date(2016, 12, 7))
    return v1, v2


def test_version_by_date_of_service(two_versions):
    v1, v2 = two_versions
    assert [r.version for r in rules_in_force("medicare", date(2015, 6, 1))] == [1]
    assert [r.version for r in rules_in_force("medicare", date(2026, 3, 2))] == [2]
    assert [r.version for r in rules_in_force("medicare", date(2016, 12, 6))] == [1]
    assert [r.version for r in rules_in_force("medicare", date(2016, 12, 7))] == [2]
    assert rules_in_force("medicare", date(2013, 1, 1)) == []
    assert rules_in_force("nobody", date(2026, 1, 1)) == []


def test_plain_objects_carry_the_rule(two_versions):
    (rule,) = rules_in_force("medicare", date(2026, 3, 2))
    assert isinstance(rule, policy.PayerRuleVersion)
    assert rule.key == "ncd-150-13" and rule.payer_key == "medicare"
    assert rule.applies_to("0275T") and not rule.applies_to("G0276")
    assert rule.required_diagnoses == (policy.DiagnosisRequirement(("Z006",), "secondary", "sure"),)
    assert rule.approved_trials == ("NCT03072927",)
    assert rule.place_of_service_severity == "warning"
    assert not rule.practice_override
    assert "v2 (in force from 2016-12-07)" in rule.describe()


def test_practice_override_wins_over_the_global_rule(two_versions, make_rule):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    other = Practice.objects.create(key="o", name="O", npi="1000000004")
    make_rule(version=1, practice=practice, effective_from=date(2025, 1, 1), prior_auth_required=True)

    (own,) = rules_in_force("medicare", date(2026, 3, 2), practice.pk)
    assert own.practice_override and own.prior_auth_required and own.practice_id == practice.pk
    # before the override starts, the global version applies to the practice too
    (before,) = rules_in_force("medicare", date(2020, 1, 1), practice.pk)
    assert before.version == 2 and not before.practice_override
    # other practices and the global question keep the global rule
    assert not rules_in_force("medicare", date(2026, 3, 2), other.pk)[0].practice_override
    assert not rules_in_force("medicare", date(2026, 3, 2))[0].practice_override


def test_a_practice_rule_of_its_own_adds_to_the_global_ones(two_versions, make_rule):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    make_rule(key="local-prior-auth", name="Local", practice=practice, prior_auth_required=True)
    keys = [r.key for r in rules_in_force("medicare", date(2026, 3, 2), practice.pk)]
    assert keys == ["local-prior-auth", "ncd-150-13"]


def test_rulebook_answers_from_memory(two_versions, make_rule, payers, django_assert_num_queries):
    make_rule(payer=payers["commercial-bcbs"], key="bcbs", coverage="investigational")
    with django_assert_num_queries(2):
        book = RuleBook.load()
    with django_assert_num_queries(0):
        assert book.payer("medicare").payer_type == policy.MEDICARE_FFS
        assert book.payer("nobody") is None
        assert [r.version for r in book.rules_for("medicare", date(2015, 6, 1))] == [1]
        assert [r.coverage for r in book.rules_for("commercial-bcbs", date(2026, 3, 2))] == ["investigational"]
        assert book.rules_for_code("medicare", "G0276", date(2026, 3, 2)) == []
        for day in range(1, 29):
            book.rules_for("medicare", date(2026, 2, day), practice_id=1)


def test_payer_info(payers):
    payers["medicare"].filing_limit_days = 365
    payers["medicare"].save()
    info = payer_info("medicare")
    assert info == policy.PayerInfo("medicare", "Medicare Part B", policy.MEDICARE_FFS, 365)
    assert payer_info("nobody") is None


def test_practices_for(db, django_user_model, superuser):
    a = Practice.objects.create(key="a", name="A", npi="1234567893")
    Practice.objects.create(key="b", name="B", npi="1000000004")
    staff = django_user_model.objects.create_user("billing", password="pw")
    PracticeMembership.objects.create(user=staff, practice=a)
    loner = django_user_model.objects.create_user("loner", password="pw")
    assert list(practices_for(staff)) == [a]
    assert list(practices_for(loner)) == []
    assert practices_for(superuser).count() == 2
    from django.contrib.auth.models import AnonymousUser

    assert list(practices_for(AnonymousUser())) == []


def test_procedure_profile(db):
    profile = ProcedureProfile.objects.create(key="mild", name="mild®")
    ProfileCode.objects.create(profile=profile, system="procedure", code="0275T", role="primary")
    ProfileCode.objects.create(profile=profile, system="procedure", code="G0276", role="alternative")
    ProfileCode.objects.create(profile=profile, system="icd10cm", code="M48062", role="usual")
    info = procedure_profile("mild")
    assert info.primary_codes == ("0275T",)
    assert info.procedure_codes == ("0275T", "G0276")
    assert [c.code for c in info.of("icd10cm")] == ["M48062"]
    assert procedure_profile("nope") is None


def test_rule_version_fields_match_the_model(two_versions):
    rule = PayerRule.objects.get(version=2)
    version = rule.as_version()
    assert version.id == rule.pk and version.effective_to is None
