"""Payment arithmetic to the cent on the real CY2025 PFS rows (PPRRVU2025_Oct, GPCI2025)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.guide import fees as payments
from billing.guide.fees import (
    CARRIER_PRICED,
    FACILITY,
    NA_IN_SETTING,
    NONFACILITY,
    NOT_IN_FEE_SCHEDULE,
    NOT_LOADED,
    NOT_PAYABLE,
    asc_rate,
    conversion_factor,
    opps_rate,
    pfs_amount,
    pfs_amounts,
    setting_for_pos,
    table_conversion_factor,
    uses_facility_rate,
)
from codes.formats.rows import AscRow, OppsRow, RvuRow
from codes.snapshot import RvuInfo
from tests.billing.cms_csv import read_gpci, read_pprrvu

CF_2025 = Decimal("32.3465")
D = Decimal


@pytest.fixture(scope="module")
def rvus(cms_dir) -> dict[tuple[str, str], RvuRow]:
    return read_pprrvu(cms_dir / "PPRRVU2025_Oct.csv")


@pytest.fixture(scope="module")
def gpcis(cms_dir):
    return read_gpci(cms_dir / "GPCI2025.csv")


@pytest.fixture(scope="module")
def alabama(gpcis):
    row = gpcis[("10112", "00")]
    assert (row.work, row.pe, row.mp) == (D("1"), D("0.869"), D("0.575"))
    return row


def national(rvus, code: str, setting: str, modifier: str = "") -> Decimal | str:
    return pfs_amount(rvus[(code, modifier)], None, CF_2025, setting).display


# ---- conversion factors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "qpp", "expected"),
    [
        (date(2022, 6, 1), False, "34.6062"),
        (date(2023, 1, 1), False, "33.8872"),
        (date(2024, 3, 8), False, "32.7442"),
        (date(2024, 3, 9), False, "33.2875"),
        (date(2024, 12, 31), False, "33.2875"),
        (date(2025, 7, 4), False, "32.3465"),
        (date(2026, 2, 1), False, "33.4009"),
        (date(2026, 2, 1), True, "33.5675"),
        (date(2025, 2, 1), True, "32.3465"),
    ],
)
def test_conversion_factor_table(on, qpp, expected):
    assert table_conversion_factor(on, qpp=qpp) == D(expected)
    assert conversion_factor(on, qpp=qpp) == D(expected)


def test_file_conversion_factor_is_preferred(rvus):
    assert conversion_factor(date(2025, 5, 1), file_cf=rvus[("64483", "")].conversion_factor) == CF_2025
    assert conversion_factor(date(2024, 5, 1), file_cf=D("33.2875")) == D("33.2875")
    assert conversion_factor(date(2025, 5, 1), file_cf=D("0")) == CF_2025  # a blank/zero file CF falls back


def test_unknown_year_has_no_conversion_factor():
    assert table_conversion_factor(date(2021, 12, 31)) is None
    with pytest.raises(LookupError):
        conversion_factor(date(2027, 1, 1))


# ---- place of service ----------------------------------------------------------------------------------


def test_facility_places_of_service():
    for pos in ("02", "19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61"):
        assert uses_facility_rate(pos), pos
        assert setting_for_pos(pos) == FACILITY
    for pos in ("11", "10", "12", "49", "81", "99", "32"):
        assert not uses_facility_rate(pos), pos
        assert setting_for_pos(pos) == NONFACILITY
    assert uses_facility_rate("2")  # zero-padded
    assert not uses_facility_rate("24", on_asc_list=False)


# ---- the worked amounts in LAYOUTS 4.3, on the real rows ------------------------------------------------


def test_64483_national_and_alabama(rvus, alabama):
    row = rvus[("64483", "")]
    assert national(rvus, "64483", NONFACILITY) == D("236.13")
    assert national(rvus, "64483", FACILITY) == D("107.71")
    assert pfs_amount(row, alabama, CF_2025, NONFACILITY).amount == D("211.73")
    assert pfs_amount(row, alabama, CF_2025, FACILITY).amount == D("100.13")
    # a GPCI given as a plain triple (floats too) prices the same as the row
    assert pfs_amount(row, (1, 0.869, 0.575), CF_2025, NONFACILITY).amount == D("211.73")
    assert pfs_amount(row, (D(1), D("0.869"), D("0.575")), CF_2025, "facility").amount == D("100.13")


def test_63047_facility_only(rvus):
    assert national(rvus, "63047", FACILITY) == D("1094.93")
    result = pfs_amount(rvus[("63047", "")], None, CF_2025, NONFACILITY)
    assert result.amount is None
    assert result.status == NA_IN_SETTING
    assert result.display == "NA in this setting"


def test_22867_and_62321(rvus):
    assert national(rvus, "22867", FACILITY) == D("1045.44")
    assert national(rvus, "22867", NONFACILITY) == NA_IN_SETTING
    assert national(rvus, "62321", NONFACILITY) == D("251.01")
    assert national(rvus, "62321", FACILITY) == D("103.83")


def test_77003_global_professional_and_technical(rvus):
    assert national(rvus, "77003", NONFACILITY) == D("99.63")
    assert national(rvus, "77003", NONFACILITY, "26") == D("27.17")
    assert national(rvus, "77003", NONFACILITY, "TC") == D("72.46")
    # in a facility the global and the TC are NA; the professional component is paid
    assert national(rvus, "77003", FACILITY) == NA_IN_SETTING
    assert national(rvus, "77003", FACILITY, "TC") == NA_IN_SETTING
    assert national(rvus, "77003", FACILITY, "26") == D("27.17")


def test_g0276_facility_national_and_for_localities(rvus, gpcis, alabama):
    row = rvus[("G0276", "")]
    result = pfs_amount(row, None, CF_2025, FACILITY)
    assert result.amount == D("353.87")
    assert result.status_code == "R"
    assert result.note == "status R: restricted coverage"
    assert pfs_amount(row, None, CF_2025, NONFACILITY).status == NA_IN_SETTING
    # Alabama: 7.17×1 + 3.03×0.869 + 0.74×0.575 = 10.22857 RVUs × 32.3465 = 330.858…
    assert pfs_amount(row, alabama, CF_2025, FACILITY).amount == D("330.86")
    # Bakersfield (01112-54: 1.017/1.093/0.662): 7.29189 + 3.31179 + 0.48988 = 11.09356 × 32.3465 = 358.837…
    assert pfs_amount(row, gpcis[("01112", "54")], CF_2025, FACILITY).amount == D("358.84")


def test_0275t_is_carrier_priced_never_zero(rvus, alabama):
    row = rvus[("0275T", "")]
    assert row.status == "R"
    for gpci in (None, alabama):
        for result in pfs_amounts(row, gpci, CF_2025):
            assert result.amount is None
            assert result.status == CARRIER_PRICED
            assert result.display == "carrier priced"
            assert result.limiting_charge is None


def test_limiting_charge_and_nonparticipating(rvus):
    result = pfs_amount(rvus[("64483", "")], None, CF_2025, NONFACILITY)
    assert result.amount == D("236.13")
    assert result.nonparticipating == D("224.32")  # 236.13 × 0.95 = 224.3235
    assert result.limiting_charge == D("257.97")  # 236.13 × 1.0925 = 257.972…
    g0276 = pfs_amount(rvus[("G0276", "")], None, CF_2025, FACILITY)
    assert g0276.nonparticipating == D("336.18")  # 353.87 × 0.95 = 336.1765
    assert g0276.limiting_charge == D("386.60")  # 353.87 × 1.0925 = 386.5999…


def test_not_payable_statuses(rvus):
    # one real row of each non-paying status
    seen = {}
    for row in rvus.values():
        if row.status in "BEINPXMJ" and row.status not in seen:
            seen[row.status] = row
    assert set(seen) == set("BEINPXMJ")
    for status, row in seen.items():
        for result in pfs_amounts(row, None, CF_2025):
            assert result.status == NOT_PAYABLE, status
            assert result.amount is None
            assert result.note.startswith(f"status {status}:")


def test_status_c_is_carrier_priced_even_with_rvus():
    row = RvuRow(
        "99999",
        "",
        "",
        "C",
        D("1"),
        D("1"),
        False,
        D("1"),
        False,
        D("1"),
        None,
        None,
        "0",
        "000",
        "",
        "",
        "",
        "",
        "",
        None,
    )
    assert pfs_amount(row, None, CF_2025, FACILITY).status == CARRIER_PRICED


def test_missing_row_is_not_in_the_fee_schedule(rvus):
    assert ("72275", "") not in rvus
    assert pfs_amount(None, None, CF_2025, FACILITY).status == NOT_IN_FEE_SCHEDULE


def test_bad_setting_is_refused(rvus):
    with pytest.raises(ValueError):
        pfs_amount(rvus[("64483", "")], None, CF_2025, "office")
    assert pfs_amount(rvus[("64483", "")], None, CF_2025, "Non-Facility").amount == D("236.13")


def test_rvu_info_from_the_snapshot_prices_like_the_row(rvus):
    from codes.snapshot import ReleaseRef

    row = rvus[("77003", "26")]
    ref = ReleaseRef(1, "pfs-rvu", "RVU25D", date(2025, 10, 1), date(2025, 12, 31))
    info = RvuInfo.from_row(row, ref)
    assert pfs_amount(info, None, info.conversion_factor, NONFACILITY).amount == D("27.17")


def test_national_equals_totals_times_cf_for_every_payable_row(rvus):
    """LAYOUTS' worked figures use total RVUs × CF: with GPCIs of 1.0 that is the same for every real row."""
    checked = 0
    for row in rvus.values():
        for setting, total in ((NONFACILITY, row.total_nonfacility), (FACILITY, row.total_facility)):
            result = pfs_amount(row, None, CF_2025, setting)
            if result.amount is not None:
                assert result.amount == payments.cents(total * CF_2025), (row.code, row.modifier, setting)
                checked += 1
    assert checked == 53  # the priced amounts of the sample's rows in the two settings (all 19,090: conformance)


