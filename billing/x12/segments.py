"""X12 segments read one at a time from a text stream (pure: a file object in, segments out).

Written here rather than taken from pyx12 (which the project uses to validate what it writes, see
docs/x12.md): pyx12's ``RawX12File`` copies the rest of its buffer on every segment, stops without a word at
an empty segment (two terminators in a row end the file early, silently) and demands an ISA of exactly 106
characters read in one go; its ``X12Reader`` validates the whole structure, far slower than the 2,000
claims a second the import must keep. This reader holds one block (64 kB) at a time, never the whole file,
takes the delimiters from the ISA as the standard says (element separator after "ISA", repetition
separator ISA11, component separator ISA16, segment terminator after it), and numbers segments from 1 so an
error can name the segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

BLOCK = 64 * 1024
ISA_LENGTH = 106  # "ISA" + 16 fixed-width elements + their separators + the segment terminator
MAX_SEGMENT = 4096  # a real segment is under 1 kB: more without a terminator is not X12


class NotX12Error(ValueError):
    """The input is not an X12 interchange at all (no ISA header where one must be)."""


class X12SyntaxError(ValueError):
    """The interchange is broken where the segments themselves cannot be read (names the segment number)."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str
    component: str
    repetition: str
    segment: str


@dataclass(slots=True)
class Segment:
    """One segment: ``number`` counts from 1 over the file; ``elements[0]`` is the segment id."""

    number: int
    elements: list[str]

    @property
    def id(self) -> str:
        return self.elements[0]

    def get(self, position: int) -> str:
        """Element ``position`` (1-based, as the implementation guides number them), '' when absent."""
        return self.elements[position] if position < len(self.elements) else ""


def read_delimiters(head: str) -> Delimiters:
    """The delimiters from the first 106 characters of an interchange (raises NotX12Error)."""
    head = head.lstrip("\ufeff \t\r\n")
    if not head.startswith("ISA") or len(head) < ISA_LENGTH:
        raise NotX12Error("not an X12 interchange: the file does not start with an ISA segment")
    element = head[3]
    if element.isalnum() or element in " \r\n":
        raise NotX12Error("not an X12 interchange: no element separator after ISA")
    parts = head[:ISA_LENGTH].split(element)
    if len(parts) < 17:
        raise NotX12Error("not an X12 interchange: the ISA segment has fewer than 16 elements")
    isa16 = parts[16]
    if len(isa16) < 2:
        raise NotX12Error("not an X12 interchange: no segment terminator after ISA16")
    return Delimiters(element=element, component=isa16[0], repetition=parts[11], segment=isa16[1])


def iter_segments(stream: TextIO) -> Iterator[tuple[Delimiters, Segment]]:
    """Every segment of the stream, in order, with the interchange's delimiters.

    A second interchange in the same file may use other delimiters: each ISA found at the start of a
    segment re-reads them. Line breaks after terminators are ignored. Raises NotX12Error when the stream
    does not begin with an ISA, X12SyntaxError when a segment runs on past MAX_SEGMENT characters.
    """
    head = stream.read(BLOCK)
    delimiters = read_delimiters(head)
    leftover = head.lstrip("\ufeff \t\r\n")
    number = 0
    while True:
        more = stream.read(BLOCK)
        pieces = (leftover + more).split(delimiters.segment)
        leftover = pieces.pop()  # text after the last terminator: the start of the next segment
        if more and len(leftover) > MAX_SEGMENT:
            raise X12SyntaxError(f"segment {number + 1} has no terminator within {MAX_SEGMENT} characters")
        changed = False
        for i, piece in enumerate(pieces):
            text = piece.strip("\r\n \t")
            if not text:
                continue
            number += 1
            segment = Segment(number, text.split(delimiters.element))
            if text.startswith("ISA") and len(text) >= ISA_LENGTH - 1:
                found = read_delimiters(text + delimiters.segment)
                if found != delimiters:
                    # another interchange with its own delimiters: split what is left again with them
                    leftover = delimiters.segment.join([*pieces[i + 1 :], leftover])
                    delimiters, changed = found, True
                    yield delimiters, Segment(number, text.split(found.element))
                    break
            yield delimiters, segment
        if not more and not changed:
            if leftover.strip():
                raise X12SyntaxError(
                    f"segment {number + 1} ({leftover.strip()[:3]!r}) has no segment terminator: the file is cut short"
                )
            return
