"""X12 throughput on one core: 837P import (parse + check + store) and 835 posting.

Loaded first: the default data (code-set fixtures, ICD-10-CM April 2026, payers and rules, the demo practice)
and one NCCI pair (64483/77003). Then a generated 837P of ``--claims`` claims (bench/gen_x12.py) is
  1. parsed only (segment reader + envelope + 837P mapper),
  2. parsed and checked (the same Checker the import uses, no storing),
  3. imported (parse, check, store draft claims, lines, X12 data, checks and findings in one transaction),
and an 835 paying every claim is posted (match by CLP01, store the payments), then posted again (nothing).
Targets: >= 2,000 claims/s parsed and checked; an 835 of 10,000 claim payments posted in under 10 s.

    python bench/bench_x12.py --claims 10000
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_bench python bench/bench_x12.py
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
from datetime import date
from io import StringIO

from _setup import OUT, Timer, machine, setup
from gen_x12 import write_835, write_837


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10000)
    parser.add_argument("--profile", action="store_true", help="cProfile of the 837P import, top functions")
    args = parser.parse_args()
    vendor = setup("x12")
    from django.core.management import call_command

    call_command("load_defaults", "--demo", stdout=StringIO())
    from billing.claims.checker import Checker
    from billing.models import X12Partner, X12PayerId
    from billing.x12.claims837 import read_837
    from billing.x12.importing import checked_segments, import_835, import_837
    from codes import snapshot as k
    from codes.loading import load_files
    from practice.models import Payer, Practice

    ptp = OUT / "ccipra-v321r0-f1.txt"
    ptp.write_text(
        "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\n"
        "Column1/Column2 Edits\t\t\t\t\t\t\n"
        "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\n"
        "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n\t\t\t\t*=no data\t1=allowed\t\n\t\t\t\t\t9=not applicable\t\n"
        "64483\t77003\t\t20100101\t*\t0\tCPT Manual or CMS manual coding instruction\n",
        encoding="latin-1",
    )
    load_files(k.PTP_PRACTITIONER, [ptp], effective_from=date(2026, 1, 1), effective_to=date(2026, 6, 30))
    practice = Practice.objects.get(key="demo")
    X12Partner.objects.create(
        practice=practice,
        submitter_id="DEMOSUBMIT",
        submitter_name="DEMO",
        contact_phone="2055550100",
        receiver_id="CLEARINGHOUSE",
        receiver_name="CH",
        billing_address="100 MAIN STREET",
        billing_city="BIRMINGHAM",
        billing_state="AL",
        billing_zip="352030000",
    )
    X12PayerId.objects.create(practice=practice, payer=Payer.objects.get(key="medicare"), identifier="10112")

    path = write_837(OUT / "bench.837", args.claims)
    remit = write_835(OUT / "bench.835", args.claims)
    print(f"{machine()}; database {vendor}; {args.claims:,} claims, 837P {path.stat().st_size / 1e6:.1f} MB")

    with Timer() as t_parse, open(path, encoding="latin-1") as fh:
        records = sum(1 for _ in read_837(checked_segments(fh), {"10112": "medicare"}))
    checker = Checker.create()
    with Timer() as t_check, open(path, encoding="latin-1") as fh:
        batch = []
        for record in read_837(checked_segments(fh), {"10112": "medicare"}):
            batch.append(record)
            if len(batch) == 500:
                checker.prefetch(r.payload for r in batch)
                for r in batch:
                    checker.check(r.payload, practice.id)
                batch = []
        checker.prefetch(r.payload for r in batch)
        for r in batch:
            checker.check(r.payload, practice.id)
    profile = cProfile.Profile() if args.profile else None
    with Timer() as t_import, open(path, encoding="latin-1") as fh:
        if profile:
            profile.enable()
        results = import_837(fh, practice)
        if profile:
            profile.disable()
    errors = sum(1 for r in results if r.get("status") == "error")
    with Timer() as t_post, open(remit, encoding="latin-1") as fh:
        posted = import_835(fh, practice)
    with Timer() as t_again, open(remit, encoding="latin-1") as fh:
        again = import_835(fh, practice)
    n = args.claims
    print(f"837P parse only:           {t_parse.seconds:6.2f} s  {records / t_parse.seconds:8,.0f} claims/s")
    print(f"837P parse + check:        {t_check.seconds:6.2f} s  {n / t_check.seconds:8,.0f} claims/s")
    print(
        f"837P import (and store):   {t_import.seconds:6.2f} s  {n / t_import.seconds:8,.0f} claims/s "
        f"({errors:,} with errors)"
    )
    print(f"835 post {len(posted):,} payments:  {t_post.seconds:6.2f} s")
    print(
        f"835 again (nothing posted): {t_again.seconds:6.2f} s "
        f"({sum(1 for r in again if r.get('already_posted')):,} already posted)"
    )
    if profile:
        pstats.Stats(profile).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()
