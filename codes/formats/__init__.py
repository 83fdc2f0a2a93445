"""Pure parsers for the CMS code-set files (no Django). See ``base`` for the shared error and ``rows`` for rows."""

from .icd10 import icd10cm_display

__all__ = ["icd10cm_display"]
