"""What a refresh checks before it puts a release in force: is the file set already loaded, and does the new
release look like a successor of the one in force (not far fewer rows, not older)? A release that fails a check is
held for review; the release in force stays."""

from __future__ import annotations

from django.conf import settings

from codes.diff import ReleaseDiff, diff_releases, previous_release
from codes.models import Release


def already_loaded(kind: str, checksum: str) -> Release | None:
    """The release of ``kind`` that holds this very file set (as ``load_files`` decides 'unchanged')."""
    return (
        Release.objects.filter(kind=kind, sha256=checksum)
        .exclude(status__in=[Release.Status.FAILED, Release.Status.LOADING])
        .order_by("-id")
        .first()
    )


def sanity_check(release: Release, current: Release | None, max_drop: float | None = None) -> str:
    """Why ``release`` should wait for review instead of going in force ('' when it may go)."""
    if current is None:
        return ""
    max_drop = settings.REFRESH_MAX_ROW_DROP if max_drop is None else max_drop
    reasons = []
    if current.row_count:
        drop = (current.row_count - release.row_count) / current.row_count
        if drop > max_drop:
            reasons.append(
                f"{release.row_count:,} rows against {current.row_count:,} in {current.label} (in force): "
                f"{drop:.0%} fewer, more than the {max_drop:.0%} allowed"
            )
    if release.effective_from < current.effective_from:
        reasons.append(
            f"it takes effect {release.effective_from}, before {current.label} (in force from "
            f"{current.effective_from}): is it an older file?"
        )
    return "; ".join(reasons)


def diff_with_previous(release: Release) -> ReleaseDiff | None:
    previous = previous_release(release)
    return diff_releases(previous, release) if previous else None
