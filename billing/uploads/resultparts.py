"""The results workbook's parts on storage: each chunk of an upload saves its rows of the workbook, rendered and
deflated (billing.uploads.sheetxml), next to the work file; the finish joins them into the xlsx.

A part is ``uploads/work/upload-<id>-part-<index>.xml.z``: a magic line, a JSON line (which upload and chunk it
belongs to; for its Results and for its Findings rows: the XML's CRC-32 and length, the rows, the deflated length
and CRC-32), then the two deflated runs. A redelivered chunk saves the same bytes again (the check of a chunk is the
same for the same claims on the same day). A part counts only when the chunk's done marker is there, and only if it
reads back whole and undamaged and belongs to this upload and chunk; otherwise (a chunk stored before parts existed,
a storage failure, a worker killed while saving) the finish renders the chunk from its stored checks with the same
renderer.
"""

from __future__ import annotations

import json
import logging
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import F, IntegerField, Max, Min
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from billing.models import BatchUpload, ClaimCheck
from billing.uploads import sheetxml

log = logging.getLogger(__name__)

WORK_DIR = "uploads/work"
MAGIC = b"mild results part 1\n"
HEADER_LIMIT = 4096
BLOCK = 1 << 20


class UnusablePart(Exception):
    """A part that is not this chunk's, or not whole."""


def part_prefix(upload_id: int) -> str:
    return f"upload-{upload_id}-part-"


def part_name(upload_id: int, index: int) -> str:
    return f"{WORK_DIR}/{part_prefix(upload_id)}{index}.xml.z"


def _binding(upload: BatchUpload, index: int) -> dict:
    """What ties a part to its upload and chunk (ids are reused by a database restored or rolled back)."""
    chunk = upload.chunk_plan["chunks"][index]
    created = upload.created_at.isoformat() if upload.created_at else ""
    return {"upload": upload.pk, "created": created, "chunk": index, "first": chunk["first"], "count": chunk["count"]}


def _run(part: sheetxml.Part) -> list[int]:
    """How a part's header describes one deflated run: CRC-32 and length of the XML, rows, deflated length and the
    deflated bytes' CRC-32 (checked as the finish copies them: a part damaged on storage is not joined)."""
    return [part.crc, part.size, part.rows, len(part.data), zlib.crc32(part.data)]


def encode(binding: Mapping, results: sheetxml.Part, findings: sheetxml.Part) -> bytes:
    meta = {**binding, "results": _run(results), "findings": _run(findings)}
    return MAGIC + json.dumps(meta).encode() + b"\n" + results.data + findings.data


def save_part(upload: BatchUpload, index: int, results: list[dict]) -> str | None:
    """Render chunk ``index``'s rows of the workbook and save them (in place of what an earlier delivery saved).
    Storage trouble is logged, not raised: the finish renders a missing part from the stored checks."""
    data = encode(_binding(upload, index), *sheetxml.deflate_rendered(sheetxml.render(results)))
    name = part_name(upload.pk, index)
    try:
        default_storage.delete(name)
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:  # another delivery of this chunk saved the same bytes meanwhile
            default_storage.delete(saved)
    except OSError:
        log.warning("upload %s chunk %s: results part not saved (the finish renders it)", upload.pk, index,
                    exc_info=True)  # fmt: skip
        return None
    return name


def drop_parts(upload: BatchUpload) -> None:
    """Delete the upload's parts (a missing one is fine; storage trouble leaves files the sweeper removes)."""
    for index in range(upload.chunks_total or 0):
        try:
            default_storage.delete(part_name(upload.pk, index))
        except OSError:
            log.warning("upload %s: results parts not deleted", upload.pk)
            return


