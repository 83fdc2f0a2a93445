"""Text that cannot be stored: a NUL character (PostgreSQL refuses it in text and jsonb) or a lone UTF-16
surrogate (it cannot be encoded as UTF-8). Pure: used by the API's JSON parser (config/bad_input.py), by
``parse_claim`` (API, CLI, uploads) and by the admin's list fields, so that such text is refused naming its field,
before it reaches the database (whose error would quote part of the input into the log).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

MAX_JSON_DEPTH = 32  # a claim is 4 levels deep (claim > lines > line > modifiers); 32 leaves room for any body
NUL_OR_SURROGATE = (
    "Contains a character that cannot be stored (a NUL character or a lone UTF-16 surrogate): remove it and send "
    "the text again."
)
_BAD_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def has_bad_text(text: str) -> bool:
    """True when ``text`` holds a NUL character or a lone surrogate."""
    return _BAD_CHARACTERS.search(text) is not None


def _walk(value) -> Iterator[tuple[str, object, int]]:
    """(path, value, depth) of every value in decoded JSON, without recursion: a bad dict key is yielded as a
    string at the path of the object that holds it."""
    stack = [("", value, 1)]
    while stack:
        at, item, depth = stack.pop()
        yield at, item, depth
        if isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if isinstance(key, str) and has_bad_text(key):
                    yield at, key, depth + 1
                    continue
                stack.append((f"{at}.{key}" if at else str(key), child, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{at}[{i}]", item[i], depth + 1) for i in range(len(item) - 1, -1, -1))


def _all_text(value) -> str:
    """Every string in ``value`` (dict keys included) joined into one, without recursion: one regex search over
    it answers for the whole body, the common case being that nothing is wrong (the path is looked for then)."""
    texts: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str):
                    texts.append(key)
                stack.append(child)
        elif isinstance(item, list):
            stack.extend(item)
    return "".join(texts)


def bad_text(value) -> str | None:
    """The JSON path (``lines[0].modifiers[1]``; ``""`` for the whole body) of the first string in ``value``
    that cannot be stored, or None."""
    if not has_bad_text(_all_text(value)):
        return None
    for at, item, _depth in _walk(value):
        if isinstance(item, str) and has_bad_text(item):
            return at
    return None


def too_deep(value, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``value`` nests more than ``limit`` levels (the top object is level 1)."""
    stack = [(value, 1)]  # (item, depth), without the paths _walk builds: this runs on every API body
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False
