"""The batch upload's finish: the results workbook, before (openpyxl write-only over the stored results, as
``finish`` wrote it until issue 18's fourth pass) and after (the chunks' parts joined, billing.uploads.resultparts).

An upload of ``--claims`` generated claims is planned and checked in-process, chunk by chunk (the chunks save their
parts as on a worker), then, in turns: the openpyxl writer over ``stored_results``; the finish's join of the parts;
the same join with every part gone (each chunk rendered from its stored checks: the fallback's cost); and what the
parts cost the chunks (render + deflate, summed over the chunks: work done in parallel on the workers). CPU time of
this process (``time.process_time``) is the figure that holds on a shared machine; wall time includes the database.

    python bench/bench_results_workbook.py --claims 20000
    UPLOAD_MAX_CLAIMS=100000 BENCH_DATABASE_URL=postgres://... python bench/bench_results_workbook.py --claims 100000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from _setup import OUT, machine, setup


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self):
        return f"{self.cpu:.2f} s CPU ({self.wall:.2f} s wall)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--ptp-rows", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--skip-openpyxl", action="store_true", help="leave out the openpyxl writer (before)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "false")
    vendor = setup("results")

    from bench_check import load_code_sets
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.files import File
    from django.core.files.storage import default_storage
    from django.db.models import IntegerField
    from django.db.models.fields.json import KT
    from django.db.models.functions import Cast
    from gen_claims import generate

    from billing.models import BatchUpload, ClaimCheck
    from billing.uploads import jobs as upload_jobs
    from billing.uploads import resultparts, sheetxml
    from codes import models as code_models
    from practice.models import Practice
    from tests.billing.uploads import openpyxl_results

    print(f"machine: {machine()}; database: {vendor}; load average {os.getloadavg()[0]:.1f}")
    load_code_sets(args.ptp_rows)
    codes = list(code_models.IcdCode.objects.filter(billable=True).order_by("code").values_list("code", flat=True)[::7])
    csv_path = OUT / f"claims-{args.claims}.csv"
    if not csv_path.exists():
        generate(csv_path, args.claims, seed=1, diagnoses=[f"{c[:3]}.{c[3:]}" for c in codes])
    settings.UPLOAD_CHUNK_CLAIMS = args.chunk
    settings.MEDIA_ROOT = str(OUT / "media")
    practice, user = Practice.objects.get(key="demo"), User.objects.get(username="billing")
    with open(csv_path, "rb") as fh:
        upload = BatchUpload.objects.create(
            practice=practice, file=File(fh, name=csv_path.name), original_name=csv_path.name, created_by=user
        )
    upload = upload_jobs.plan(upload.pk)
    assert upload is not None, "planning failed (UPLOAD_MAX_CLAIMS?)"
    with Clock() as checking:
        for index in range(upload.chunks_total):
            upload_jobs.check_chunk(upload.pk, index)
    upload.refresh_from_db()
    print(f"{upload.total_claims:,} claims checked in {upload.chunks_total} chunks: {checking} (parts saved)")

    def stored_results():
        return (
            ClaimCheck.objects.filter(upload=upload)
            .order_by(Cast(KT("result__ordinal"), IntegerField()), "id")
            .values_list("result", flat=True)
            .iterator(chunk_size=2000)
        )

    with Clock() as reading:
        results = list(stored_results())
    findings = sum(len(r.get("findings", [])) for r in results)
    print(f"reading the stored results: {reading}; {len(results):,} Results rows, {findings:,} Findings rows")

    # what the chunks pay (in parallel, on the workers): render + deflate their own rows
    chunks = upload.chunk_plan["chunks"]
    with Clock() as rendering:
        raw = deflated = 0
        for chunk in chunks:
            part = sheetxml.render(results[chunk["first"] : chunk["first"] + chunk["count"]])
            raw += len(part.results) + len(part.findings)
            deflated += sum(len(p.data) for p in sheetxml.deflate_rendered(part))
    print(f"chunks' render + deflate, summed: {rendering}; {raw / 1e6:.1f} MB XML -> {deflated / 1e6:.1f} MB")
    del results

    def timed(label, write):
        with tempfile.TemporaryFile() as out, Clock() as clock:
            extra = write(out)
            size = out.seek(0, 2)
        print(f"{label}: {clock}; {size / 1e6:.1f} MB xlsx {extra or ''}")
        return clock

    before = None
    if not args.skip_openpyxl:
        before = timed("before, openpyxl over the stored results", lambda out: openpyxl_results.write_results(
            out, stored_results()) and None)  # fmt: skip
    after = timed("after, the finish joining the parts", lambda out: resultparts.write_workbook(upload, out))
    for index in range(upload.chunks_total):
        default_storage.delete(resultparts.part_name(upload.pk, index))
    fallback = timed(
        "every part missing (rendered from the stored checks)",
        lambda out: len(resultparts.write_workbook(upload, out)["rendered"]) and None,
    )
    if before is not None:
        print(
            f"finish CPU: {before.cpu:.2f} s -> {after.cpu:.2f} s ({before.cpu / after.cpu:.0f} x less); "
            f"fallback {fallback.cpu:.2f} s; the chunks pay {rendering.cpu:.2f} s more in all, in parallel"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
