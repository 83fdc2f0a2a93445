"""What the code sets tell the apps above them (which ``codes`` never imports).

``release_activated``: a refresh put a release in force (after a run, or after review in the admin). Sent with
``release`` (``codes.models.Release``), ``diff`` (``codes.diff.ReleaseDiff`` against the release before it, or None
for the first of its kind) and ``run`` (the ``RefreshRun``, or None). ``practice.notices`` turns it into change
notices for the codes the practice uses.
"""

from django.dispatch import Signal

release_activated = Signal()
