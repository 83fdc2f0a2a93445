"""The default payers, rules, procedure profile and demo practice: loaded from fixtures/practice, idempotently."""

import json
from datetime import date

import pytest

from practice import services
from practice.defaults import FIXTURES, demo_practice, load_defaults
from practice.models import (
    Location,
    Payer,
    PayerRule,
    Practice,
    PracticePayer,
    ProcedureProfile,
    ProfileCode,
    Provider,
)
from practice.selectors import RuleBook, procedure_profile, rules_in_force
from practice.validators import npi_is_valid

MODELS = [Payer, PayerRule, ProcedureProfile, ProfileCode, Practice, Location, Provider, PracticePayer]


def _counts():
    return {
        **{m.__name__: m.objects.count() for m in MODELS},
        "payer history": Payer.history.count(),
        "rule history": PayerRule.history.count(),
    }


@pytest.fixture
def loaded(no_codesets):
    return load_defaults(demo=True)


def test_load_defaults_is_idempotent(loaded):
    first = _counts()
    assert loaded.created == sum(first[m.__name__] for m in MODELS)
    again = load_defaults(demo=True)
    assert (again.created, again.updated, again.kept) == (0, 0, [])
    assert again.unchanged == loaded.created
    assert _counts() == first  # same rows, no new history rows


def test_without_demo_no_practice(no_codesets):
    load_defaults()
    assert Practice.objects.count() == 0
    assert set(Payer.objects.values_list("key", flat=True)) == {"medicare", "medicare-advantage", "commercial-bcbs"}


def test_default_payers(loaded):
    medicare = Payer.objects.get(key="medicare")
    assert (medicare.payer_type, medicare.filing_limit_days) == ("medicare", 365)
    ma = Payer.objects.get(key="medicare-advantage")
    assert ma.payer_type == "medicare_advantage" and ma.filing_limit_days == 365  # a default, issue 13 point 9
    assert "unverified" in ma.filing_limit_note
    bcbs = Payer.objects.get(key="commercial-bcbs")
    assert bcbs.payer_type == "commercial" and bcbs.filing_limit_days is None


def test_medicare_versions_by_date(loaded):
    book = RuleBook.load()
    (v1,) = book.rules_for_code("medicare", "0275T", date(2015, 6, 1))
    (v2,) = [v for v in book.rules_for_code("medicare", "0275T", date(2026, 3, 2)) if v.key == "ncd-150-13"]
    assert (v1.version, v1.effective_from, v1.effective_to) == (1, date(2014, 1, 9), date(2016, 12, 6))
    assert (v2.version, v2.effective_from, v2.effective_to) == (2, date(2016, 12, 7), None)
    for v in (v1, v2):
        assert v.coverage == "ced" and v.trial_number_required and v.required_modifiers == ("Q0",)
        assert ("Z006",) in [r.codes for r in v.required_diagnoses if r.position == "secondary"]
        assert v.allowed_places_of_service == ("22", "24") and v.place_of_service_severity == "warning"
        assert "ABN" in v.not_covered_advice and "GA" in v.not_covered_advice
        assert v.reference.startswith("Medicare NCD 150.13")
    assert v2.approved_trials == ("NCT03072927", "NCT02093520", "NCT02079038")
    primary = [r for r in v2.required_diagnoses if r.position == "primary"]
    assert primary[0].codes == ("M48062",) and primary[0].certainty == "likely"
    (g,) = book.rules_for_code("medicare", "G0276", date(2026, 3, 2))
    assert g.coverage == "ced"
    assert book.rules_for_code("medicare", "G0276", date(2014, 6, 1)) == []  # the code came in 2015


def test_medicare_advantage_and_commercial(loaded):
    (ma,) = rules_in_force("medicare-advantage", date(2026, 3, 2))
    assert ma.coverage == "ced" and ma.certainty == "likely" and set(ma.codes) == {"0275T", "G0276"}
    (bcbs,) = rules_in_force("commercial-bcbs", date(2026, 3, 2))
    assert bcbs.coverage == "investigational" and bcbs.certainty == "sure"
    assert "waiver" in bcbs.not_covered_advice
    assert "7.01.126" in bcbs.reference


def test_every_shipped_rule_cites_its_source_and_certainty():
    data = json.loads((FIXTURES / "payer_rules.json").read_text())
    for rule in data["rules"]:
        assert rule["_source"] and rule["reference"] and rule["notes"]
        assert rule["certainty"] in ("sure", "likely", "unverified")
        if "unverified" in rule["notes"] and rule["allowed_places_of_service"]:
            assert rule["place_of_service_severity"] == "warning"


