"""Parser for the CMS ICD-10-CM tabular list XML (LAYOUTS 1.5): ``icd10cm_tabular_YYYY.xml``.

Every ``diag`` becomes an ``IcdRow`` (chapters and sections are groupings, not codes), in tabular order: a
code before its children. A code is billable when it has no child ``diag`` and no 7th-character definition
applies to it. A ``sevenChrDef`` applies to the ``diag`` that carries it and to every ``diag`` below it; the
nearest one wins. A leaf it applies to is not billable itself: the parser emits it, then one billable row per
7th character, the code padded with ``X`` to 6 characters (without the dot) and the character appended
(``S02.0`` + ``A`` -> ``S020XXA``; S06 codes with 6th character 7 or 8 take ``A`` only, a rule the file states
in a note), described as ``"<diag desc>, <extension text>"`` (the convention of
simple-icd-10-cm; ``<note>`` lines inside a ``sevenChrDef`` are inclusion notes and are left out).

The file is streamed with ElementTree's pull parser (the incremental machinery behind ``iterparse``), fed line
by line so errors can name the line; finished elements are cleared as they close. (Python's bundled expat,
2.4.1 and later, neither fetches external entities nor expands entity bombs, so plain ElementTree is safe here.)

What proves the file is whole: the XML itself. A cut file leaves the root element (and usually a ``diag``) open,
which the parser reports as not well-formed at its last line; no line end is required after the closing tag.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from .base import FileInfo, FormatError
from .icd10 import fiscal_year_info, release_from_name
from .rows import IcdRow
from .textfile import proves_whole

ROOT_TAG = "ICD10CM.tabular"
_XML_NAME = re.compile(r"[A-Z][0-9A-Z]{2}(?:\.[0-9A-Z]{1,4})?")
_SEVENTH = re.compile(r"[0-9A-Z]")
_CLEAR_ON_END = frozenset({"diag", "chapter", "section", "introduction"})


def _excluded_seventh(code: str, char: str) -> bool:
    """The one 7th-character exception the tabular states only in prose (a ``<notes>`` of category S06):
    "7th characters D and S do not apply to codes in category S06 with 6th character 7 [...] or 8"."""
    return code.startswith("S06") and len(code) == 6 and code[5] in "78" and char in "DS"


class _Diag:
    """A ``diag`` being read: what has been seen of it so far."""

    __slots__ = ("code", "description", "emitted", "inherited", "line", "seventh")

    def __init__(self, inherited: dict[str, str] | None, line: int):
        self.code = ""
        self.description = ""
        self.emitted = False
        self.inherited = inherited  # the nearest ancestor's sevenChrDef
        self.seventh: dict[str, str] = {}  # this diag's own sevenChrDef
        self.line = line

    @property
    def seventh_applicable(self) -> dict[str, str] | None:
        return self.seventh or self.inherited


@proves_whole("an ICD-10-CM tabular XML file", line_end=False)
def parse(path: str | Path) -> Iterator[IcdRow]:
    """Yield an IcdRow for every code in the tabular XML, 7th-character extensions included."""
    file = str(path)
    pull = ET.XMLPullParser(events=("start", "end"))
    tags: list[str] = []  # open elements, outermost first
    diags: list[_Diag] = []  # open diag elements
    seen: set[str] = set()
    line = 0

    def fail(message: str, field: str | None = None) -> FormatError:
        return FormatError(message, file=file, line=line, field=field)

    def row(code: str, billable: bool, description: str) -> IcdRow:
        if code in seen:
            raise fail(f"code {code} appears twice", "name")
        seen.add(code)
        return IcdRow(code=code, billable=billable, description=description)

    def check_named(diag: _Diag) -> None:
        if not diag.code:
            raise fail(f"a <diag> opened on line {diag.line} has no <name> before its content", "name")
        if not diag.description:
            raise fail(f"code {diag.code} has no <desc>", "desc")

    def handle(events) -> Iterator[IcdRow]:
        for event, elem in events:
            tag = elem.tag
            if event == "start":
                if not tags and tag != ROOT_TAG:
                    raise fail(f"root element is <{tag}>: this does not look like an ICD-10-CM tabular XML file")
                if tag == "diag":
                    inherited = None
                    if diags:
                        parent = diags[-1]
                        if not parent.emitted:
                            check_named(parent)
                            parent.emitted = True
                            yield row(parent.code, False, parent.description)
                        inherited = parent.seventh_applicable
                    diags.append(_Diag(inherited, line))
                tags.append(tag)
                continue

            tags.pop()
            parent_tag = tags[-1] if tags else None
            if tag == "diag":
                diag = diags.pop()
                if not diag.emitted:
                    check_named(diag)
                    seventh = diag.seventh_applicable
                    if not seventh:
                        yield row(diag.code, True, diag.description)
                    else:
                        if len(diag.code) > 6:
                            raise fail(f"code {diag.code} already has 7 characters but a 7th-character definition")
                        yield row(diag.code, False, diag.description)
                        stem = diag.code.ljust(6, "X")
                        for char, text in seventh.items():
                            if not _excluded_seventh(diag.code, char):
                                yield row(stem + char, True, f"{diag.description}, {text}")
            elif parent_tag == "diag":
                if tag == "name":
                    text = (elem.text or "").strip()
                    if not _XML_NAME.fullmatch(text):
                        raise fail(f"{text!r} is not an ICD-10-CM code", "name")
                    diags[-1].code = text.replace(".", "")
                elif tag == "desc":
                    diags[-1].description = " ".join((elem.text or "").split())
                elif tag == "sevenChrDef" and diags[-1].emitted:
                    raise fail(f"code {diags[-1].code} defines 7th characters after its child codes", "sevenChrDef")
            elif parent_tag == "sevenChrDef" and tag == "extension":
                char = elem.get("char", "")
                if not _SEVENTH.fullmatch(char):
                    raise fail(f"7th character {char!r} is not a single letter or digit", "extension")
                diags[-1].seventh[char] = " ".join((elem.text or "").split())
            if tag in _CLEAR_ON_END:
                elem.clear()

    try:
        handle_file = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror}", file=file) from None
    with handle_file:
        try:
            for line, raw in enumerate(handle_file, start=1):  # noqa: B007 (line is read by fail())
                pull.feed(raw)
                yield from handle(pull.read_events())
            line += 1
            pull.close()
            yield from handle(pull.read_events())
        except ET.ParseError as exc:
            where = exc.position[0] if exc.position else line
            raise FormatError(
                f"not well-formed XML ({exc}): the file is truncated, damaged or not an ICD-10-CM tabular XML file",
                file=file,
                line=where,
            ) from None
    if not seen:
        raise FormatError("no <diag> codes found: this does not look like an ICD-10-CM tabular XML file", file=file)


def file_info(path: str | Path) -> FileInfo:
    """Fiscal year from the name (``icd10cm_tabular_2026.xml``, ``icd10cm-tabular-April-1-2026.xml``), else from
    the ``<version>`` element (the fiscal year; an April update cannot be told from the content)."""
    info = release_from_name(Path(path).name, "tabular")
    if info:
        return info
    version = _read_version(path)
    if version and re.fullmatch(r"(?:19|20)\d\d", version):
        return fiscal_year_info(int(version))
    return FileInfo()


def _read_version(path: str | Path) -> str | None:
    """The text of ``<version>``, read from the start of the file only."""
    pull = ET.XMLPullParser(events=("end",))
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(16384):
                pull.feed(chunk)
                for _event, elem in pull.read_events():
                    if elem.tag == "version":
                        return (elem.text or "").strip()
                    if elem.tag in ("introduction", "chapter"):
                        return None
    except (ET.ParseError, OSError):
        return None
    return None
