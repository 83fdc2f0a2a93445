"""Write NCCI PTP edit files in CMS's exact layout, at any size, for benchmarks and tests (LAYOUTS.md 3.1).

The layout is byte for byte that of the real ``ccipra-v322r0-f1`` excerpt: latin-1, LF line ends, the AMA
notice and ``Column1/Column2 Edits`` lines padded with six tabs, the 4-line wrapped header, then tab-separated
rows ``column1, column2, prior-1996 (* or blank), effective YYYYMMDD, deletion YYYYMMDD or *, modifier 0/1/9,
rationale``, sorted by column 1 then column 2 as CMS sorts them.

The data is synthetic but shaped like the real table: 5-character CPT (numeric, Category III ``0nnnT``,
PLA ``0nnnU``) and HCPCS Level II codes; a cumulative table where about a third of the pairs are deleted
(deletion on a quarter end) and a few were withdrawn (deletion = effective, modifier 9); a few pairs deleted
and later re-added (a second row with a later effective date); ``*`` prior-1996 pairs effective 19960101;
the four real rationales. (column1, column2, effective) is unique.

    python bench/gen_ptp.py --rows 2000000 --out /tmp/ccipra-v322r0-f1.TXT --seed 1
"""

from __future__ import annotations

import argparse
import calendar
import random
import sys
import time
from pathlib import Path

NOTICE = "CPT only copyright 2025 American Medical Association.  All rights reserved."
HEADER_LINES = (
    f"{NOTICE}\t\t\t\t\t\t",
    "Column1/Column2 Edits\t\t\t\t\t\t",
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale",
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t",
    "\t\t\t\t*=no data\t1=allowed\t",
    "\t\t\t\t\t9=not applicable\t",
)
RATIONALES = (
    ("Misuse of Column Two code with Column One code", 40),
    ("CPT Manual or CMS manual coding instruction", 28),
    ("Standards of medical/surgical practice", 20),
    ("Mutually exclusive procedures", 12),
)
FIRST_YEAR, LAST_YEAR, LAST_QUARTER = 1996, 2026, 3  # the table is v32.2: 2026 Q3


def _quarters() -> tuple[list[str], list[str]]:
    """Quarter start and end dates as YYYYMMDD, 1996 Q1 to the table's quarter."""
    starts, ends = [], []
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for q in range(4):
            if year == LAST_YEAR and q >= LAST_QUARTER:
                break
            month = 3 * q + 1
            end_month = month + 2
            starts.append(f"{year}{month:02d}01")
            ends.append(f"{year}{end_month:02d}{calendar.monthrange(year, end_month)[1]:02d}")
    return starts, ends


def _codes(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct, sorted 5-character codes in realistic proportions."""
    codes: set[str] = set()
    while len(codes) < count:
        kind = rng.random()
        if kind < 0.72:
            codes.add(f"{rng.randint(10004, 99499):05d}")  # CPT Category I
        elif kind < 0.78:
            codes.add(f"0{rng.randint(1, 999):03d}T")  # Category III
        elif kind < 0.81:
            codes.add(f"0{rng.randint(1, 999):03d}{rng.choice('UMA')}")  # PLA, MAAA, vaccine admin
        else:
            codes.add(f"{rng.choice('AGJCLQEV')}{rng.randint(1, 9999):04d}")  # HCPCS Level II
    return sorted(codes)


def generate(out: Path, rows: int, seed: int = 1, newline: str = "\n") -> int:
    """Write ``rows`` data rows to ``out``; returns the number written."""
    rng = random.Random(seed)
    starts, ends = _quarters()
    last = len(starts) - 1
    universe = _codes(rng, max(300, min(20000, int(rows**0.5 * 12))))
    size = len(universe)
    rationale_names = [name for name, _ in RATIONALES]
    rationale_weights = [weight for _, weight in RATIONALES]

    # How many rows each column 1 code gets: skewed like the real table, summing to ``rows``.
    weights = [rng.expovariate(1.0) for _ in universe]
    total_weight = sum(weights)
    quotas = [min(size - 1, int(rows * w / total_weight)) for w in weights]
    short = rows - sum(quotas)
    i = 0
    while short > 0:
        room = size - 1 - quotas[i % size]
        if room > 0:
            take = min(room, short, 1 + rows // size)
            quotas[i % size] += take
            short -= take
        i += 1

    def edit(effective_q: int) -> tuple[str, str, str, str]:
        """(prior, effective, deletion, modifier) for one row starting in quarter ``effective_q``."""
        prior = "*" if effective_q == 0 and rng.random() < 0.6 else ""
        roll = rng.random()
        if roll < 0.012:  # withdrawn retroactively: never applied
            return prior, starts[effective_q], starts[effective_q], "9"
        if roll < 0.34 and effective_q < last:  # deleted on a later quarter end
            deleted = ends[rng.randint(effective_q, last - 1)]
            modifier = "0" if rng.random() < 0.12 else "1"
            return prior, starts[effective_q], deleted, modifier
        modifier = rng.choices("019", weights=(9, 89, 2))[0]
        return prior, starts[effective_q], "*", modifier

    written = 0
    with open(out, "w", encoding="latin-1", newline="") as fh:
        fh.write(newline.join(HEADER_LINES) + newline)
        for index, column1 in enumerate(universe):
            quota = quotas[index]
            if not quota:
                continue
            readded = min(quota // 2, sum(1 for _ in range(quota) if rng.random() < 0.03))
            pairs = quota - readded
            picks = sorted(rng.sample(range(size - 1), pairs))
            column2s = [universe[p if p < index else p + 1] for p in picks]
            second = set(rng.sample(range(pairs), readded)) if readded else set()
            lines = []
            for n, column2 in enumerate(column2s):
                rationale = rng.choices(rationale_names, rationale_weights)[0]
                if n in second and last >= 2:
                    # Deleted, then re-added later: two rows, the second with a later effective date.
                    first_q = rng.randint(0, last - 2)
                    end_q = rng.randint(first_q, last - 2)
                    prior = "*" if first_q == 0 and rng.random() < 0.6 else ""
                    lines.append(f"{column1}\t{column2}\t{prior}\t{starts[first_q]}\t{ends[end_q]}\t1\t{rationale}")
                    values = edit(rng.randint(end_q + 1, last))
                    values = ("", *values[1:])
                else:
                    effective_q = 0 if rng.random() < 0.05 else int(last * rng.random() ** 0.6)
                    values = edit(effective_q)
                lines.append(f"{column1}\t{column2}\t{values[0]}\t{values[1]}\t{values[2]}\t{values[3]}\t{rationale}")
            written += len(lines)
            fh.write(newline.join(lines) + newline)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="number of data rows")
    parser.add_argument("--out", type=Path, required=True, help="file to write, e.g. /tmp/ccipra-v322r0-f1.TXT")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--crlf", action="store_true", help="CRLF line ends (the real file uses LF)")
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    started = time.perf_counter()
    written = generate(args.out, args.rows, args.seed, "\r\n" if args.crlf else "\n")
    print(f"wrote {written} rows to {args.out} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
