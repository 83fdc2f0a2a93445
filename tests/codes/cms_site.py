"""A small copy of CMS's download pages for the refresh tests, written here (nothing read from outside the project).

``build_site(server, on)`` puts on a ``tests.cms_server.CmsServer`` the pages of ``codes.refresh.sources`` at their real
paths, each listing the files of the quarter of ``on`` and of the quarter before, shaped as CMS shapes them
(docs/sources.md): NCCI PTP tables in four parts behind the AMA licence page with the record count in the link
text, MUE tables, the HCPCS quarterly zips, the PFS relative value pages (RVUyyA-D) whose zips hold PPRRVU, GPCI
and LOCCO files, OPPS Addendum B, ASC Addendum AA behind a release page, and the ICD-10-CM code descriptions of the
fiscal year and of its April update, the NCCI add-on code edits (AOC_VyyyyQn-F-MCR.txt, behind the licence page)
and the ZIP code to carrier locality zip named by the day it was posted (the newest with slashes in its date, as
CMS wrote ``revised-08/14/2025``). Member names and layouts are CMS's (LAYOUTS.md); codes and figures are real
ones (CY2025 GPCIs and RVUs of the mild® codes); descriptions are the project's own words (CPT descriptors blank).
"""

from __future__ import annotations

import calendar
import io
import zipfile
from dataclasses import dataclass, field
from datetime import date
from html import escape
from urllib.parse import urlsplit

from codes import snapshot as k
from codes.refresh import sources

AMA = "CPT codes and descriptions only are copyright {year} American Medical Association. All rights reserved."