def _copy_part(upload: BatchUpload, index: int, spool: IO[bytes]) -> tuple[list, list]:
    """Copy chunk ``index``'s saved part to ``spool``; -> the Results and Findings run descriptions."""
    with default_storage.open(part_name(upload.pk, index), "rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise UnusablePart("not a results part")
        line = fh.readline(HEADER_LIMIT)
        meta = json.loads(line)
        if any(meta.get(key) != value for key, value in _binding(upload, index).items()):
            raise UnusablePart("a part of another upload or chunk")
        runs = [meta["results"], meta["findings"]]
        if runs[0][2] != meta["count"]:
            raise UnusablePart("not one Results row per claim")
        for run in runs:
            if _copy(fh, spool, run[3]) != run[4]:
                raise UnusablePart("damaged (CRC-32)")
        if fh.read(1):
            raise UnusablePart("longer than it says")
    return runs[0], runs[1]


def _copy(fh: IO[bytes], spool: IO[bytes], length: int) -> int:
    """Copy ``length`` bytes in blocks; -> their CRC-32."""
    crc = 0
    while length:
        block = fh.read(min(BLOCK, length))
        if not block:
            raise UnusablePart("cut short")
        spool.write(block)
        crc = zlib.crc32(block, crc)
        length -= len(block)
    return crc


class StoredChunks:
    """The stored results of the chunks the finish renders itself, chunk by chunk in file order. The first one
    asked for finds every chunk's id range with one grouped query; each chunk is then read within its range (the
    primary key's index), not by filtering every check of the upload on its JSON ordinal once per chunk."""

    def __init__(self, upload: BatchUpload):
        self.upload = upload
        self.ranges: dict[int, tuple[int, int]] | None = None

    def _checks(self):
        return ClaimCheck.objects.filter(upload=self.upload).annotate(
            ordinal=Cast(KT("result__ordinal"), IntegerField())
        )

    def results(self, index: int) -> Iterator[dict]:
        if self.ranges is None:
            size = int(self.upload.chunk_plan["chunk_claims"])
            grouped = (
                self._checks()
                .annotate(part=F("ordinal") / size)
                .order_by()
                .values("part")
                .annotate(low=Min("id"), high=Max("id"))
                .values_list("part", "low", "high")
            )
            self.ranges = {part: (low, high) for part, low, high in grouped}
        if index not in self.ranges:
            return iter(())
        low, high = self.ranges[index]
        chunk = self.upload.chunk_plan["chunks"][index]
        return (
            self._checks()
            .filter(id__gte=low, id__lte=high, ordinal__gte=chunk["first"], ordinal__lt=chunk["first"] + chunk["count"])
            .order_by("ordinal", "id")
            .values_list("result", flat=True)
            .iterator(chunk_size=2000)
        )

    def render(self, index: int, spool: IO[bytes]) -> tuple[list, list]:
        """Render chunk ``index`` from its stored checks into ``spool``; -> its two run descriptions."""
        results, findings = sheetxml.deflate_rendered(sheetxml.render(self.results(index)))
        spool.write(results.data)
        spool.write(findings.data)
        return _run(results), _run(findings)


def _spooled(spool: IO[bytes], offset: int, length: int) -> Callable[[], Iterator[bytes]]:
    def blocks() -> Iterator[bytes]:
        spool.seek(offset)
        left = length
        while left:
            block = spool.read(min(BLOCK, left))
            if not block:
                raise OSError("the spool file is shorter than was written")
            left -= len(block)
            yield block
        spool.seek(0, 2)

    return blocks


def write_workbook(upload: BatchUpload, out: IO[bytes], beat: Callable[[], None] = lambda: None) -> dict:
    """The upload's results workbook from its chunks' parts (each read once, copied in blocks through a local
    spool file; a chunk whose part is missing or unusable rendered from its stored checks). ``beat`` is called once
    per chunk. -> rows of each sheet and the chunks rendered here."""
    chunks = upload.chunk_plan["chunks"]
    stored = StoredChunks(upload)
    findings: list[sheetxml.Source] = []
    rendered: list[int] = []
    with tempfile.TemporaryFile() as spool:

        def results() -> Iterator[sheetxml.Source]:
            for index in range(len(chunks)):
                beat()
                start = spool.seek(0, 2)
                try:
                    if str(index) not in (upload.chunk_runs or {}):
                        raise UnusablePart("the chunk has no done marker")
                    runs = _copy_part(upload, index, spool)
                except (OSError, UnusablePart, ValueError, KeyError, TypeError, IndexError) as exc:
                    log.info("upload %s chunk %s: rendering the stored checks (%s)", upload.pk, index, exc)
                    spool.seek(start)
                    spool.truncate()
                    runs = stored.render(index, spool)
                    rendered.append(index)
                (rcrc, rsize, rrows, rlen, _), (fcrc, fsize, frows, flen, _) = runs
                findings.append(sheetxml.Source(fcrc, fsize, frows, _spooled(spool, start + rlen, flen)))
                yield sheetxml.Source(rcrc, rsize, rrows, _spooled(spool, start, rlen))

        claims, finding_rows = sheetxml.write_workbook(out, results(), findings)
    return {"claims": claims, "findings": finding_rows, "rendered": rendered}
