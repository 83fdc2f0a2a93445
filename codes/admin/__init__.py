"""The code sets' admin: releases (``releases``, with the code look-up of ``lookup`` on its URLs) and the
refreshes (``refresh``: sources, refresh runs, change notices)."""

from codes.admin import lookup, refresh, releases  # noqa: F401  (each registers its ModelAdmins)
