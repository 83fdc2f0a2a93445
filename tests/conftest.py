"""Fixtures shared by the whole suite."""

from pathlib import Path

import pytest

from tests.testdata import CMS, real_cms


def pytest_collection_modifyitems(config, items):
    """Timing assertions (marker ``bench``) fail on a busy machine: they run only when ``-m`` names them
    (``pytest -m bench``); the default run and CI check the same outcomes without the clock."""
    if "bench" in (config.getoption("markexpr") or ""):
        return
    kept = [item for item in items if item.get_closest_marker("bench") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("bench")])
        items[:] = kept


def pytest_terminal_summary(terminalreporter):
    """One line when the conformance group was left out (tests/conformance/conftest.py deselects it)."""
    if not real_cms().is_dir():
        terminalreporter.write_line(
            f"conformance group skipped: no CMS files at {real_cms()} (set SHARED_DIR to the folder holding cms/)"
        )


@pytest.fixture(scope="session")
def cms_dir() -> Path:
    """The project's small CMS-layout files (tests/data/cms; CMS's complete files are for tests/conformance)."""
    return CMS


@pytest.fixture(scope="session")
def icd10cm_xml() -> Path:
    """The official CMS tabular XML (April 2026) shipped inside the simple-icd-10-cm package."""
    import simple_icd_10_cm

    return Path(simple_icd_10_cm.__file__).parent / "data" / "icd10c-tabular-April-1-2026.xml"


@pytest.fixture(autouse=True)
def _clear_release_cache():
    """Release rows are cached in memory by release id; ids are reused across rolled-back tests."""
    from billing.claims.checker import reset_shared_checker
    from codes.selectors import clear_cache
    from practice import access

    clear_cache()
    reset_shared_checker()
    access.clear()  # users are cached by id and access generation: both repeat after a rollback
    yield
    clear_cache()
    reset_shared_checker()
    access.clear()


@pytest.fixture(scope="module")
def defaults_db(django_db_setup, django_db_blocker):
    """The default data (code sets, ICD-10-CM, payers and rules, the demo practice and users), written once per
    module inside a transaction that is rolled back at the end; each test runs in a savepoint inside it.
    ``load_defaults --demo`` runs once per process; later modules get a copy of its rows (tests/default_data.py)."""
    from django.db import transaction

    from codes.selectors import clear_cache
    from tests.default_data import load_default_data

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_default_data()
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            clear_cache()
