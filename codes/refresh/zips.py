"""Taking a kind's file(s) out of a downloaded zip: the member(s) the source names, or the kind's usual names
(``codes.kinds``), within the size limit, as one file set."""

from __future__ import annotations

import fnmatch
import zipfile
import zlib
from pathlib import Path

from django.conf import settings

from codes import kinds
from codes.refresh.download import CHUNK, Fetched, RefreshError


def _members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]


def _chosen(members: list[zipfile.ZipInfo], pattern: str, kind: str) -> list[zipfile.ZipInfo]:
    names = [Path(i.filename).name for i in members]
    patterns = [pattern] if pattern else list(kinds.KINDS[kind].members if kind in kinds.KINDS else ())
    chosen: list[zipfile.ZipInfo] = []
    for pat in patterns:
        chosen = [i for i in members if fnmatch.fnmatchcase(Path(i.filename).name.lower(), pat.lower())]
        if chosen:
            break
    if not patterns and len(members) == 1:
        chosen = members
    if not chosen:
        wanted = " or ".join(repr(p) for p in patterns) or "a name (give the source's zip member)"
        raise RefreshError(f"the zip has no member matching {wanted} (members: {', '.join(names) or 'none'})")
    return chosen


def unpack(fetched: Fetched, pattern: str, kind: str, dest: str | Path, max_bytes: int | None = None) -> list[Fetched]:
    """A plain file is returned as is; from a zip, the member(s) matching ``pattern`` (or the kind's usual
    names), case ignored, compared with the member's file name. Several matches load as one file set."""
    max_bytes = max_bytes or settings.REFRESH_MAX_BYTES
    with open(fetched.path, "rb") as fh:
        magic = fh.read(4)
    looks_zip = magic == b"PK\x03\x04" or fetched.name.lower().endswith(".zip")
    if not looks_zip:
        return [fetched]
    if not zipfile.is_zipfile(fetched.path):
        raise RefreshError(f"{fetched.name} is not a readable zip (cut short or damaged): nothing was loaded")
    try:
        with zipfile.ZipFile(fetched.path) as zf:
            out = []
            for info in sorted(_chosen(_members(zf), pattern, kind), key=lambda i: i.filename):
                if info.file_size > max_bytes:
                    raise RefreshError(
                        f"{info.filename} in the zip is {info.file_size:,} bytes, over the limit of {max_bytes:,}"
                    )
                target = Path(dest) / Path(info.filename).name
                written = 0
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise RefreshError(f"{info.filename} unpacks to more than {max_bytes:,} bytes")
                        dst.write(chunk)
                out.append(Fetched(target, Path(info.filename).name, written))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:  # a bad CRC or deflate stream
        raise RefreshError(f"{fetched.name} is a damaged zip ({exc}): nothing was loaded") from None
