"""Reading CMS text files line by line, with the checks every text parser needs.

CMS text files are single-byte text: ASCII in practice, Windows-1252 where a stray character slips in (the
2020 HCPCS disclaimer has ``CMS\\x92``, a cp1252 apostrophe). Each line is decoded on its own: UTF-8 first (so a
UTF-8 file keeps its accents), then cp1252, then latin-1, which never fails. Files that are not single-byte text
are refused up front: UTF-16 (BOM or NUL bytes) and zip containers such as an ``.xlsx`` given a text name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .base import FormatError

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_ZIP_MAGIC = b"PK\x03\x04"


def decode_line(raw: bytes, *, strict_utf8: bool = False, file: str | None = None, line: int | None = None) -> str:
    """Decode one line: UTF-8, else cp1252, else latin-1 (or a FormatError when ``strict_utf8``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if strict_utf8:
            raise FormatError("not UTF-8 text", file=file, line=line) from None
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


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
            if number == 1:
                if raw.startswith(_UTF16_BOMS):
                    raise FormatError(f"the file is UTF-16 encoded; expected {what} as plain text", file=file, line=1)
                if raw.startswith(_ZIP_MAGIC):
                    raise FormatError(f"the file is a zip/xlsx container, not {what} as plain text", file=file, line=1)
                if raw.startswith(_UTF8_BOM):
                    raw = raw[len(_UTF8_BOM) :]
            if b"\x00" in raw:
                raise FormatError(
                    f"NUL bytes: the file is binary or UTF-16, not {what} as plain text", file=file, line=number
                )
            text = decode_line(raw, strict_utf8=strict_utf8, file=file, line=number)
            if not keepends:
                text = text.rstrip("\r\n")
            yield number, text
