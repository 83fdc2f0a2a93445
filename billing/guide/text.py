"""The guide's text as the billing office reads it (pure).

The procedure profiles, payer rules and claim items are written from the project's research notes and carry
references meant for developers ("mild.md", "LAYOUTS 7", "../shared/...", "not in mild.md, unverified here"). The
guide keeps the public source each fact rests on (NCD 150.13, PPRRVU2025_Oct, the 837P guide) and its sureness, and
drops the internal file names. ``for_year`` drops sentences that state another year's physician fee schedule: a
2026 guide must not repeat "PFS 2025: status R" from a profile note (the guide's own PFS column says the year's).
Hand-written: a few fixed patterns over short texts, no library does this.
"""

from __future__ import annotations

import re

# Internal references, most specific first; each with what the reader gets instead.
_INTERNAL = [
    (re.compile(r"\s*Source:\s*(\.\./)*shared/domain/mild\.md\.?", re.I), ""),
    (re.compile(r"(\.\./)*shared/(domain|contract|cms)/[\w./-]+"), ""),
    (re.compile(r"\bnot in mild\.md,\s*", re.I), ""),
    (re.compile(r"\bLAYOUTS(?: section)? \d+ \((837P [^)]*)\)"), r"\1"),
    (re.compile(r"\bLAYOUTS(?: section)? \d+\b"), "837P 005010X222A1"),
    (re.compile(r"\bmild\.md(?: '[^']*'| \"[^\"]*\")?:\s*", re.I), ""),
    (re.compile(r"\bmild\.md\b(?: '[^']*')?", re.I), ""),
    # developer notes: how the project handles a fact, not what the billing office does
    (re.compile(r":\s*use the loaded MUE table(, never a hard-coded value)?", re.I), ""),
    (re.compile(r"[:;,]?\s*no new version shipped until its text is read", re.I), ""),
    (re.compile(r"\s*\(see notes\)", re.I), ""),
]
_TIDY = [
    (re.compile(r"\(\s*(sure|likely|unverified)\s*[,;]\s*\)"), r"(\1)"),  # "(sure, )"
    (re.compile(r"\(\s*[,;:]\s*"), "("),
    (re.compile(r"\s*[,;]\s*\)"), ")"),
    (re.compile(r"\(\s*\)"), ""),
    (re.compile(r"(;\s*){2,}"), "; "),
    (re.compile(r"^\s*[;,]\s*|\s*[;,]\s*$"), ""),
    (re.compile(r"[ \t]{2,}"), " "),
    (re.compile(r"\s+([.,;)])"), r"\1"),
]
PROJECT_RESEARCH = "the project's coding research"
_PFS_YEAR = re.compile(r"\bPFS (\d{4})\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def public_text(text: str) -> str:
    """``text`` without internal file names or section numbers (a source that was only one: the project's research)."""
    if not text or not isinstance(text, str):
        return text
    out = text
    for pattern, instead in _INTERNAL:
        out = pattern.sub(instead, out)
    for pattern, instead in _TIDY:
        out = pattern.sub(instead, out)
    out = out.strip()
    if not out and text.strip():
        return PROJECT_RESEARCH
    return out


def for_year(text: str, year: int) -> str:
    """``text`` without the sentences that state another year's PFS values."""
    if not text:
        return text
    kept = [s for s in _SENTENCE.split(text) if all(int(y) == year for y in _PFS_YEAR.findall(s))]
    return " ".join(kept).strip()