def quarter_start(on: date) -> date:
    return date(on.year, (on.month - 1) // 3 * 3 + 1, 1)


def previous_quarter(start: date) -> date:
    return date(start.year - 1, 10, 1) if start.month == 1 else date(start.year, start.month - 3, 1)


def zipped(members: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data.encode("latin-1") if isinstance(data, str) else data)
    return buffer.getvalue()


def month_name(start: date) -> str:
    return calendar.month_name[start.month]


# --- Files in CMS's layouts ----------------------------------------------------------------------------------

PTP_RATIONALE = "Misuse of Column Two code with Column One code"


def ptp_text(start: date, pairs: list[tuple[str, str, str, str, str]]) -> str:
    """An NCCI PTP part: the AMA notice line, the title, the four-line header, then tab-separated edits."""
    head = [
        AMA.format(year=start.year - 1) + "\t" * 6,
        "Column1/Column2 Edits" + "\t" * 6,
        "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
        "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
        "\t\t\t\t*=no data\t1=allowed\t",
        "\t\t\t\t\t9=not applicable\t",
    ]
    rows = [f"{c1}\t{c2}\t\t{eff}\t{dele}\t{mod}\t{PTP_RATIONALE}" for c1, c2, eff, dele, mod in sorted(pairs)]
    return "\n".join(head + rows) + "\n"


# Four parts per table, by code range as CMS splits them. (column 1, column 2, effective, deletion, modifier)
PTP_PARTS = [
    [("0001U", "0029U", "20180701", "20260630", "1"), ("0001U", "0030U", "20180701", "*", "1")],
    [("0275T", "77003", "20110101", "*", "0"), ("0275T", "64483", "20110101", "*", "1")],
    [("62321", "77003", "20170101", "*", "0"), ("63047", "62321", "20100101", "*", "1")],
    [("G0276", "77003", "20150101", "*", "0"), ("G0276", "64483", "20150101", "*", "1")],
]


def mue_text(table: str, start: date, rows: list[tuple[str, int, str, str]]) -> str:
    """An MUE table: a quoted multi-line AMA notice cell then ``,,,``, a header whose first cell holds a newline."""
    notice = f'"{AMA.format(year=start.year - 1)}\n\nApplicable FARS/DFARS Restrictions Apply to Government Use."'
    header = f'"HCPCS/\nCPT Code",{table} Services MUE Values,MUE Adjudication Indicator,MUE Rationale'
    lines = [f"{notice},,,", header] + [f"{c},{v},{mai},{why}" for c, v, mai, why in rows]
    return "\r\n".join(lines) + "\r\n"


MUE_ROWS = [
    ("0275T", 1, "2 Date of Service Edit: Policy", "Code Descriptor / CPT Instruction"),
    ("62321", 1, "2 Date of Service Edit: Policy", "Code Descriptor / CPT Instruction"),
    ("64483", 1, "2 Date of Service Edit: Policy", "Anatomic Consideration"),
    ("77003", 1, "3 Date of Service Edit: Clinical", "Nature of Service/Procedure"),
    ("G0276", 1, "2 Date of Service Edit: Policy", "Code Descriptor / CPT Instruction"),
]


def hcpcs_record(code: str, seq: int, recid: str, text: str, detail: dict[int, str] | None = None) -> str:
    """A 320-character HCPCS record: code 1-5 (a modifier right-justified), SEQNUM 6-10, RECID 11, long
    description 12-91; on a first line (RECID 3 or 7) the detail fields by 1-based position."""
    line = [" "] * 320
    for pos, value in {1: code.rjust(5), 6: f"{seq:05d}", 11: recid, 12: text.ljust(80)[:80], **(detail or {})}.items():
        line[pos - 1 : pos - 1 + len(value)] = list(value)
    return "".join(line)


def hcpcs_text(start: date) -> str:
    """The HCPCS quarterly file: a disclaimer preamble, then G0276 (three lines), J1040, and modifiers Q0 and GC."""
    add = "20150101"
    first = {92: "Lumbar decompression or sham", 120: "13", 128: "A", 230: "D", 231: "YY", 233: add,
             253: "0193", 257: "P6D", 261: "1", 269: add, 277: add, 293: "N"}  # fmt: skip
    records = [
        hcpcs_record("G0276", 100, "3", "Image-guided lumbar decompression or a sham procedure, in an", first),
        hcpcs_record("G0276", 200, "4", "approved coverage with evidence development study (project's"),
        hcpcs_record("G0276", 300, "4", "own summary)"),
        hcpcs_record("J1040", 100, "3", "Methylprednisolone acetate injection, 80 mg (project summary)",
                     {92: "Methylprednisolone 80 mg", 120: "51", 128: "A", 230: "C", 261: "1",
                      269: "19840101", 277: "19840101", 293: "N"}),  # fmt: skip
        hcpcs_record("Q0", 100, "7", "Investigational service in a clinical research study (project summary)",
                     {92: "Investigational service", 230: "D", 253: "0146", 269: "20080101", 277: "20080101",
                      293: "N"}),  # fmt: skip
        hcpcs_record("GC", 100, "7", "Service performed in part by a resident under a teaching physician",
                     {92: "Resident/teaching phys serv", 230: "C", 269: "20020101", 277: "20020101", 293: "N"}),
    ]  # fmt: skip
    preamble = [
        f"Note on the {start.year} HCPCS update written for the project's tests.",
        "",
        "Coverage and payment indicators not yet set are left to the Medicare contractors.",
        "",
    ]
    return "\r\n".join(preamble + records) + "\r\n"


PFS_HEADER = [
    "HCPCS,MOD,DESCRIPTION,STATUS CODE,NOT USED FOR MEDICARE PAYMENT,WORK RVU,NON-FAC PE RVU,NON-FAC NA INDICATOR,"
    "FACILITY PE RVU,FACILITY NA INDICATOR,MP RVU,NON-FACILITY TOTAL,FACILITY TOTAL,PCTC IND,GLOB DAYS,PRE OP,"
    "INTRA OP,POST OP,MULT PROC,BILAT SURG,ASST SURG,CO-SURG,TEAM SURG,ENDO BASE,CONV FACTOR,"
    "PHYSICIAN SUPERVISION OF DIAGNOSTIC PROCEDURES,CALCULATION FLAG,DIAGNOSTIC IMAGING FAMILY INDICATOR,"
    "NON-FACILITY PE USED FOR OPPS PAYMENT AMOUNT,FACILITY PE USED FOR OPPS PAYMENT AMOUNT,"
    "MP USED FOR OPPS PAYMENT AMOUNT"
]
# Real CY2025 RVUs (PPRRVU2025_Oct), descriptors left out.
PFS_ROWS = [
    "0275T,,,R,,0.00,0.00,,0.00,,0.00,0.00,0.00,0,YYY,0.00,0.00,0.00,0,0,0,0,0,,{cf},09,0,99,0.00,0.00,0.00",
    "64483,,,A,,1.90,5.24,,1.27,,0.16,7.30,3.33,0,000,0.00,0.00,0.00,2,1,1,0,0,,{cf},09,0,99,0.00,0.00,0.00",
    "77003,,,A,,0.60,2.44,,2.44,NA,0.04,3.08,3.08,1,ZZZ,0.00,0.00,0.00,0,0,0,0,0,,{cf},03,0,99,0.00,0.00,0.00",
    "G0276,,,R,,7.17,3.03,NA,3.03,,0.74,10.94,10.94,0,000,0.00,0.00,0.00,2,2,2,1,0,,{cf},09,0,99,0.00,0.00,0.00",
]


def pfs_csv(start: date, cf: str) -> str:
    title = f",,{start.year} National Physician Fee Schedule Relative Value File {month_name(start)} Release"
    preamble = [title, ",," + AMA.format(year=start.year - 1), ",,", ",,RELEASED", ",,", ",,", ",,", ",,", ",,"]
    return "\r\n".join(preamble + PFS_HEADER + [r.format(cf=cf) for r in PFS_ROWS]) + "\r\n"


def gpci_csv(year: int) -> str:
    title = f"ADDENDUM E. FINAL CY {year} GEOGRAPHIC PRACTICE COST INDICES (GPCIs) BY STATE AND MEDICARE LOCALITY"
    header = (
        f"Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
        f"{year} PW GPCI (with 1.0 Floor),{year} PE GPCI,{year} MP GPCI"
    )
    rows = ["10112,AL,00,ALABAMA,1,0.869,0.575", "02102,AK,01,ALASKA*,1.5,1.081,0.592",
            "04412,TX,11,DALLAS,1.018,1.013,0.788", "03602,WY,21,WYOMING**,1,1,0.739"]  # fmt: skip
    tail = ["", "*Work GPCI reflects a 1.5 floor in Alaska established by the MIPPA.,,,,,,"]
    return "\r\n".join([title + ",,,,,,", ",,,,,,", header, *rows, *tail]) + "\r\n"


def locco_txt(year: int) -> str:
    def row(mac, loc, state, area, counties):
        return f"    {mac}       {loc}    {state:<23}{area:<98}{counties}"

    header = "Medicare AdmiLocality         State" + " " * 50 + "Fee Schedule Area" + " " * 66 + "Counties"
    rows = [row("10112", "00", "ALABAMA", "STATEWIDE", "ALL COUNTIES"),
            row("04412", "11", "TEXAS", "DALLAS", "DALLAS"),
            row("03602", "21", "WYOMING", "STATEWIDE", "ALL COUNTIES")]  # fmt: skip
    lines = [f"COUNTIES INCLUDED IN {year} LOCALITIES. (ALPHABETICALLY BY STATE AND LOCALITY NAME WITHIN STATE)", ""]
    lines += [header, ""]
    for r in rows:
        lines += [r, ""]
    lines += ["", "*  Payment locality is serviced by two carriers."]
    return "\r\n".join(lines) + "\r\n"


def opps_csv(start: date) -> str:
    header = (
        "HCPCS Code,Short Descriptor,SI,APC,Relative Weight,Payment Rate,National Unadjusted Copayment,"
        "Minimum Unadjusted Copayment,IRA Coinsurance percentage,Adjusted Beneficiary Copayment,"
        '"Note: Actual copayments would be lower due to the cap on copayments at the Inpatient Deductible of '
        '$1,676.00",Drug and Device Pass-Through Expiration during Calendar Year,* Indicates a Change'
    )
    rows = [
        '0275T,,J1,5115,144.2970,"$12,866.82",.,"$2,573.37",,,,,',
        "64483,,T,5443,9.9843,$890.29,.,$178.06,,,,,",
        "77003,,N,,,,,,,,,,",
        'G0276,,T,5114,80.1145,"$7,143.73",.,"$1,428.75",,,,,',
    ]
    preamble = [
        f",Addendum B.-OPPS Payment by HCPCS Code for {month_name(start)} {start.year},,,,,,,,,,,",
        f',"{AMA.format(year=start.year - 1)}",,,,,,,,,,,',
        ",,,,,,,,,,,,",
    ]
    return "\r\n".join([*preamble, header, *rows]) + "\r\n"


def asc_csv(start: date) -> str:
    mon = f"{month_name(start)} {start.year}"
    header = (
        f"HCPCS Code,Short Descriptor,Subject to Multiple Procedure Discounting,{mon} Comment Indicator,"
        f"{mon} Payment Indicator,{mon} Payment Weight,{mon} Payment Rate"
    )
    rows = ['0275T,,Y,,J8,175.6211,"$9,891.33"', '64483,,Y,,A2,5.4406,"$302.57 "', "77003,,N,,N1,,"]
    preamble = [f"ASC Covered Surgical Procedures for {mon},,,,,,", AMA.format(year=start.year - 1) + ",,,,,,"]
    return "\n".join([*preamble, ",,,,,,", header, *rows]) + "\n"


def icd10_order(fiscal_year: int, extra: bool) -> str:
    rows = [("M48", 0, "Spinal stenosis", "Spinal stenosis"),
            ("M4806", 0, "Spinal stenosis, lumbar region", "Spinal stenosis, lumbar region"),
            ("M48061", 1, "Lumbar stenosis without neurogenic claudication",
             "Spinal stenosis, lumbar region without neurogenic claudication"),
            ("M48062", 1, "Lumbar stenosis with neurogenic claudication",
             "Spinal stenosis, lumbar region with neurogenic claudication"),
            ("Z006", 1, "Exam in a clinical research program, normal control",
             "Encounter for examination for normal comparison and control in clinical research program")]  # fmt: skip
    if extra:  # the April update adds a code
        rows.append(("Z0071", 1, "Exam for a research study, other", "Encounter for a research study exam, other"))
    lines = [f"{n:05d} {code:<7} {b} {short:<60} {long}" for n, (code, b, short, long) in enumerate(rows, 1)]
    return "\n".join(lines) + "\n"


# Real records of the October 2025 ZIP5 file (state, ZIP, carrier, locality; rural, lab locality, plus-four flag,
# Part B indicator as CMS has them), the year and quarter set to the file's own.
ZIP5_RECORDS = ["AK995010210201 Z9   0 A", "AL352031011200 Z9   0 A", "TX752010441211 Z9   0 A",
                "TX752020441211 Z9   0 A"]  # fmt: skip


def zip5_text(start: date) -> str:
    quarter = f"{start.year}{(start.month - 1) // 3 + 1}"
    return "".join(f"{r.ljust(75)}{quarter}\r\n" for r in ZIP5_RECORDS)


# NCCI add-on code edits, fixed width (codes/formats/ncci_addon.py): type, add-on, primary, dates (YYYYDDD).
AOC_RECORDS = ["164484       64483       2013091", "164492       64490       2013091",
               "164492       64491       2013091", "2G0001       CCCCC       2015001"]  # fmt: skip


def aoc_text() -> str:
    return "".join(f"{r.ljust(39)}\r\n" for r in AOC_RECORDS)


# --- The site -------------------------------------------------------------------------------------------------


@dataclass
class Site:
    on: date
    current: date
    previous: date
    pages: dict[str, str] = field(default_factory=dict)  # kind -> page url
    records: dict[str, int] = field(default_factory=dict)  # kind -> records the page states for the current table
    files: dict[str, str] = field(default_factory=dict)  # what each page links, by a key, for the bad-input tests


def _path(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def page_html(title: str, links: list[tuple[str, str]]) -> str:
    items = "\n".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} | CMS</title></head>'
        f'<body><main><h1>{escape(title)}</h1><h2>Downloads</h2><ul class="field--name-field-downloads">\n{items}\n'
        '</ul><h2>Related Links</h2><ul><li><a href="/medicare/coding-billing">Coding &amp; billing</a></li></ul>'
        "</main></body></html>\n"
    )


