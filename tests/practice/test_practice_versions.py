"""New version from a date: the old version keeps its rule, ends the day before; both writes are in the history."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from practice import services
from practice.models import PayerRule


def test_new_version_closes_the_old_one_and_copies_it(make_rule, no_codesets, django_user_model):
    user = django_user_model.objects.create_user("lead", password="pw")
    old = make_rule(version=2, effective_from=date(2016, 12, 7), notes="v2 notes")
    before = {f: getattr(old, f) for f in PayerRule.RULE_FIELDS if f != "effective_to"}

    new = services.new_version_from(old, date(2026, 3, 4), reason="NCD modified 2026-03-04", user=user)

    old.refresh_from_db()
    assert old.effective_to == date(2026, 3, 3)
    assert {f: getattr(old, f) for f in PayerRule.RULE_FIELDS if f != "effective_to"} == before
    assert new.pk != old.pk
    assert (new.version, new.effective_from, new.effective_to) == (3, date(2026, 3, 4), None)
    assert (new.codes, new.required_modifiers, new.notes) == (old.codes, old.required_modifiers, "v2 notes")
    assert old.is_superseded and not new.is_superseded

    closing = old.history.first()
    assert closing.history_user == user
    assert closing.history_type == "~"
    assert "NCD modified 2026-03-04" in closing.history_change_reason
    assert closing.prev_record.effective_to is None  # the old dates are still in the history
    created = new.history.get()
    assert created.history_type == "+"
    assert created.history_user == user
    assert "copied from version 2" in created.history_change_reason


def test_new_version_keeps_a_closed_end_date(make_rule, no_codesets):
    old = make_rule(version=1, effective_from=date(2014, 1, 9), effective_to=date(2016, 12, 6))
    new = services.new_version_from(old, date(2015, 1, 1), reason="split")
    assert new.effective_to == date(2016, 12, 6)
    old.refresh_from_db()
    assert old.effective_to == date(2014, 12, 31)


@pytest.mark.parametrize("start", [date(2016, 12, 7), date(2016, 1, 1), date(2017, 1, 1)])
def test_new_version_start_must_fall_inside_the_version(make_rule, no_codesets, start):
    old = make_rule(version=1, effective_from=date(2016, 12, 7), effective_to=date(2016, 12, 31))
    with pytest.raises(ValidationError) as exc:
        services.new_version_from(old, start, reason="x")
    assert "start" in exc.value.message_dict
    old.refresh_from_db()
    assert old.effective_to == date(2016, 12, 31)
    assert PayerRule.objects.count() == 1
    assert old.history.count() == 1


def test_new_version_refused_when_its_codes_are_not_in_effect_then(make_rule, codesets):
    old = make_rule(version=1, codes=["72275"], effective_from=date(2024, 1, 1))
    with pytest.raises(ValidationError) as exc:
        services.new_version_from(old, date(2025, 6, 1), reason="x")
    assert "codes" in exc.value.message_dict
    old.refresh_from_db()
    assert old.effective_to is None  # the closing was rolled back
    assert PayerRule.objects.count() == 1
