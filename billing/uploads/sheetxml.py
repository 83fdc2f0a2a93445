"""The results workbook of a batch upload written in parts (pure: results in, bytes out).

Each chunk of an upload renders its own rows of the Results and Findings sheets (``render``) as sheet-XML
``<row>`` elements and deflates them (``Part``); the finish joins the chunks' parts under each sheet's header and
footer into the xlsx (``write_workbook``), copying compressed bytes only.

Why by hand, not openpyxl: openpyxl builds an object per cell and serialises it through an XML writer, about 19 µs
a cell here (13.1 s of CPU for a 20,000-claim upload's 630,000 cells on the one process that finishes the upload,
after the parallel part; 9.3 s with lxml). ``render`` formats a cell with a few string operations and ``deflate``
compresses the result: 1.1 s for the same upload, about 1.7 µs a cell, spread over the chunk workers; the finish then
copies compressed bytes (0.14 s; bench/bench_results_workbook.py, docs/benchmarks.md). No library writes the parts
of one xlsx in separate processes and joins them: a worksheet is one XML part of one zip entry. Rows and cells carry
no ``r`` attribute (optional in SpreadsheetML: a row follows the previous row, a cell the previous cell; Excel,
LibreOffice and openpyxl read them so), because a chunk cannot know on which row of the Findings sheet its
findings start; an empty cell is written as ``<c/>`` to keep the columns in place.

Deflating is the other cost of writing the zip: 62 MB of sheet XML for 20,000 claims, 0.43 s of one core (zlib level
6; rendering it 0.69 s), five times that at 100,000. So the chunks deflate too: a chunk deflates its XML with a sync
flush, which ends a deflate stream on a byte boundary without closing it: raw deflate streams written so join by
concatenation into one valid stream (what pigz does), closed by an empty final block. The CRC-32 of the joined data
comes from the parts' CRCs and lengths (``crc32_combine``, zlib's method; Python's zlib does not export it). The zip
container (local headers, central directory; no Zip64, so a workbook stays under 4 GiB) is written here because
``zipfile`` can only compress itself.

The content is the same as the openpyxl writer gave (kept as the tests' reference,
tests/billing/uploads/openpyxl_results.py): the same sheets, headers, values
(numbers as numbers, text as text, never a formula), severity fonts, wrapped messages, widths, frozen and
filtered header. Text is XML-escaped, characters XML 1.0 cannot hold are dropped, and a text longer than Excel's
32,767-character cell limit is cut there (Excel refuses to open a workbook with a longer cell).
"""

from __future__ import annotations

import math
import re
import struct
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.writer.theme import theme_xml
from openpyxl.xml.functions import tostring

from billing.spreadsheets import HEADER_FILL, HEADER_FONT, SEVERITY_FONTS, WRAP_TOP

RESULT_HEADERS = ("claim_ref", "row", "payer", "date_of_service", "status", "errors", "warnings", "info", "rules")
RESULT_WIDTHS = (18, 7, 18, 14, 10, 8, 9, 7, 60)
FINDING_HEADERS = ("claim_ref", "line", "severity", "rule", "message", "suggestion", "reference")
FINDING_WIDTHS = (18, 6, 10, 28, 70, 60, 60)

EXCEL_MAX_CHARS = 32_767
DEFLATE_LEVEL = 6  # zlib's default; level 1 takes half the time (0.21 s per 20,000 claims) for parts 1.7 x as large

# cell styles (cellXfs of styles.xml): 0 plain, 1 header, 2.. a severity's font, then wrapped at the top
HEADER_STYLE = 1
SEVERITY_STYLES = {name: 2 + i for i, name in enumerate(SEVERITY_FONTS)}
WRAP_STYLE = 2 + len(SEVERITY_FONTS)

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_WORK = re.compile("[\x00-\x1f&<>\ud800-\udfff\ufffe\uffff]")


# ---- cells and rows -------------------------------------------------------------------------------------------


