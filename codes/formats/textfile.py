"""The one text-encoding policy of the parsers, and the checks every text parser needs.

CMS text files are single-byte text: ASCII in practice, Windows-1252 where a stray character slips in (the
2020 HCPCS disclaimer has ``CMS\\x92``, a cp1252 apostrophe); some are UTF-8. Every text file is read the same way,
whether line by line (``iter_lines``) or as a stream for the csv module (``open_text``): bytes that are UTF-8 are
read as UTF-8 (so a UTF-8 file keeps its accents; a UTF-8 byte order mark is dropped), any other byte as cp1252, or
latin-1 where cp1252 has no character (which never fails). Files that are not single-byte text are refused up front
(``check_head``): UTF-16 (BOM or NUL bytes) and zip containers such as an ``.xlsx`` given a text name.
"""

from __future__ import annotations

import codecs
import functools
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from .base import FormatError

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_MAGIC = b"PK\x03\x04"
_HEAD_BYTES = 8192
ENCODING = "utf-8-sig"
ERRORS = "codes.cms-text"  # the codec error handler below


def _single_byte(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: the bytes that are not UTF-8, each as cp1252, else latin-1."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    out = []
    for byte in exc.object[exc.start : exc.end]:
        try:
            out.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            out.append(chr(byte))  # latin-1
    return "".join(out), exc.end


codecs.register_error(ERRORS, _single_byte)


def check_head(head: bytes, *, what: str, file: str, line: int | None = None) -> None:
    """Refuse what is not single-byte text, from its first bytes (or a line): UTF-16, a zip container, NUL bytes."""
    if line in (None, 1) and head.startswith(_UTF16_BOMS):
        raise FormatError(f"the file is UTF-16 encoded; expected {what} as plain text", file=file, line=line)
    if line in (None, 1) and head.startswith(_ZIP_MAGIC):
        raise FormatError(
            f"the file is a zip/xlsx container (a zip or Excel workbook), not {what} as plain text",
            file=file,
            line=line,
        )
    if b"\x00" in head:
        raise FormatError(f"NUL bytes: the file is binary or UTF-16, not {what} as plain text", file=file, line=line)


def decode_line(raw: bytes, *, strict_utf8: bool = False, file: str | None = None, line: int | None = None) -> str:
    """Decode one line by the policy (or a FormatError when it is not UTF-8 and ``strict_utf8``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if strict_utf8:
            raise FormatError("not UTF-8 text", file=file, line=line) from None
    return raw.decode("utf-8", errors=ERRORS)


def text_stream(binary: BinaryIO, *, newline: str | None = None) -> TextIO:
    """A binary stream read as text by the policy (``newline=""`` for the csv module)."""
    return io.TextIOWrapper(binary, encoding=ENCODING, errors=ERRORS, newline=newline)


def open_text(path: str | Path, *, what: str = "a CMS text file", newline: str | None = None) -> TextIO:
    """Open a text file by the policy, after ``check_head`` on its first 8 kB (``newline=""`` for the csv module)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror}", file=str(path)) from None
    check_head(head, what=what, file=str(path))
    return open(path, encoding=ENCODING, errors=ERRORS, newline=newline)  # noqa: SIM115


def iter_lines(
    path: str | Path, *, what: str, keepends: bool = False, strict_utf8: bool = False
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of ``path``, 1-based, line ending removed unless ``keepends``.

    ``what`` names the expected kind of file in error messages ("a HCPCS ANWEB file").
    """
    file = str(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror}", file=file) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            check_head(raw, what=what, file=file, line=number)
            if number == 1 and raw.startswith(_UTF8_BOM):
                raw = raw[len(_UTF8_BOM) :]
            text = decode_line(raw, strict_utf8=strict_utf8, file=file, line=number)
            if not keepends:
                text = text.rstrip("\r\n")
            yield number, text


# --- Proving a file is whole ---------------------------------------------------------------------------------
#
# One mechanism for every parser (``@proves_whole`` on each public ``parse``):
#
# - a zip container (an ``.xlsx``) must have its central directory (it sits at the end: any cut loses it) and every
#   member must pass its CRC check. Checked before the first row, so a damaged workbook is never read;
# - a text file must end with a line end. Every CMS file seen (CSV, TXT, fixed width, CRLF or LF) and every file the
#   project writes ends with one, so a file cut anywhere but on a line boundary (inside a value, between the CR and
#   the LF) is refused, naming its last line. Checked after the parser's last row, so that the parser's own, more
#   specific errors (UTF-16, not this kind of file, a short record on line N) come first; the loader writes rows
#   in one transaction, so rows yielded before the error are rolled back and nothing of a cut file is stored.
#
# A cut on a line boundary leaves whole lines: what proves the end of each format (a footer, a closing tag, fixed
# record lengths and decimals) is checked by its parser and written in its docstring; where the layout has no end
# marker, the loader's expected count (``expected_rows``) and its comparison with the release in force catch it.

_CHUNK = 1 << 20


def check_container(path: str | Path, *, what: str) -> bool:
    """For a zip container (an ``.xlsx``): raise FormatError unless its directory is readable and every member
    passes its CRC check. Returns whether the file is a zip container."""
    import zipfile
    import zlib

    file = str(path)
    try:
        with open(path, "rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:
                return False
            handle.seek(0)
            try:
                with zipfile.ZipFile(handle) as zf:
                    bad = zf.testzip()
            except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, ValueError) as exc:
                raise FormatError(f"a damaged or cut-off zip/xlsx container ({exc}), not {what}", file=file) from None
    except OSError:
        return False  # the parser says why it cannot open the file
    if bad is not None:
        raise FormatError(f"the zip/xlsx member {bad} fails its CRC check: the file is damaged", file=file)
    return True


def check_line_end(path: str | Path, *, what: str) -> None:
    """Raise FormatError unless the text file ``path`` is not empty and ends with a line end (naming its last line).

    Cheap on a whole file: it reads the last byte only. The lines are counted (a second read of the file) only to
    name the last line of a file that fails."""
    file = str(path)
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            if not size:
                raise FormatError(f"the file is empty, not {what}", file=file)
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            handle.seek(0)
            lines = 0
            while chunk := handle.read(_CHUNK):
                lines += chunk.count(b"\n")
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror}", file=file) from None
    raise FormatError(
        "the last line has no line end: the file is cut short (truncated download or copy)",
        file=file,
        line=lines + 1,
    )


def proves_whole(what: str, *, line_end: bool = True, container: bool = False):
    """Decorator for a parser's ``parse(path, ...)`` generator: :func:`check_container` before the first row when
    the format may come as a zip container (``container=True``: HCPCS ``.xlsx``; the text-only parsers refuse a zip
    by its signature themselves), :func:`check_line_end` after the last (``line_end=False`` for formats whose syntax
    proves their end: XML, whose root element must close)."""

    def decorate(parse):
        @functools.wraps(parse)
        def wrapper(path, *args, **kwargs):
            zipped = container and check_container(path, what=what)
            yield from parse(path, *args, **kwargs)
            if line_end and not zipped:
                check_line_end(path, what=what)

        wrapper.proves_whole = True
        return wrapper

    return decorate
