"""Fixtures shared by the whole suite."""

from pathlib import Path

import pytest
from django.conf import settings


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared folder with the real CMS files (never copied into the project)."""
    path = Path(settings.SHARED_DIR)
    if not (path / "cms").is_dir():
        pytest.fail(f"../shared/cms not found at {path}: set SHARED_DIR")
    return path


@pytest.fixture(scope="session")
def cms_dir(shared_dir) -> Path:
    return shared_dir / "cms"


@pytest.fixture(scope="session")
def icd10cm_xml() -> Path:
    """The official CMS tabular XML (April 2026) shipped inside the simple-icd-10-cm package."""
    import simple_icd_10_cm

    return Path(simple_icd_10_cm.__file__).parent / "data" / "icd10c-tabular-April-1-2026.xml"


@pytest.fixture(autouse=True)
def _clear_release_cache():
    """Release rows are cached in memory by release id; ids are reused across rolled-back tests."""
    from billing.services import reset_shared_checker
    from codes.selectors import clear_cache

    clear_cache()
    reset_shared_checker()
    yield
    clear_cache()
    reset_shared_checker()


@pytest.fixture(scope="module")
def defaults_db(django_db_setup, django_db_blocker):
    """The default data (code sets, ICD-10-CM, payers and rules, the demo practice and users), loaded once per
    module inside a transaction that is rolled back at the end; each test runs in a savepoint inside it."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import transaction

    from codes.selectors import clear_cache

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_defaults", "--demo", stdout=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            clear_cache()
