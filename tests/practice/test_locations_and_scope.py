"""Practice locations take their MAC, locality and state from the ZIP crosswalk; payer rules scoped to states or
MAC contractors apply only there; frequency limits are validated on the rule."""

from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from codes import snapshot as k
from codes.loading import load_files
from practice import policy
from practice.models import Location, Practice

DATA = Path(__file__).resolve().parents[1] / "data"
TX = policy.LocationInfo("tx-asc", "Dallas ASC", "TX", "04412", "11", "24", "75201")
AL = policy.LocationInfo("al-asc", "Birmingham ASC", "AL", "10112", "00", "24", "35203")


@pytest.fixture
def practice(codesets):
    load_files(k.ZIP5, [DATA / "cms" / "ZIP5_sample_OCT2025.txt"])
    return Practice.objects.create(key="p", name="P", npi="1000000004")


def test_a_zip_fills_contractor_locality_and_state(practice):
    loc = Location(practice=practice, key="TX-ASC", name="Dallas", zip_code="75201-1234", place_of_service="24")
    loc.full_clean()
    assert (loc.key, loc.mac, loc.locality, loc.state) == ("tx-asc", "04412", "11", "TX")


def test_values_that_contradict_the_zip_are_refused_by_field(practice):
    loc = Location(practice=practice, name="x", zip_code="75201", place_of_service="24", mac="10112", state="TX")
    with pytest.raises(ValidationError) as caught:
        loc.full_clean()
    assert set(caught.value.message_dict) == {"mac"}
    assert "ZIP 75201 is in TX, contractor 04412, locality 11" in caught.value.message_dict["mac"][0]


def test_without_a_known_zip_the_values_must_be_given(practice):
    loc = Location(practice=practice, name="x", zip_code="00000", place_of_service="24")
    with pytest.raises(ValidationError) as caught:
        loc.full_clean()
    assert set(caught.value.message_dict) == {"mac", "locality", "state"}
    bad = Location(practice=practice, name="y", zip_code="7520", place_of_service="24")
    with pytest.raises(ValidationError) as caught:
        bad.full_clean()
    assert "zip_code" in caught.value.message_dict


def _version(**kw) -> policy.PayerRuleVersion:
    return policy.PayerRuleVersion(
        id=1,
        name="r",
        payer_key="medicare",
        codes=("62323",),
        effective_from=date(2026, 1, 1),
        effective_to=None,
        version=1,
        coverage="covered",
        **kw,
    )


def test_scope_by_state_and_by_contractor():
    national, wiser, novitas = _version(), _version(states=("TX", "AZ")), _version(macs=("04412",))
    assert national.applies_at(None) and national.applies_at(AL)
    assert wiser.applies_at(TX) and not wiser.applies_at(AL) and not wiser.applies_at(None)
    assert novitas.applies_at(TX) and not novitas.applies_at(AL)
    assert "only in states TX, AZ" in wiser.describe()


def test_scope_and_frequency_are_checked_on_save(make_rule):
    with pytest.raises(ValidationError) as caught:
        make_rule(states=["tx", "Texas"], macs=["4412"], frequency_limit={"sessions": 0, "groups": {"x": ["99999"]}})
    errors = caught.value.message_dict
    assert errors["states"] == ["TEXAS: a state is its two-letter code (TX)."]
    assert errors["macs"] == ["4412: a MAC contractor number is five digits (04412)."]
    assert "sessions: a whole number from 1 to 365." in errors["frequency_limit"]
    assert "groups[x]: 99999 not among the rule's codes." in errors["frequency_limit"]
    good = make_rule(
        states=["tx"], frequency_limit={"sessions": 4, "window_days": 365, "groups": {"lumbar": ["0275t"]}}
    )
    version = good.as_version()
    assert version.states == ("TX",) and version.frequency.sessions == 4
    assert version.frequency.group_of("0275T") == "lumbar" and version.frequency.groups == (("lumbar", ("0275T",)),)


def test_sides_from_modifiers():
    assert policy.FrequencyLimit.sides(("RT",)) == ("right",)
    assert policy.FrequencyLimit.sides(("50", "XS")) == ("left", "right")
    assert policy.FrequencyLimit.sides(()) == ("unspecified",)