def licensed(path: str) -> str:
    return f"/license/ama?file={path}"


def build_site(server, on: date) -> Site:
    current = quarter_start(on)
    previous = previous_quarter(current)
    site = Site(on, current, previous)
    put_ptp(server, site)
    put_mue(server, site)
    put_hcpcs(server, site)
    put_rvu(server, site)
    put_opps(server, site)
    put_asc(server, site)
    put_icd10(server, site)
    put_addon(server, site)
    put_zip5(server, site)
    return site


def _version(start: date) -> str:
    return f"v{start.year - 1994}{(start.month - 1) // 3}r0"


def ptp_links(server, start: date, table: str, prefix: str, *, rows_extra: int = 0) -> list[tuple[str, str, int]]:
    """Put the four parts of a PTP table; -> [(href, text, records)]."""
    version = _version(start)
    quarter = f"{start.year}q{(start.month - 1) // 3 + 1}"
    out = []
    for n, pairs in enumerate(PTP_PARTS, 1):
        member = f"{prefix}-{version}-f{n}.TXT"
        path = f"files/zip/medicare-ncci-{quarter}-{table}-ptp-edits-{prefix}-{version}-f{n}.zip"
        server.put(path, zipped({member: ptp_text(start, pairs)}), gated=True)
        first, last = pairs[0], pairs[-1]
        text = (f"{table.capitalize()} PTP Edits {version} ({len(pairs) + rows_extra:,} Records) "
                f"{first[0]}/{first[1]} -- {last[0]}/{last[1]}")  # fmt: skip
        out.append((licensed("/" + path), text, len(pairs)))
    return out