def test_mild_profile(loaded):
    info = procedure_profile("mild")
    assert info.name == "mild® (percutaneous image-guided lumbar decompression)"
    assert info.primary_codes == ("0275T",)
    roles = {c.code: c.role for c in info.of("procedure")}
    assert roles == {
        "0275T": "primary",
        "G0276": "alternative",
        "77003": "related",
        "72275": "related",
        "0274T": "related",
    }
    assert {c.code for c in info.of("icd10cm", "usual")} == {"M48062", "Z006"}
    assert {c.code for c in info.of("pos")} == {"22", "24"}


def test_demo_practice(loaded):
    practice = demo_practice()
    assert practice.name == "Demo Spine & Pain Center" and practice.key == "demo"
    locations = {loc.key: loc for loc in practice.locations.all()}
    assert set(locations) == {"al-asc", "tx-asc"}
    al, tx = locations["al-asc"], locations["tx-asc"]
    assert (al.place_of_service, al.locality_code, al.state, al.is_main) == ("24", "10112-00", "AL", True)
    assert (tx.place_of_service, tx.locality_code, tx.state, tx.zip_code, tx.is_main) == (
        "24",
        "04412-11",
        "TX",
        "75201",
        False,
    )
    (provider,) = practice.providers.all()
    assert npi_is_valid(provider.npi) and npi_is_valid(practice.npi)
    assert set(practice.practice_payers.values_list("payer__key", flat=True)) == {
        "medicare",
        "medicare-advantage",
        "commercial-bcbs",
    }


def test_demo_practice_loads_when_missing(no_codesets):
    assert demo_practice().key == "demo"
    assert PayerRule.objects.exists()


def test_fixture_change_updates_with_history(loaded, monkeypatch, tmp_path):
    data = json.loads((FIXTURES / "payers.json").read_text())
    data["payers"][1]["filing_limit_days"] = 120
    for name in ("payer_rules.json", "procedure_profiles.json", "demo_practice.json"):
        (tmp_path / name).write_text((FIXTURES / name).read_text())
    (tmp_path / "payers.json").write_text(json.dumps(data))
    monkeypatch.setattr("practice.defaults.FIXTURES", tmp_path)
    report = load_defaults(demo=True)
    assert report.updated == 1
    ma = Payer.objects.get(key="medicare-advantage")
    assert ma.filing_limit_days == 120
    assert ma.history.count() == 2


def test_local_edits_are_kept(loaded, superuser):
    v2 = PayerRule.objects.get(payer__key="medicare", key="ncd-150-13", version=2)
    v3 = services.new_version_from(v2, date(2026, 3, 4), reason="NCD modified", user=superuser)
    history = PayerRule.history.count()
    report = load_defaults(demo=True)
    assert report.updated == 0
    assert len(report.kept) == 1 and "v2" in report.kept[0]
    v2.refresh_from_db()
    assert v2.effective_to == date(2026, 3, 3)
    assert PayerRule.objects.filter(pk=v3.pk).exists()
    assert PayerRule.history.count() == history


def test_defaults_load_with_code_sets_in_place(codesets):
    load_defaults(demo=True)
    bcbs = PayerRule.objects.get(payer__key="commercial-bcbs")
    assert "No procedure code release covering 2011-07-01" in bcbs.code_check_notes
    assert Location.objects.get(key="al-asc").place_of_service == "24"


def test_code_check_notes_follow_the_code_sets_loaded_later(no_codesets):
    load_defaults()
    rule = PayerRule.objects.get(payer__key="medicare", key="ncd-150-13", version=2)
    assert "No modifier release covering 2016-12-07" in rule.code_check_notes
    from codes import models as cm
    from codes import snapshot as k

    release = cm.Release.objects.create(
        kind=k.MODIFIERS, label="m", effective_from=date(2008, 1, 1), status="loaded", sha256="m"
    )
    cm.ModifierCode.objects.create(release=release, code="GA", code_system="HCPCS", description="m")
    history = PayerRule.history.count()
    with_modifiers = [r for r in PayerRule.objects.all() if r.required_modifiers]
    assert services.recheck_rule_codes() == len(with_modifiers) == 5
    rule.refresh_from_db()
    assert "Would now be refused: Modifier Q0 is not in the loaded code sets" in rule.code_check_notes
    assert "No modifier release" not in rule.code_check_notes
    assert services.recheck_rule_codes() == 0
    assert PayerRule.history.count() == history