def text_xml(value: str) -> str:
    """``value`` as the content of a ``<t>`` element: escaped, without characters XML 1.0 cannot hold, at most
    Excel's cell limit, whitespace at its ends kept."""
    if _NEEDS_WORK.search(value) is not None:
        value = _ILLEGAL.sub("", value)
        if len(value) > EXCEL_MAX_CHARS // 2:
            value = _excel_length(value)
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    elif len(value) > EXCEL_MAX_CHARS // 2:
        value = _excel_length(value)
    if value[:1] in (" ", "\t", "\n") or value[-1:] in (" ", "\t", "\n"):
        return f'<t xml:space="preserve">{value}</t>'
    return f"<t>{value}</t>"


def _excel_length(value: str) -> str:
    """At most 32,767 UTF-16 code units, as Excel counts (a character beyond U+FFFF is two)."""
    if len(value.encode("utf-16-le")) <= 2 * EXCEL_MAX_CHARS:
        return value
    units = 0
    for i, char in enumerate(value):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > EXCEL_MAX_CHARS:
            return value[:i]
    return value


def cell_xml(value, style: int = 0) -> str:
    """One ``<c>`` element: text as an inline string (never a formula), a number as a number, nothing as an empty
    cell (kept, so the next cell stays in its column)."""
    s = f' s="{style}"' if style else ""
    if isinstance(value, str):
        if not value:
            return f"<c{s}/>"
        return f'<c t="inlineStr"{s}><is>{text_xml(value)}</is></c>'
    if value is None:
        return f"<c{s}/>"
    if isinstance(value, bool):
        return f'<c t="b"{s}><v>{int(value)}</v></c>'
    if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
        return f"<c{s}><v>{value!r}</v></c>"
    return cell_xml(str(value), style)


def result_row(result: Mapping) -> tuple:
    """One claim's row on the Results sheet."""
    counts = {"error": 0, "warning": 0, "info": 0}
    rules: list[str] = []
    for finding in result.get("findings", []):
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        if finding["rule"] not in rules:
            rules.append(finding["rule"])
    return (
        result.get("claim_ref", ""),
        result.get("row"),
        result.get("payer", ""),
        result.get("date_of_service", ""),
        result.get("status", ""),
        counts["error"],
        counts["warning"],
        counts["info"],
        ", ".join(rules),
    )


@dataclass
class Rendered:
    """A chunk's rows of both sheets, as UTF-8 sheet XML (``<row>`` elements)."""

    results: bytes
    findings: bytes
    claims: int
    finding_rows: int


def render(results: Iterable[Mapping]) -> Rendered:
    """The Results and Findings rows of ``results`` (the contract's result objects with ``claim_ref``, ``row``
    and ``payer`` added), in their order."""
    out_results: list[str] = []
    out_findings: list[str] = []
    claims = findings = 0
    severity_cells: dict[str, str] = {}
    for result in results:
        row = result_row(result)
        status = row[4]
        cells = [cell_xml(v) for v in row]
        cells[4] = cell_xml(status, SEVERITY_STYLES.get(status, 0))
        out_results.append(f"<row>{''.join(cells)}</row>")
        claims += 1
        ref = cells[0]
        for finding in result.get("findings", []):
            severity = finding["severity"]
            severity_cell = severity_cells.get(severity)
            if severity_cell is None:
                severity_cell = severity_cells[severity] = cell_xml(severity, SEVERITY_STYLES.get(severity, 0))
            out_findings.append(
                f"<row>{ref}{cell_xml(finding.get('line'))}{severity_cell}{cell_xml(finding['rule'])}"
                f"{cell_xml(finding.get('message') or '', WRAP_STYLE)}"
                f"{cell_xml(finding.get('suggestion') or '', WRAP_STYLE)}"
                f"{cell_xml(finding.get('reference') or '', WRAP_STYLE)}</row>"
            )
            findings += 1
    return Rendered("".join(out_results).encode(), "".join(out_findings).encode(), claims, findings)


