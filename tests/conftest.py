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
