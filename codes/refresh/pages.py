"""Reading CMS's download pages: which file(s) of a kind are current, behind the AMA licence hop, and how many
records the page says they hold. docs/sources.md describes the pages this was written against.

A source's address may be a file (loaded as it is) or a CMS page. A page (an HTML answer) is read with the rule of
the source's kind (``codes.refresh.page_rules.RULES``): the links whose file name matches the kind's pattern are
dated by the period they cover (``2026q3``, ``october-2026``, ``rvu26d``, ``april-1-2026``...), the newest period
that has begun by the day of the run wins, and its link(s) are followed:

- a link to another page (the PFS, OPPS and ASC lists link to one page per release) is read once more for the
  release's zip;
- a link through CMS's AMA licence attestation (``/license/ama?file=/files/zip/...``) is followed as a browser
  does: the licence page's Accept form (``agree=yes``, ``next=Accept``) leads to the file;
- an NCCI PTP table comes in four parts (``-f1`` .. ``-f4``) that load as one file set; the highest revision of
  the quarter's version wins (``v322r1`` over ``v322r0``);
- the record count a link states (``Practitioner PTP Edits v322r0 (675,037 Records) ...``) is added up and the
  load must hold exactly that many rows (``expected_rows``), else nothing is put in force.

Every page and file goes through ``codes.refresh.download`` (limits, timeouts, retries, address rules, proxy).
The HTML is read with the standard library's ``html.parser``: only anchors and forms are needed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urljoin, urlsplit

from codes.refresh.download import download
from codes.refresh.page_rules import RULES, PageRule
from codes.refresh.zips import unpack

PAGE_MAX_BYTES = 8 * 1024 * 1024  # CMS pages are a few hundred kB
FILE_SUFFIXES = (".zip", ".txt", ".csv", ".xlsx", ".xml")
MAX_PAGE_HOPS = 1  # list page -> release page -> file (PFS, OPPS, ASC)
_RECORDS = re.compile(r"\(\s*([\d,]+)\s+records?\s*\)", re.I)


class PageError(Exception):
    """A page did not lead to the file: the message names the page, the pattern or the count."""


# --- HTML: anchors and forms ----------------------------------------------------------------------------------


@dataclass
class Link:
    href: str  # absolute
    text: str

    @property
    def target(self) -> str:
        """The file the link leads to: the ``file`` of a licence link, else the link itself."""
        return attested_file(self.href) or self.href

    @property
    def name(self) -> str:
        return unquote(urlsplit(self.target).path.rstrip("/").rsplit("/", 1)[-1])

    @property
    def gated(self) -> bool:
        return attested_file(self.href) is not None

    @property
    def is_file(self) -> bool:
        return self.name.lower().endswith(FILE_SUFFIXES)


@dataclass
class Form:
    action: str
    method: str
    inputs: list[dict[str, str]] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self, base: str):
        super().__init__(convert_charrefs=True)
        self.base = base
        self.links: list[Link] = []
        self.forms: list[Form] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {name: (value or "") for name, value in attrs}
        if tag == "a" and a.get("href"):
            self._href, self._text = urljoin(self.base, a["href"].strip()), []
        elif tag == "form":
            self.forms.append(Form(urljoin(self.base, a.get("action", "")), (a.get("method") or "get").lower()))
        elif tag == "input" and self.forms:
            self.forms[-1].inputs.append(a)

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append(Link(self._href, " ".join("".join(self._text).split())))
            self._href = None


def read_page(html: str, base: str) -> _Reader:
    reader = _Reader(base)
    reader.feed(html)
    reader.close()
    return reader


def looks_like_html(head: bytes) -> bool:
    start = head[:2048].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<html" in start[:512]


def attested_file(href: str) -> str | None:
    """``https://www.cms.gov/license/ama?file=/files/zip/x.zip`` -> ``https://www.cms.gov/files/zip/x.zip``."""
    parts = urlsplit(href)
    if not re.search(r"/license(/ama|\.asp)?/?$", parts.path, re.I):
        return None
    values = parse_qs(parts.query).get("file")
    if not values:
        return None
    return urljoin(href, re.sub(r"/{2,}", "/", values[0]))


def _is_accept(label: str) -> bool:
    label = label.lower()
    return "accept" in label and "don" not in label and "not" not in label