# ---- deflated parts ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Raw-deflated bytes ending on a sync flush (so parts join by concatenation), with the CRC-32 and length of
    what they hold and the number of rows in it."""

    crc: int
    size: int
    rows: int
    data: bytes


def deflate(data: bytes, rows: int = 0, level: int = DEFLATE_LEVEL) -> Part:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Part(zlib.crc32(data), len(data), rows, compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))


def deflate_rendered(rendered: Rendered, level: int = DEFLATE_LEVEL) -> tuple[Part, Part]:
    return deflate(rendered.results, rendered.claims, level), deflate(rendered.findings, rendered.finding_rows, level)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total = 0
    i = 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, matrix[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from CRC(A), CRC(B) and len(B) (zlib's crc32_combine)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


# ---- the workbook -------------------------------------------------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT = "application/vnd.openxmlformats-officedocument"
SHEETS = (("Results", RESULT_HEADERS, RESULT_WIDTHS), ("Findings", FINDING_HEADERS, FINDING_WIDTHS))

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{CT}.spreadsheetml.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{CT}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="{CT}.spreadsheetml.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{CT}.spreadsheetml.styles+xml"/>'
    f'<Override PartName="/xl/theme/theme1.xml" ContentType="{CT}.theme+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL_NS}/worksheet" Target="worksheets/sheet2.xml"/>'
    f'<Relationship Id="rId3" Type="{REL_NS}/styles" Target="styles.xml"/>'
    f'<Relationship Id="rId4" Type="{REL_NS}/theme" Target="theme/theme1.xml"/>'
    "</Relationships>"
)


def _xml(element) -> str:
    return tostring(element).decode()


def styles_xml() -> str:
    """Fonts, fills and cell formats (openpyxl serialises the fonts of billing.spreadsheets, so the look is theirs)."""
    default_font = (
        '<font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
    )
    fonts = [default_font, _xml(HEADER_FONT.to_tree())] + [_xml(f.to_tree()) for f in SEVERITY_FONTS.values()]
    fills = [
        "<fill><patternFill/></fill>",
        '<fill><patternFill patternType="gray125"/></fill>',
        _xml(HEADER_FILL.to_tree()),
    ]
    xfs = ['<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>']
    xfs.append('<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>')
    xfs += [f'<xf numFmtId="0" fontId="{2 + i}" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
            for i in range(len(SEVERITY_FONTS))]  # fmt: skip
    alignment: Alignment = WRAP_TOP
    xfs.append(f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
               f"{_xml(alignment.to_tree())}</xf>")  # fmt: skip
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<styleSheet xmlns="{NS}">'
        f'<fonts count="{len(fonts)}">{"".join(fonts)}</fonts>'
        f'<fills count="{len(fills)}">{"".join(fills)}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


def workbook_xml(rows: tuple[int, int]) -> str:
    names = "".join(
        f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
        f"'{title}'!$A$1:${get_column_letter(len(headers))}${count + 1}</definedName>"
        for i, ((title, headers, _), count) in enumerate(zip(SHEETS, rows))
    )
    sheets = "".join(
        f'<sheet name="{title}" sheetId="{i}" r:id="rId{i}"/>' for i, (title, _, _) in enumerate(SHEETS, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f"<sheets>{sheets}</sheets><definedNames>{names}</definedNames>"
        '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>'
    )


def sheet_head(headers: tuple[str, ...], widths: tuple[int, ...]) -> bytes:
    cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1))
    header = "".join(cell_xml(h, HEADER_STYLE) for h in headers)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{NS}" xmlns:r="{REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
        f"<sheetData><row>{header}</row>"
    ).encode()


def sheet_tail(headers: tuple[str, ...], rows: int) -> bytes:
    return (
        f'</sheetData><autoFilter ref="A1:{get_column_letter(len(headers))}{rows + 1}"/>'
        '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>'
    ).encode()


@dataclass(frozen=True)
class Source:
    """One chunk's part of a sheet as the finish reads it: ``blocks()`` gives the deflated bytes (``Part.data``)
    in pieces, ``crc``/``size``/``rows`` describe what they hold."""

    crc: int
    size: int
    rows: int
    blocks: object  # () -> Iterator[bytes]

    @classmethod
    def of(cls, part: Part) -> Source:
        return cls(part.crc, part.size, part.rows, lambda: iter((part.data,)))


_FINAL_BLOCK = zlib.compressobj(6, zlib.DEFLATED, -15).flush()  # an empty last block: ends the joined stream


class _ZipWriter:
    """A zip file of deflated entries whose compressed bytes are given (no Zip64; ``out`` seekable)."""

    def __init__(self, out: IO[bytes]):
        self.out = out
        self.entries: list[tuple[bytes, int, int, int, int]] = []  # name, crc, csize, usize, header offset
        now = time.localtime()
        self.dos_time = (now.tm_hour << 11) | (now.tm_min << 5) | (now.tm_sec // 2)
        self.dos_date = ((now.tm_year - 1980) << 9) | (now.tm_mon << 5) | now.tm_mday

    def _local_header(self, name: bytes, crc: int, csize: int, usize: int) -> bytes:
        return struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, self.dos_time, self.dos_date, crc, csize, usize,
                           len(name), 0) + name  # fmt: skip

    def write(self, name: str, data: bytes) -> None:
        self.write_parts(name, [Source.of(deflate(data))])

    def write_parts(self, name: str, sources: Iterable[Source]) -> list[int]:
        """An entry holding the sources' data joined; -> the rows of each source."""
        encoded = name.encode()
        start = self.out.tell()
        self.out.write(self._local_header(encoded, 0, 0, 0))
        crc = size = csize = 0
        rows = []
        for source in sources:
            for block in source.blocks():
                self.out.write(block)
                csize += len(block)
            crc = crc32_combine(crc, source.crc, source.size)
            size += source.size
            rows.append(source.rows)
        self.out.write(_FINAL_BLOCK)
        csize += len(_FINAL_BLOCK)
        if max(size, csize, self.out.tell()) >= 0xFFFFFFFF:
            raise ValueError(f"{name} is larger than a zip without Zip64 can hold (4 GiB)")
        end = self.out.tell()
        self.out.seek(start)
        self.out.write(self._local_header(encoded, crc, csize, size))
        self.out.seek(end)
        self.entries.append((encoded, crc, csize, size, start))
        return rows

    def close(self) -> None:
        start = self.out.tell()
        for name, crc, csize, size, offset in self.entries:
            self.out.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, self.dos_time, self.dos_date,
                                       crc, csize, size, len(name), 0, 0, 0, 0, 0, offset) + name)  # fmt: skip
        directory = self.out.tell() - start
        count = len(self.entries)
        self.out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, directory, start, 0))