def put_ptp(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        for table, prefix, kind in (
            ("practitioner", "ccipra", k.PTP_PRACTITIONER),
            ("hospital", "ccioph", k.PTP_HOSPITAL),
        ):
            parts = ptp_links(server, start, table, prefix)
            links += [(href, text) for href, text, _ in parts]
            if start == site.current:
                site.records[kind] = sum(r for _, _, r in parts)
    quarter = f"{site.current.year}q{(site.current.month - 1) // 3 + 1}"
    links.append((f"/files/zip/medicare-ncci-{quarter}-practitioner-quarterly-additions-deletions-revisions-ptp.zip",
                  "Practitioner PTP quarterly additions, deletions and revisions"))  # fmt: skip
    server.put(_path(sources.PTP_PAGE), page_html("Medicare NCCI Procedure to Procedure (PTP) Edits", links))
    site.pages[k.PTP_PRACTITIONER] = site.pages[k.PTP_HOSPITAL] = server.base + "/" + _path(sources.PTP_PAGE)


def put_mue(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        q = f"{start.year}-q{(start.month - 1) // 3 + 1}"
        eff = f"{start.month:02d}-01-{start.year}"
        day = f"{month_name(start)} 1, {start.year}"
        for table, slug, member in (
            ("Practitioner", "practitioner-services", f"MCR_MUE_PractitionerServices_Eff_{eff}.csv"),
            ("Outpatient Hospital", "facility-outpatient-hospital-services",
             f"MCR_MUE_OutpatientHospitalServices_Eff_{eff}.csv"),
        ):  # fmt: skip
            path = f"files/zip/medicare-ncci-{q}-{slug}-mue-table.zip"
            server.put(path, zipped({member: mue_text(table, start, MUE_ROWS), member[:-4] + ".xlsx": b"PK"}))
            links.append(("/" + path, f"{table} Services MUE Table - Effective {day}"))
    server.put(_path(sources.MUE_PAGE), page_html("Medicare NCCI Medically Unlikely Edits (MUEs)", links))
    site.pages[k.MUE_PRACTITIONER] = site.pages[k.MUE_HOSPITAL] = server.base + "/" + _path(sources.MUE_PAGE)


def put_hcpcs(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        mon = calendar.month_abbr[start.month].upper()
        path = f"files/zip/{month_name(start).lower()}-{start.year}-alpha-numeric-hcpcs-file.zip"
        members = {
            f"HCPC{start.year}_{mon}_ANWEB_v2.txt": hcpcs_text(start),
            f"proc_notes_{start.year}.txt": "0146 project note\r\n",
            "HCPC_README.txt": "read me\r\n",
        }
        server.put(path, zipped(members))
        links.append(("/" + path, f"{month_name(start)} {start.year} Alpha-Numeric HCPCS File (ZIP)"))
    server.put(_path(sources.HCPCS_PAGE), page_html("HCPCS Quarterly Update", links))
    site.pages[k.HCPCS] = server.base + "/" + _path(sources.HCPCS_PAGE)


CONVERSION_FACTORS = {2025: "32.3465", 2026: "33.4009"}


def put_rvu(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        letter = "ABCD"[(start.month - 1) // 3]
        release = f"rvu{start.year % 100:02d}{letter.lower()}"
        mon = calendar.month_abbr[start.month]
        cf = CONVERSION_FACTORS.get(start.year, "33.4009")
        zip_path = f"files/zip/{release}-updated-{start.month:02d}-01-{start.year}.zip"
        members = {
            f"PPRRVU{start.year}_{mon}_nonQPP.csv": pfs_csv(start, cf),
            f"PPRRVU{start.year}_{mon}_QPP.csv": pfs_csv(start, "33.5675"),
            f"GPCI{start.year}.csv": gpci_csv(start.year),
            f"{start.year % 100:02d}LOCCO.txt": locco_txt(start.year),
            f"ANES{start.year}.csv": "Contractor,Locality,Locality Name,Conversion Factor\r\n",
        }
        server.put(zip_path, zipped(members), gated=True)
        release_page = f"{_path(sources.RVU_PAGE)}/{release}"
        server.put(
            release_page, page_html(f"{release.upper()}", [(licensed("/" + zip_path), f"{release.upper()} (ZIP)")])
        )
        links.append(("/" + release_page, f"{release.upper()}"))
    server.put(_path(sources.RVU_PAGE), page_html("PFS Relative Value Files", links))
    site.pages[k.PFS_RVU] = site.pages[k.GPCI] = site.pages[k.LOCALITY] = server.base + "/" + _path(sources.RVU_PAGE)


def put_opps(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        name = f"{month_name(start)} {start.year} Web Addendum B.{start.month:02d}.01.{start.year % 100:02d}.csv"
        path = f"files/zip/{month_name(start).lower()}-{start.year}-addendum-b.zip"
        server.put(path, zipped({name: opps_csv(start)}), gated=True)
        links.append((licensed("/" + path), f"{month_name(start)} {start.year} Addendum B"))
        apath = f"files/zip/{month_name(start).lower()}-{start.year}-addendum-a.zip"
        server.put(apath, zipped({"Addendum A.csv": "APC,Group Title\r\n"}))
        links.append(("/" + apath, f"{month_name(start)} {start.year} Addendum A"))
    server.put(_path(sources.OPPS_PAGE), page_html("Addendum A and Addendum B Updates", links))
    site.pages[k.OPPS] = server.base + "/" + _path(sources.OPPS_PAGE)


def put_asc(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        slug = f"{month_name(start).lower()}-{start.year}-asc-approved-hcpcs-code-and-payment-rates"
        zip_path = f"files/zip/{month_name(start).lower()}-{start.year}-asc-addenda.zip"
        name = f"ASC_Addendum_AA_{month_name(start)}_{start.year}.csv"
        server.put(zip_path, zipped({name: asc_csv(start), "ASC_Addendum_BB.csv": "HCPCS Code\n"}), gated=True)
        release_page = f"{_path(sources.ASC_PAGE)}/{slug}"
        text = f"{month_name(start)} {start.year} ASC Approved HCPCS Code and Payment Rates"
        server.put(release_page, page_html(text, [(licensed("/" + zip_path), f"{text} (ZIP)")]))
        links.append(("/" + release_page, text))
    server.put(_path(sources.ASC_PAGE), page_html("ASC Payment Rates - Addenda", links))
    site.pages[k.ASC] = server.base + "/" + _path(sources.ASC_PAGE)


def put_icd10(server, site: Site) -> None:
    on = site.on
    fiscal_year = on.year + 1 if on.month >= 10 else on.year
    links = []
    for fy in (fiscal_year, fiscal_year - 1):
        path = f"files/zip/{fy}-code-descriptions-tabular-order.zip"
        members = {
            f"Code Descriptions/icd10cm_order_{fy}.txt": icd10_order(fy, extra=False),
            f"Code Descriptions/icd10cm_order_addenda_{fy}.txt": "Add: Z0071\n",
            f"Code Descriptions/icd10cm_codes_{fy}.txt": "M48061  Spinal stenosis\n",
        }
        server.put(path, zipped(members))
        links.append(("/" + path, f"{fy} Code Descriptions in Tabular Order (ZIP)"))
        april = f"files/zip/april-1-{fy}-code-descriptions-tabular-order.zip"
        server.put(april, zipped({f"Code Descriptions/icd10cm_order_{fy}.txt": icd10_order(fy, extra=True)}))
        links.append(("/" + april, f"April 1, {fy} Code Descriptions in Tabular Order (ZIP)"))
    server.put(_path(sources.ICD10_PAGE), page_html("ICD-10", links))
    site.pages[k.ICD10CM] = server.base + "/" + _path(sources.ICD10_PAGE)


def put_addon(server, site: Site) -> None:
    links = []
    for start in (site.current, site.previous):
        quarter = f"{start.year}Q{(start.month - 1) // 3 + 1}"
        day = f"{start.month:02d}01{start.year}"
        path = f"files/zip/add-code-edits-medicare-effective-{day}.zip"
        members = {f"AOC_V{quarter}-F-MCR.txt": aoc_text(), f"AOC_V{quarter}-MCR.xlsx": b"PK"}
        server.put(path, zipped(members), gated=True)
        links.append((licensed("/" + path), f"Add-On Code Edits for Medicare Effective {day} (ZIP)"))
    links.append(("/files/document/add-code-edit-file-structure.pdf", "Add-on Code Edit File Structure (PDF)"))
    server.put(_path(sources.ADDON_PAGE), page_html("Medicare NCCI Add-on Code Edits", links))
    site.pages[k.NCCI_ADDON] = server.base + "/" + _path(sources.ADDON_PAGE)
    site.records[k.NCCI_ADDON] = len(AOC_RECORDS)


def put_zip5(server, site: Site) -> None:
    """The current quarter's file posted six weeks before the quarter, its date written with slashes (the link's
    last part is then ``DD/YYYY.zip``), and the previous quarter's with dashes."""
    from datetime import timedelta

    links = []
    for start, sep in ((site.current, "/"), (site.previous, "-")):
        posted = start - timedelta(days=45)
        day = f"{posted.month:02d}{sep}{posted.day:02d}{sep}{posted.year}"
        path = f"files/zip/zip-code-carrier-locality-file-revised-{day}.zip"
        mon = calendar.month_abbr[start.month].upper()
        members = {
            f"ZIP5_{mon}{start.year}.txt": zip5_text(start),
            "ZIP5lyout.txt": "Zip5 Record Layout\r\n",
            f"ZIP9_{mon}{start.year}.txt": "",
            "ZIP9lyout.txt": "Zip9 Record Layout\r\n",
        }
        server.put(path, zipped(members))
        links.append(("/" + path, f"Zip Code to Carrier Locality File - Revised {posted:%m/%d/%Y} (ZIP)"))
    links.append((f"/files/zip/{site.current.year}-end-year-zip-code-file.zip", "End of Year Zip Code File"))
    server.put(_path(sources.FEE_SCHEDULES_PAGE), page_html("Fee Schedules - General Information", links))
    site.pages[k.ZIP5] = server.base + "/" + _path(sources.FEE_SCHEDULES_PAGE)
    site.records[k.ZIP5] = len(ZIP5_RECORDS)
