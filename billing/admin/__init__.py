"""The billing admin, one module per feature: claims, checks, uploads, reports, X12. Importing the package
registers every page (Django's autodiscover imports ``billing.admin``)."""

from billing.admin import checks, claims, reports, uploads, x12  # noqa: F401
