"""The conformance group: tests on CMS's complete, real files (marker ``conformance``).

The project finds optional outside data in one way only: ``settings.SHARED_DIR`` (environment variable
``SHARED_DIR``, default ``../shared`` beside the project), holding ``cms/`` with CMS's files as downloaded
(``tests.testdata.real_cms``). When that folder is absent the group is not collected and the run ends with one line
saying so (tests/conftest.py); the main suite never reads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.testdata import real_cms

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Mark the group; without the real files (the folder named on the command line), deselect it: the run's
    summary line says why (tests/conftest.py)."""
    ours = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    for item in ours:
        item.add_marker(pytest.mark.conformance)
    if ours and not real_cms().is_dir():
        config.hook.pytest_deselected(items=ours)
        items[:] = [item for item in items if item not in ours]


@pytest.fixture(scope="session")
def real_cms_dir() -> Path:
    """``SHARED_DIR/cms``: CMS's complete files (the conformance group is skipped without it)."""
    return real_cms()