def write_workbook(out: IO[bytes], results: Iterable[Source], findings: Iterable[Source]) -> tuple[int, int]:
    """The results workbook from the chunks' parts, in chunk order; ``out`` must be seekable (the zip's local
    headers are written after their data). ``findings`` is read after ``results`` is exhausted. -> the number of
    rows of each sheet."""
    zip_out = _ZipWriter(out)
    zip_out.write("[Content_Types].xml", CONTENT_TYPES.encode())
    zip_out.write("_rels/.rels", ROOT_RELS.encode())
    zip_out.write("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.encode())
    zip_out.write("xl/styles.xml", styles_xml().encode())
    zip_out.write("xl/theme/theme1.xml", theme_xml.encode())
    counts = []
    for number, ((_, headers, widths), sources) in enumerate(zip(SHEETS, (results, findings)), 1):
        rows = zip_out.write_parts(f"xl/worksheets/sheet{number}.xml", _framed(sources, headers, widths))
        counts.append(sum(rows))
    zip_out.write("xl/workbook.xml", workbook_xml((counts[0], counts[1])).encode())
    zip_out.close()
    return counts[0], counts[1]


def _framed(sources: Iterable[Source], headers: tuple[str, ...], widths: tuple[int, ...]) -> Iterator[Source]:
    """A sheet: its head (columns, frozen header row), the sources, its tail (the filter over every row)."""
    yield Source.of(deflate(sheet_head(headers, widths)))
    rows = 0
    for source in sources:
        rows += source.rows
        yield source
    yield Source.of(deflate(sheet_tail(headers, rows)))


def write_results(out: IO[bytes], results: Iterable[Mapping], chunk: int = 2000) -> tuple[int, int]:
    """The whole workbook from results at hand (one process): rendered and deflated ``chunk`` claims at a time,
    the findings kept deflated until the Results sheet is written."""
    findings: list[Part] = []

    def result_parts() -> Iterator[Source]:
        batch: list[Mapping] = []
        for result in results:
            batch.append(result)
            if len(batch) >= chunk:
                yield _batch(batch)
                batch = []
        if batch:
            yield _batch(batch)

    def _batch(batch: list[Mapping]) -> Source:
        part_results, part_findings = deflate_rendered(render(batch))
        findings.append(part_findings)
        return Source.of(part_results)

    return write_workbook(out, result_parts(), (Source.of(p) for p in findings))