# ---- OPPS and ASC ------------------------------------------------------------------------------------------


def test_opps_rate():
    row = OppsRow("0275T", "Perq lamot/lam lumbar", "J1", "5115", D("144.2970"), D("12866.820"), None, None)
    rate = opps_rate(row)
    assert (rate.indicator, rate.apc, rate.amount) == ("J1", "5115", D("12866.82"))
    assert rate.display == D("12866.82")
    packaged = opps_rate(OppsRow("77003", "", "N", "", None, None, None, None))
    assert packaged.amount is None and packaged.status == "packaged (no separate payment)"
    assert opps_rate(OppsRow("63047", "", "C", "", None, None, None, None)).status == "inpatient only"
    assert opps_rate(OppsRow("X", "", "T", "5443", None, None, None, None)).status == "no national rate"
    assert opps_rate(None).display == NOT_LOADED
    assert opps_rate(None, source_loaded=True).status == "not in Addendum B"


def test_asc_rate():
    rate = asc_rate(AscRow("64483", "", True, "", "A2", D("4.1234"), D("251.005")))
    assert (rate.indicator, rate.amount) == ("A2", D("251.01"))
    assert asc_rate(AscRow("77003", "", False, "", "N1", None, None)).status == "packaged (no separate payment)"
    assert asc_rate(None).status == NOT_LOADED
    assert asc_rate(None, source_loaded=True).status == "not on the ASC list"


