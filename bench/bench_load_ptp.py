"""NCCI PTP bulk load: the real-size table (four files) through the product's loader vs a bare load of the same files.

The bare load is the floor for getting those files into the same database: PostgreSQL ``COPY`` of the files' data
lines as they are (the database parses the dates, ``*`` read as NULL), SQLite ``csv`` reader + ``executemany`` of the
lines, each into a table of the same columns with the pair index built after the rows, and no Python typing at all.
The product's load checksums the files, parses and types every field, checks duplicate keys and that each file is
whole, and writes a release in one transaction. Target: at most 1.5 times the bare load, memory flat, a second load
of the same files (``unchanged``) under a second.

The machine is shared, so absolute times drift from minute to minute: the two loads run interleaved, ``--rounds``
times, and the ratio is taken per round (bare, then product, back to back) and reported as the median.

    python bench/bench_load_ptp.py --rows 2632389 --parts 4          # the 2026 Q3 practitioner table's size
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mild_bench python bench/bench_load_ptp.py --rows 2632389
"""

import argparse
import csv
import itertools
import resource
import statistics
from datetime import date
from pathlib import Path

from _setup import OUT, Timer, machine, setup
from gen_ptp import generate

HEADER_LINES = 6  # notice, "Column1/Column2 Edits", 4-line wrapped header


def make_parts(rows: int, parts: int) -> list[Path]:
    """The table as CMS ships it: ``parts`` files split by column 1 code range, each with the notice and header."""
    paths = [OUT / f"ccipra-v322r0-f{n}-{rows}.TXT" for n in range(1, parts + 1)]
    if all(p.exists() for p in paths):
        return paths
    whole = OUT / f"ccipra-v322r0-{rows}-whole.TXT"
    generate(whole, rows, seed=1)
    with open(whole, encoding="latin-1", newline="") as fh:
        header = [next(fh) for _ in range(HEADER_LINES)]
        body = fh.readlines()
    per = len(body) // parts
    start = 0
    for n, path in enumerate(paths):
        end = len(body) if n == parts - 1 else start + per
        while end < len(body) and body[end].split("\t", 1)[0] == body[end - 1].split("\t", 1)[0]:
            end += 1  # a column 1 code stays in one part, as in CMS's files
        with open(path, "w", encoding="latin-1", newline="") as out:
            out.writelines(header)
            out.writelines(body[start:end])
        start = end
    whole.unlink()
    return paths


def bare_load(paths: list[Path], vendor: str) -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_bare_ptp")
        types = "varchar(5), varchar(5), varchar(1), date, date, varchar(1), varchar(120)"
        if vendor == "sqlite":
            types = "text, text, text, text, text, text, text"
        names = ["column1", "column2", "prior", "effective", "deleted", "modifier", "rationale"]
        cols = ", ".join(f"{n} {t}" for n, t in zip(names, types.split(", ")))
        cur.execute(f"CREATE TABLE bench_bare_ptp (release_id integer, {cols})")
        count = 0
        for path in paths:
            with open(path, encoding="latin-1", newline="") as fh:
                for _ in range(HEADER_LINES):
                    next(fh)
                if vendor == "postgresql":
                    with cur.cursor.copy("COPY bench_bare_ptp FROM STDIN (FORMAT text, NULL '*')") as copy:
                        for line in fh:
                            copy.write("1\t" + line)
                            count += 1
                else:
                    sql = "INSERT INTO bench_bare_ptp VALUES (1, %s, %s, %s, %s, %s, %s, %s)"
                    reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                    while chunk := list(itertools.islice(reader, 50_000)):
                        cur.executemany(sql, chunk)
                        count += len(chunk)
        cur.execute("CREATE INDEX bench_bare_pair ON bench_bare_ptp (release_id, column1, column2)")
        cur.execute("DROP TABLE bench_bare_ptp")
    return count


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_632_389, help="rows over all parts (real 2026 Q3: 2,633,389)")
    parser.add_argument("--parts", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    vendor = setup("ptp")
    paths = make_parts(args.rows, args.parts)

    from codes import models
    from codes import snapshot as k
    from codes.loading import load_files

    ratios, bares, products = [], [], []
    rss_before = peak_rss_mib()
    for n in range(args.rounds):
        models.PtpEdit.objects.all().delete()
        models.Release.objects.filter(kind=k.PTP_PRACTITIONER).delete()
        with Timer() as bare:
            bare_rows = bare_load(paths, vendor)
        with Timer() as ours:
            result = load_files(k.PTP_PRACTITIONER, paths, allow_fewer_rows=True)
        ratios.append(ours.seconds / bare.seconds)
        bares.append(bare.seconds)
        products.append(ours.seconds)
        print(f"round {n + 1}: bare {bare.seconds:.2f} s, product {ours.seconds:.2f} s = {ratios[-1]:.2f} x")
        assert result.rows == bare_rows, (result.rows, bare_rows)
    rss_after = peak_rss_mib()
    with Timer() as again:
        second = load_files(k.PTP_PRACTITIONER, paths)
    size = sum(p.stat().st_size for p in paths) / 2**20
    print(f"machine: {machine()}; database: {vendor}")
    print(f"files: {len(paths)} parts, {bare_rows:,} rows, {size:.0f} MiB")
    print(
        f"bare load ({'COPY' if vendor == 'postgresql' else 'csv + executemany, index after'}): "
        f"median {statistics.median(bares):.2f} s"
    )
    print(
        f"product load: median {statistics.median(products):.2f} s ({result.rows / statistics.median(products):,.0f}"
        f" rows/s); ratio per round {', '.join(f'{r:.2f}' for r in ratios)}; median "
        f"{statistics.median(ratios):.2f} x the bare load"
    )
    print(f"peak RSS: {rss_before:.0f} MiB before the loads, {rss_after:.0f} MiB after (files {size:.0f} MiB)")
    print(f"second load of the same files: {again.seconds:.3f} s ({second.status})")
    assert second.status == "unchanged"
    assert result.effective_from == date(2026, 7, 1)


if __name__ == "__main__":
    main()
