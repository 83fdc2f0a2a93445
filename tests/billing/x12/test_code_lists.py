"""CARC and RARC lists: loaded as versioned data, once; a changed file must say a new version."""

from __future__ import annotations

import shutil

import pytest

from billing.denials.adjustment_codes import FIXTURES, load_code_lists, summaries
from billing.models import AdjustmentCodeList
from billing.x12.codelists import CodeListError, read_code_list

pytestmark = pytest.mark.django_db


def test_lists_load_once_and_answer(tmp_path):
    for name in ("carc.csv", "rarc.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    first = load_code_lists(tmp_path)
    assert [r["status"] for r in first] == ["loaded", "loaded"]
    assert [r["status"] for r in load_code_lists(tmp_path)] == ["unchanged", "unchanged"]
    assert "trial" in summaries("rarc")["MA50"]
    assert summaries("carc")["197"].startswith("Prior authorisation")
    # the same version with other contents is refused; a new version loads beside the old one
    text = (tmp_path / "carc.csv").read_text()
    (tmp_path / "carc.csv").write_text(text.replace("253,The sequestration", "253,Sequestration"))
    with pytest.raises(CodeListError, match="new version"):
        load_code_lists(tmp_path)
    (tmp_path / "carc.csv").write_text(text.replace("# version: 2026-11-project", "# version: 2027-01-project"))
    load_code_lists(tmp_path)
    assert AdjustmentCodeList.objects.filter(kind="carc").count() == 2


def test_broken_row_names_the_line(tmp_path):
    path = tmp_path / "carc.csv"
    path.write_text(
        "# version: x\ncode,summary,start,stop,certainty\n1,Deductible,,,sure\n2,Coinsurance,2026-13-01,,sure\n"
    )
    with pytest.raises(CodeListError, match="line 4: dates"):
        read_code_list("carc", path)
