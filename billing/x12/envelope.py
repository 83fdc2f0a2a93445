"""The X12 envelope (ISA/IEA, GS/GE, ST/SE) checked as segments stream past (pure).

``Envelope.see(segment)`` is called for every segment; it checks the counts and control numbers the
trailers repeat (SE01 segments and SE02 = ST02, GE01 transaction sets and GE02 = GS06, IEA01 groups and
IEA02 = ISA13) and ``finish()`` proves the file ended with a closed interchange: a file cut anywhere fails
one of these. Errors name the segment number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from billing.x12.segments import Segment


class EnvelopeError(ValueError):
    """The file is not a whole, well-nested X12 interchange (names the segment)."""


@dataclass
class Envelope:
    interchanges: int = 0
    isa: Segment | None = None
    gs: Segment | None = None
    st: Segment | None = None
    groups_in_isa: int = 0
    sets_in_gs: int = 0
    segments_in_st: int = 0
    transaction_types: list[str] = field(default_factory=list)

    def see(self, seg: Segment) -> None:
        sid = seg.id
        if self.st is not None:
            self.segments_in_st += 1
        if sid == "ISA":
            if self.isa is not None:
                raise EnvelopeError(f"segment {seg.number} (ISA): a new interchange before IEA closed the last one")
            self.isa, self.groups_in_isa = seg, 0
            self.interchanges += 1
        elif sid == "GS":
            self._need(seg, self.isa, "ISA")
            if self.gs is not None:
                raise EnvelopeError(f"segment {seg.number} (GS): a new group before GE closed the last one")
            self.gs, self.sets_in_gs = seg, 0
            self.groups_in_isa += 1
        elif sid == "ST":
            self._need(seg, self.gs, "GS")
            if self.st is not None:
                raise EnvelopeError(f"segment {seg.number} (ST): a new transaction set before SE closed the last one")
            self.st, self.segments_in_st = seg, 1
            self.sets_in_gs += 1
            self.transaction_types.append(seg.get(1))
        elif sid == "SE":
            self._need(seg, self.st, "ST")
            self._count(seg, "SE01", seg.get(1), self.segments_in_st, "segments from ST to SE")
            if seg.get(2) != self.st.get(2):
                raise EnvelopeError(
                    f"segment {seg.number} (SE), element SE02: control number {seg.get(2)!r} "
                    f"is not ST02 {self.st.get(2)!r}"
                )
            self.st = None
        elif sid == "GE":
            self._need(seg, self.gs, "GS")
            if self.st is not None:
                raise EnvelopeError(f"segment {seg.number} (GE): transaction set not closed by SE")
            self._count(seg, "GE01", seg.get(1), self.sets_in_gs, "transaction sets in the group")
            if seg.get(2) != self.gs.get(6):
                raise EnvelopeError(f"segment {seg.number} (GE), element GE02: control number is not GS06")
            self.gs = None
        elif sid == "IEA":
            self._need(seg, self.isa, "ISA")
            if self.gs is not None:
                raise EnvelopeError(f"segment {seg.number} (IEA): functional group not closed by GE")
            self._count(seg, "IEA01", seg.get(1), self.groups_in_isa, "functional groups")
            if seg.get(2) != self.isa.get(13):
                raise EnvelopeError(f"segment {seg.number} (IEA), element IEA02: control number is not ISA13")
            self.isa = None
        elif self.st is None:
            raise EnvelopeError(f"segment {seg.number} ({sid}): outside a transaction set (ST ... SE)")

    def finish(self, last_number: int) -> None:
        if self.interchanges == 0:
            raise EnvelopeError("no ISA interchange in the file")
        if self.isa is not None:
            open_ = "SE" if self.st is not None else "GE" if self.gs is not None else "IEA"
            raise EnvelopeError(
                f"the file ends after segment {last_number} without {open_}: it is cut short or incomplete"
            )

    @staticmethod
    def _need(seg: Segment, opened, opener: str) -> None:
        if opened is None:
            raise EnvelopeError(f"segment {seg.number} ({seg.id}): no {opener} opened before it")

    @staticmethod
    def _count(seg: Segment, element: str, value: str, actual: int, what: str) -> None:
        if not value.isdigit() or int(value) != actual:
            raise EnvelopeError(
                f"segment {seg.number} ({seg.id}), element {element}: says {value!r} {what}, the file has {actual}"
            )
