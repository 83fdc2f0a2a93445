"""The access generation: raised on any change that alters who may see what (practice.access caches by it)."""

from __future__ import annotations

from django.db import models


class AccessStamp(models.Model):
    """One row whose ``generation`` goes up whenever who may do what changes: a membership, a practice, a user,
    a group, a permission, a token (``practice.access`` bumps it from signals). A process caches each API user's
    permissions and practices under the generation it read, and reads the generation with the request's one
    query: a change made anywhere (another process, another host) is seen by the next request."""

    generation = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"access generation {self.generation}"