def accept_url(html: str, page_url: str) -> str:
    """The address the licence page's Accept button leads to (a GET form with ``agree=yes``)."""
    reader = read_page(html, page_url)
    for form in reader.forms:
        submits = [i for i in form.inputs if i.get("type", "").lower() == "submit"]
        accept = next((i for i in submits if i.get("data-license") or _is_accept(i.get("value", ""))), None)
        if accept is None:
            continue
        fields = [(i["name"], i.get("value", "")) for i in form.inputs if i.get("name") and i not in submits]
        if accept.get("name"):
            fields.append((accept["name"], accept.get("value", "")))
        action = form.action or page_url
        if form.method == "post":
            raise PageError(f"the licence page {page_url} asks for a POST form, which the refresh does not send")
        return f"{action}{'&' if '?' in action else '?'}{urlencode(fields)}" if fields else action
    raise PageError(f"the licence page {page_url} has no Accept form leading to the file")


# --- Choosing the links --------------------------------------------------------------------------------------


@dataclass
class Choice:
    links: list[Link]
    start: date
    expected_rows: int | None


def _part(link: Link) -> int:
    m = re.search(r"-f(\d)\b", link.name, re.I)
    return int(m[1]) if m else 0


def _revision(link: Link) -> tuple[int, int]:
    m = re.search(r"v(\d{3})r(\d+)", link.name, re.I)
    return (int(m[1]), int(m[2])) if m else (0, 0)


def records_stated(link: Link) -> int | None:
    m = _RECORDS.search(link.text)
    return int(m[1].replace(",", "")) if m else None


def choose(links: list[Link], rule: PageRule, on: date, page: str, *, pattern: str | None = None) -> Choice:
    """The link(s) of the newest period begun by ``on``; PageError naming page and pattern when there is none."""
    pattern = pattern or rule.link

    def said(link: Link) -> list[str]:
        return [link.name, link.text] + ([unquote(urlsplit(link.target).path)] if rule.in_path else [])

    matching = [
        link
        for link in links
        if any(re.search(pattern, text, re.I) for text in said(link))
        and not any(re.search(rule.exclude, text, re.I) for text in said(link)[:1] + said(link)[2:])
    ]
    dated = [(rule.period(" ".join(said(link))), link) for link in matching]
    dated = [(start, link) for start, link in dated if start is not None]
    begun = [(start, link) for start, link in dated if start <= on]
    if not begun:
        seen = ", ".join(sorted({link.name for link in matching})[:8]) or "none"
        raise PageError(
            f"{page}: no link matching {pattern!r} for a period begun by {on.isoformat()} (matching links: {seen})"
        )
    start = max(s for s, _ in begun)
    chosen = [link for s, link in begun if s == start]
    if rule.parts:
        best = max(_revision(link) for link in chosen)
        chosen = sorted((link for link in chosen if _revision(link) == best), key=_part)
        by_part: dict[int, Link] = {}
        for link in chosen:
            by_part.setdefault(_part(link), link)
        chosen = list(by_part.values())
        missing = sorted(set(range(1, max(by_part) + 1)) - set(by_part)) if max(by_part) else []
        if missing:
            raise PageError(f"{page}: the table of {start:%Y-%m} lacks part(s) {missing} (pattern {pattern!r})")
    else:  # the same period twice (RVU26A and its correction RVU26AR, a v2 file): the last in name order
        chosen = [max(chosen, key=lambda link: link.name.lower())]
    counts = [records_stated(link) for link in chosen]
    expected = sum(counts) if counts and all(c is not None for c in counts) else None
    return Choice(chosen, start, expected)


# --- Fetching through the refresh's downloader ---------------------------------------------------------------


@dataclass
class Resolved:
    files: list  # codes.refresh.download.Fetched, unpacked
    bytes: int = 0
    expected_rows: int | None = None
    effective_from: date | None = None
    effective_to: date | None = None
    label: str | None = None
    steps: list[str] = field(default_factory=list)  # what was read and followed, for the run's note

    def note(self) -> str:
        return "; ".join(self.steps)


