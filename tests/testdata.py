"""The project's own test data (tests/data/, described in tests/data/README.md): small files in CMS's exact
layouts and the contract's claim examples. The main suite reads only these; tests that need CMS's complete files
are the conformance group (tests/conformance/)."""

from pathlib import Path

import pytest
from django.conf import settings

DATA = Path(__file__).resolve().parent / "data"
CMS = DATA / "cms"
EXAMPLES = DATA / "contract" / "examples"

# A test that bounds a time (wall clock or CPU): its outcome is checked in every run (``clock`` False), its time
# only under ``-m bench`` (``clock`` True): a busy machine must not fail the default run or CI (issue 11).
# Use: ``@CLOCK`` on the test, a ``clock`` argument, ``assert not clock or seconds < 5``.
CLOCK = pytest.mark.parametrize(
    "clock", [pytest.param(False, id="outcome"), pytest.param(True, id="clock", marks=pytest.mark.bench)]
)


def required_file(requirement: str) -> tuple[str, Path]:
    """A contract example's ``requires`` entry ("KIND PATH") as the kind and the project's sample of that file
    (the sample has the file's own name, so the example's path names it)."""
    kind, path = requirement.split(maxsplit=1)
    return kind, CMS / Path(path).name


def real_cms() -> Path:
    """Where the conformance group finds CMS's complete files: ``settings.SHARED_DIR`` / cms (environment variable
    ``SHARED_DIR``, default ``../shared`` beside the project). The one way the project finds outside data."""
    return Path(settings.SHARED_DIR) / "cms"
