"""NCCI PTP bulk load: 2,000,000 rows through the product's loader vs a bare load of the same file.

The bare load is the floor for getting that file into the same database: PostgreSQL ``COPY`` of the file's data
lines as they are (the database parses the dates, ``*`` read as NULL), SQLite ``executemany`` of the lines split
on tabs, each into a table of the same columns with the same pair index and no Python parsing at all. The
product's load parses and types every field, checks duplicate keys, checksums the file and writes a release in
one transaction. Target: at most 1.5 times the bare load. A second load of the same file must be near-instant.

    python bench/bench_load_ptp.py --rows 2000000
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mild_bench python bench/bench_load_ptp.py --rows 2000000
"""

import argparse
import itertools
from datetime import date

from _setup import OUT, Timer, machine, setup
from gen_ptp import generate

HEADER_LINES = 6  # notice, "Column1/Column2 Edits", 4-line wrapped header


def bare_load(path, vendor: str) -> int:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_bare_ptp")
        types = "varchar(5), varchar(5), varchar(1), date, date, varchar(1), varchar(120)"
        if vendor == "sqlite":
            types = "text, text, text, text, text, text, text"
        names = ["column1", "column2", "prior", "effective", "deleted", "modifier", "rationale"]
        cols = ", ".join(f"{n} {t}" for n, t in zip(names, types.split(", ")))
        cur.execute(f"CREATE TABLE bench_bare_ptp (release_id integer, {cols})")
        cur.execute("CREATE INDEX bench_bare_pair ON bench_bare_ptp (release_id, column1, column2)")
        count = 0
        with open(path, encoding="latin-1") as fh:
            for _ in range(HEADER_LINES):
                next(fh)
            if vendor == "postgresql":
                with cur.cursor.copy("COPY bench_bare_ptp FROM STDIN (FORMAT text, NULL '*')") as copy:
                    for line in fh:
                        copy.write("1\t" + line)
                        count += 1
            else:
                sql = "INSERT INTO bench_bare_ptp VALUES (1, %s, %s, %s, %s, %s, %s, %s)"
                while chunk := [line.rstrip("\n").split("\t") for line in itertools.islice(fh, 50_000)]:
                    cur.executemany(sql, chunk)
                    count += len(chunk)
        cur.execute("DROP TABLE bench_bare_ptp")
    return count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2_000_000)
    args = parser.parse_args()
    vendor = setup("ptp")
    path = OUT / f"ccipra-v322r0-f1-{args.rows}.TXT"
    if not path.exists():
        generate(path, args.rows, seed=1)

    from codes import snapshot as k
    from codes.loading import load_files

    with Timer() as bare:
        bare_rows = bare_load(path, vendor)
    with Timer() as ours:
        result = load_files(k.PTP_PRACTITIONER, [path])
    with Timer() as again:
        second = load_files(k.PTP_PRACTITIONER, [path])
    print(f"machine: {machine()}; database: {vendor}")
    print(
        f"bare load ({'COPY' if vendor == 'postgresql' else 'executemany'}): {bare_rows} rows in {bare.seconds:.2f} s"
    )
    print(
        f"product load (parse + types + duplicate check + checksum + release): {result.rows} rows in "
        f"{ours.seconds:.2f} s = {ours.seconds / bare.seconds:.2f} x the bare load "
        f"({result.rows / ours.seconds:,.0f} rows/s); release {result.effective_from}..{result.effective_to}"
    )
    print(f"second load of the same file: {again.seconds:.2f} s ({second.status})")
    assert result.effective_from == date(2026, 7, 1)


if __name__ == "__main__":
    main()
