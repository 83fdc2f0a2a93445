"""The normalised work file of a batch upload and its chunks (pure): how a file is checked in chunks without any
worker holding it all.

``write_work_file`` reads the upload's rows once, streaming, and writes a normalised CSV in which every row carries
its claim's ordinal (claims numbered in order of first appearance); it returns a ``Plan`` giving each chunk of
``chunk_claims`` claims the byte range of the work file that holds its rows. A chunk job reads only its byte range
(``read_chunk``).
"""

from __future__ import annotations

import csv
import io
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO

from billing.uploads.reading import COLUMNS, Row, UploadClaim, too_many_claims

WORK_COLUMNS = ("ordinal", "row", *COLUMNS)
DEFAULT_CHUNK_CLAIMS = 500


@dataclass
class Plan:
    """What ``write_work_file`` found: the number of claims and rows, and one entry per chunk:
    ``{"first": first claim ordinal, "count": claims, "start": byte offset, "end": byte offset}``."""

    total_claims: int = 0
    total_rows: int = 0
    chunks: list[dict] = field(default_factory=list)


def write_work_file(
    rows: Iterable[Row], out: IO[bytes], chunk_claims: int = DEFAULT_CHUNK_CLAIMS, max_claims: int | None = None
) -> Plan:
    """Write ``rows`` as the normalised work file (UTF-8 CSV, columns ``WORK_COLUMNS``) and plan the chunks.

    Claims are numbered in order of first appearance; a row without a ``claim_ref`` is a claim of its own (it
    will be reported as such). Chunk ``i`` holds claims ``i * chunk_claims`` onwards; its byte range runs from
    the first row of its first claim to the end of the last row of any of its claims, so a chunk reads one
    contiguous slice (exactly its own rows when each claim's rows are together, as exports have them).
    """
    if chunk_claims < 1:
        raise ValueError("chunk_claims must be at least 1")
    plan = Plan()
    ordinals: dict[str, int] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(WORK_COLUMNS)
    offset = _flush(buffer, out)
    cells = operator.itemgetter(*COLUMNS)
    for row in rows:
        ref = row.values["claim_ref"]
        ordinal = ordinals.get(ref) if ref else None
        if ordinal is None:
            ordinal = plan.total_claims
            plan.total_claims += 1
            if max_claims is not None and plan.total_claims > max_claims:
                raise too_many_claims(max_claims)
            if ref:
                ordinals[ref] = ordinal
            index, position = divmod(ordinal, chunk_claims)
            if position == 0:
                plan.chunks.append({"first": ordinal, "count": 0, "start": offset, "end": offset})
            plan.chunks[index]["count"] += 1
        writer.writerow((ordinal, row.number, *cells(row.values)))
        offset += _flush(buffer, out)
        chunk = plan.chunks[ordinal // chunk_claims]
        chunk["end"] = max(chunk["end"], offset)
        plan.total_rows += 1
    return plan


def _flush(buffer: io.StringIO, out: IO[bytes]) -> int:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    out.write(data)
    return len(data)


def read_chunk(work: IO[bytes], chunk: Mapping[str, int]) -> list[UploadClaim]:
    """The claims of one chunk of the plan, read from its byte range of the work file, in ordinal order."""
    first, last = chunk["first"], chunk["first"] + chunk["count"]
    work.seek(chunk["start"])
    data = work.read(chunk["end"] - chunk["start"]).decode("utf-8")
    claims: dict[int, UploadClaim] = {}
    for record in csv.reader(io.StringIO(data, newline="")):
        ordinal = int(record[0])
        if not first <= ordinal < last:
            continue
        values = dict(zip(COLUMNS, record[2:]))
        claim = claims.get(ordinal)
        if claim is None:
            claim = claims[ordinal] = UploadClaim(ordinal, values["claim_ref"])
        claim.rows.append(Row(int(record[1]), values))
    return [claims[o] for o in sorted(claims)]


def group_claims(rows: Iterable[Row]) -> list[UploadClaim]:
    """Every claim of a file at once (small files, tests): the same grouping as the work file's."""
    out = io.BytesIO()
    plan = write_work_file(rows, out, chunk_claims=1 << 30)
    if not plan.chunks:
        return []
    return read_chunk(out, plan.chunks[0])