class _Fetcher:
    def __init__(self, dest: Path, progress):
        self.dest = dest
        self.progress = progress
        self.count = 0
        self.bytes = 0

    def get(self, url: str, *, page: bool = False):
        self.count += 1
        folder = self.dest / f"d{self.count}"
        folder.mkdir()
        fetched = download(
            url, folder, progress=None if page else self.progress, max_bytes=PAGE_MAX_BYTES if page else None
        )
        self.bytes += fetched.size
        return fetched

    @staticmethod
    def head(fetched) -> bytes:
        with open(fetched.path, "rb") as fh:
            return fh.read(4096)

    @staticmethod
    def text(fetched) -> str:
        if fetched.size > PAGE_MAX_BYTES:
            raise PageError(f"{fetched.name} is a web page of {fetched.size:,} bytes, over {PAGE_MAX_BYTES:,}")
        return Path(fetched.path).read_bytes().decode("utf-8", errors="replace")


def followable(url: str, page_url: str) -> str:
    """A link read on a page is followed only by the page's own kind of address: http(s) from a web page (never
    file://, whatever the page says), file:// only from a file:// page (a local mirror)."""
    scheme, page_scheme = urlsplit(url).scheme.lower(), urlsplit(page_url).scheme.lower()
    allowed = {"file"} if page_scheme == "file" else {"http", "https"}
    if scheme not in allowed:
        raise PageError(f"{page_url} links {url}: only {' or '.join(sorted(allowed))} links are followed from it")
    return url


def fetch(url: str, kind: str, member: str, dest: Path, *, on: date, progress=None) -> Resolved:
    """Download ``url``; when it is a CMS page, find and download the current file(s) of ``kind``; unpack."""
    fetcher = _Fetcher(Path(dest), progress)
    first = fetcher.get(url)
    if not looks_like_html(fetcher.head(first)):
        files = unpack(first, member, kind, first.path.parent)
        return Resolved(files, fetcher.bytes)
    rule = RULES.get(kind)
    if rule is None:
        raise PageError(f"{url} is a web page, and there is no rule to find a {kind} file on it: give a file address")
    resolved = Resolved([], 0)
    page_url, html = url, fetcher.text(first)
    choice = choose(read_page(html, page_url).links, rule, on, page_url)
    resolved.steps.append(f"read {page_url}: {', '.join(link.name for link in choice.links)} ({choice.start:%Y-%m})")
    for hop in range(MAX_PAGE_HOPS + 1):
        if all(link.is_file for link in choice.links) or hop == MAX_PAGE_HOPS:
            break
        link = choice.links[0]  # a release page holds the release's file(s)
        page_url = followable(link.href, page_url)
        sub = fetcher.get(page_url, page=True)
        if not looks_like_html(fetcher.head(sub)):
            raise PageError(f"{page_url} was expected to be a page listing the release's file, and is not")
        links = read_page(fetcher.text(sub), page_url).links
        files = [x for x in links if x.is_file and re.search(rule.file, x.name, re.I)]
        if not files:
            raise PageError(f"{page_url}: no file link matching {rule.file!r}")
        start = choice.start
        choice = Choice(files[:1], start, records_stated(files[0]) or choice.expected_rows)
        resolved.steps.append(f"read {page_url}: {files[0].name}")
    for link in choice.links:
        if not link.is_file:
            raise PageError(f"{page_url}: the link {link.href} leads to no file")
        followable(link.href, page_url)
        followable(link.target, page_url)
        fetched = _fetch_file(fetcher, link, resolved)
        resolved.files += unpack(fetched, member, kind, fetched.path.parent)
    resolved.bytes = fetcher.bytes
    resolved.expected_rows = choice.expected_rows
    if rule.dates is not None:
        resolved.effective_from, resolved.effective_to, resolved.label = rule.dates(choice.start)
    return resolved


def _fetch_file(fetcher: _Fetcher, link: Link, resolved: Resolved):
    """The file behind ``link``; through the licence page when the link is gated."""
    if not link.gated:
        fetched = fetcher.get(link.href)
        if looks_like_html(fetcher.head(fetched)):
            # an ungated-looking link answered with a licence page: accept it as a browser would
            fetched = fetcher.get(followable(accept_url(fetcher.text(fetched), link.href), link.href))
    else:
        licence = fetcher.get(link.href, page=True)
        if looks_like_html(fetcher.head(licence)):
            target = followable(accept_url(fetcher.text(licence), link.href), link.href)
            resolved.steps.append(f"accepted the AMA licence for {link.name}")
            fetched = fetcher.get(target)
        else:
            fetched = licence  # no licence page was shown: the file itself came back
    if looks_like_html(fetcher.head(fetched)):
        raise PageError(f"{link.href} led to a web page, not to {link.name} (did the licence step change?)")
    return fetched
