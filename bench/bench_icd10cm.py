"""ICD-10-CM: load the full tabular XML (target under 15 s) and time warm look-ups (target under 1 ms).

python bench/bench_icd10cm.py            # SQLite
BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mild_bench python bench/bench_icd10cm.py
"""

import statistics
import time
from datetime import date

from _setup import Timer, machine, setup


def main() -> None:
    vendor = setup("icd10cm")
    from codes import snapshot as k
    from codes.defaults import shipped_icd10cm_xml
    from codes.loading import load_files
    from codes.selectors import clear_cache, lookup, snapshot_on

    with Timer() as t:
        result = load_files(k.ICD10CM, [shipped_icd10cm_xml()])
    with Timer() as again:
        second = load_files(k.ICD10CM, [shipped_icd10cm_xml()])
    clear_cache()
    on = date(2026, 5, 4)
    snap = snapshot_on(on)
    with Timer() as cold:
        lookup("icd10cm", "M48.062", on, snapshot=snap)
    codes = ["M48.062", "Z00.6", "M48.06", "S32.001A", "E11.9", "I10", "XYZ"] * 300
    samples = []
    for code in codes:
        s = time.perf_counter()
        lookup("icd10cm", code, on, snapshot=snap)
        samples.append(time.perf_counter() - s)
    samples.sort()
    print(f"machine: {machine()}; database: {vendor}")
    print(
        f"icd10cm full XML load: {result.rows} rows in {t.seconds:.2f} s ({result.status}); "
        f"second load {again.seconds:.2f} s ({second.status})"
    )
    print(f"first lookup (reads the release into memory): {cold.seconds * 1000:.0f} ms")
    print(
        f"warm lookup: median {statistics.median(samples) * 1e6:.1f} us, "
        f"p99 {samples[int(len(samples) * 0.99)] * 1e6:.1f} us over {len(samples)} look-ups"
    )


if __name__ == "__main__":
    main()
