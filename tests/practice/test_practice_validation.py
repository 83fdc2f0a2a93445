"""Bad input is refused with a message on the field and nothing saved."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from practice import services
from practice.models import Location, PayerRule, Practice, ProfileCode, Provider
from practice.validators import npi_check_digit, npi_is_valid, validate_npi


def test_npi_check_digit_known_values():
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")  # nine digits
    assert not npi_is_valid("12345678AB")


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), st.integers(min_value=1, max_value=9))
def test_npi_only_the_computed_check_digit_passes(first_nine, shift):
    good = first_nine + str(npi_check_digit(first_nine))
    bad = first_nine + str((npi_check_digit(first_nine) + shift) % 10)
    assert npi_is_valid(good)
    assert not npi_is_valid(bad)


def test_npi_message_says_what_is_wrong():
    with pytest.raises(ValidationError, match="check digit"):
        validate_npi("1234567890")


def test_provider_with_bad_npi_is_refused_on_the_field(db):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    provider = Provider(practice=practice, name="Dr X", npi="1234567890", taxonomy_code="208VP0014X")
    with pytest.raises(ValidationError) as exc:
        provider.full_clean()
    assert "npi" in exc.value.message_dict
    assert Provider.objects.count() == 0


def test_practice_npi_and_tax_id_validated(db):
    with pytest.raises(ValidationError) as exc:
        Practice(key="p", name="P", npi="1000000005", tax_id="12-345").full_clean()
    assert set(exc.value.message_dict) == {"npi", "tax_id"}


def test_bad_taxonomy_refused(db):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    with pytest.raises(ValidationError) as exc:
        Provider(practice=practice, name="Dr X", npi="1234567893", taxonomy_code="208VP0014").full_clean()
    assert "taxonomy_code" in exc.value.message_dict


def test_location_pos_must_be_two_digits(no_codesets):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    loc = Location(practice=practice, name="ASC", place_of_service="2A", mac="10112", locality="00", state="AL")
    with pytest.raises(ValidationError) as exc:
        loc.full_clean()
    assert "place_of_service" in exc.value.message_dict


def test_location_unknown_pos_refused_when_places_of_service_loaded(codesets):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    loc = Location(practice=practice, name="ASC", place_of_service="98", mac="10112", locality="00", state="al")
    with pytest.raises(ValidationError) as exc:
        loc.full_clean()
    assert "98" in exc.value.message_dict["place_of_service"][0]
    loc.place_of_service = "24"
    loc.full_clean()
    assert loc.state == "AL"
    assert loc.locality_code == "10112-00"


def _refused(make_rule, field, **overrides):
    with pytest.raises(ValidationError) as exc:
        make_rule(**overrides)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert PayerRule.objects.count() == 0
    return exc.value.message_dict[field]


def test_nct_must_be_nct_and_8_digits(make_rule, no_codesets):
    messages = _refused(make_rule, "approved_trials", approved_trials=["NCT0307292", "nct03072927"])
    assert len(messages) == 1 and "NCT0307292" in messages[0]


def test_malformed_codes_refused_on_their_fields(make_rule, no_codesets):
    _refused(make_rule, "codes", codes=["275T"])
    _refused(make_rule, "codes", codes=[])
    _refused(make_rule, "required_modifiers", required_modifiers=["Q0X"])
    _refused(make_rule, "allowed_places_of_service", allowed_places_of_service=["2"])
    _refused(make_rule, "required_diagnoses", required_diagnoses=[{"codes": ["Z0"], "position": "secondary"}])
    _refused(make_rule, "required_diagnoses", required_diagnoses=[{"codes": ["Z00.6"], "position": "first"}])
    _refused(make_rule, "required_diagnoses", required_diagnoses=["Z00.6"])


def test_unknown_procedure_code_refused_when_code_sets_loaded(make_rule, codesets):
    messages = _refused(make_rule, "codes", codes=["0275T", "0999T"])
    assert messages == ["Procedure code 0999T is not in the loaded code sets in force on 2026-01-01."]


def test_code_not_in_effect_on_the_rule_start_refused(make_rule, codesets):
    messages = _refused(make_rule, "codes", codes=["72275"], effective_from=date(2025, 3, 1))
    assert "not in effect on 2025-03-01" in messages[0]


def test_unknown_modifier_refused(make_rule, codesets):
    messages = _refused(make_rule, "required_modifiers", required_modifiers=["Q9"])
    assert "Modifier Q9" in messages[0]


def test_modifier_not_yet_added_refused(make_rule, codesets):
    messages = _refused(make_rule, "required_modifiers", required_modifiers=["XS"], effective_from=date(2014, 6, 1))
    assert "not in effect on 2014-06-01" in messages[0]


def test_unknown_pos_refused(make_rule, codesets):
    messages = _refused(make_rule, "allowed_places_of_service", allowed_places_of_service=["24", "98"])
    assert "98" in messages[0]


def test_unknown_or_header_diagnosis_refused(make_rule, codesets):
    messages = _refused(make_rule, "required_diagnoses", required_diagnoses=[{"codes": ["Z99.89"]}])
    assert "Z99.89" in messages[0]
    messages = _refused(make_rule, "required_diagnoses", required_diagnoses=[{"codes": ["M48.06"]}])
    assert "header" in messages[0]


def test_diagnosis_prefix_needs_an_existing_stem(make_rule, codesets):
    rule = make_rule(required_diagnoses=[{"codes": ["M48*"], "position": "primary"}])
    assert rule.required_diagnoses == [{"codes": ["M48*"], "position": "primary", "certainty": "sure"}]


def test_rule_with_known_codes_saved_normalised_and_checked(make_rule, codesets):
    rule = make_rule(codes=[" 0275t "], required_diagnoses=[{"codes": ["z00.6"], "position": "secondary"}])
    assert rule.codes == ["0275T"]
    assert rule.required_diagnoses == [{"codes": ["Z006"], "position": "secondary", "certainty": "sure"}]
    assert rule.code_check_notes == ""


def test_without_a_release_for_the_date_the_rule_is_accepted_with_a_note(make_rule, codesets):
    rule = make_rule(effective_from=date(2014, 1, 9))
    assert "No procedure code release covering 2014-01-09 is loaded: 0275T not checked" in rule.code_check_notes
    assert "No ICD-10-CM release covering 2014-01-09" in rule.code_check_notes
    assert "modifier" not in rule.code_check_notes  # modifiers are loaded from 2008: checked


def test_overlapping_versions_refused(make_rule, no_codesets):
    make_rule(version=1, effective_from=date(2014, 1, 9), effective_to=date(2016, 12, 6))
    with pytest.raises(ValidationError) as exc:
        make_rule(version=2, effective_from=date(2016, 12, 1))
    assert "Overlaps version 1" in exc.value.message_dict["effective_from"][0]
    with pytest.raises(ValidationError):
        make_rule(version=2, effective_from=date(2010, 1, 1), effective_to=date(2014, 1, 9))
    assert PayerRule.objects.count() == 1
    make_rule(version=2, effective_from=date(2016, 12, 7))
    assert PayerRule.objects.count() == 2


def test_open_version_blocks_any_later_version(make_rule, no_codesets):
    make_rule(version=1, effective_from=date(2014, 1, 9))
    with pytest.raises(ValidationError):
        make_rule(version=2, effective_from=date(2030, 1, 1))


def test_editing_an_in_force_version_into_an_overlap_is_refused(make_rule, no_codesets):
    v1 = make_rule(version=1, effective_from=date(2014, 1, 9), effective_to=date(2016, 12, 6))
    v2 = make_rule(version=2, effective_from=date(2016, 12, 7))
    v2.effective_from = date(2016, 1, 1)
    with pytest.raises(ValidationError):
        services.save_rule(v2, reason="move")
    v1.effective_to = None
    with pytest.raises(ValidationError):
        services.save_rule(v1, reason="reopen")
    v2.refresh_from_db()
    assert v2.effective_from == date(2016, 12, 7)


def test_a_practice_override_does_not_overlap_the_global_series(make_rule, no_codesets):
    practice = Practice.objects.create(key="p", name="P", npi="1234567893")
    make_rule(version=1)
    make_rule(version=1, practice=practice)  # same dates: a separate series (the practice's own)
    assert PayerRule.objects.count() == 2


def test_dates_in_order(make_rule, no_codesets):
    _refused(make_rule, "effective_to", effective_to=date(2025, 1, 1))


def test_save_requires_a_reason(payers, no_codesets):
    rule = PayerRule(payer=payers["medicare"], key="k", name="n", effective_from=date(2026, 1, 1), codes=["0275T"])
    rule.coverage = "covered"
    with pytest.raises(ValidationError) as exc:
        services.save_rule(rule, reason=" ")
    assert "change_reason" in exc.value.message_dict


def test_profile_code_role_and_format(db):
    from practice.models import ProcedureProfile

    profile = ProcedureProfile.objects.create(key="mild", name="mild")
    with pytest.raises(ValidationError) as exc:
        ProfileCode(profile=profile, system="icd10cm", code="M48.062", role="primary").full_clean()
    assert "role" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        ProfileCode(profile=profile, system="pos", code="241", role="usual").full_clean()
    assert "code" in exc.value.message_dict
    code = ProfileCode(profile=profile, system="icd10cm", code="m48.062", role="usual")
    code.full_clean()
    assert code.code == "M48062" and code.display_code == "M48.062"