# ---- properties ------------------------------------------------------------------------------------------

rvu_values = st.one_of(st.none(), st.decimals(min_value=0, max_value=200, places=2))
gpci_values = st.decimals(min_value=D("0.3"), max_value=D("2"), places=3)


@given(
    status=st.sampled_from(sorted(payments.PFS_STATUS) + ["", "Z"]),
    work=rvu_values,
    pe_nf=rvu_values,
    pe_f=rvu_values,
    mp=rvu_values,
    na_nf=st.booleans(),
    na_f=st.booleans(),
    gpci=st.one_of(st.none(), st.tuples(gpci_values, gpci_values, gpci_values)),
    setting=st.sampled_from([FACILITY, NONFACILITY]),
)
def test_an_answer_is_an_amount_or_a_reason_never_a_false_zero(
    status, work, pe_nf, pe_f, mp, na_nf, na_f, gpci, setting
):
    row = RvuRow(
        "12345", "", "", status, work, pe_nf, na_nf, pe_f, na_f, mp, None, None, "0", "000", "", "", "", "", "", None
    )
    result = pfs_amount(row, gpci, CF_2025, setting)
    assert (result.amount is None) != (result.status == "")
    if result.amount is not None:
        assert status in payments.PAYABLE_STATUSES
        assert result.amount > 0
        assert result.amount == result.amount.quantize(D("0.01"))
        assert result.limiting_charge >= result.amount >= result.nonparticipating
    else:
        assert result.display == result.status
