"""Coverage over time from the edge's seat-state changes: per seat, the spans it was covered or
not (with the reasons), and the site's coverage % as a step line. Pure: changes in, spans out."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    at: dt.datetime
    seat: str
    covered: bool | None  # None: from here on nobody judged it (the edge was down)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Span:
    start: dt.datetime
    end: dt.datetime
    covered: bool | None  # None: not judged yet in this window
    reasons: tuple[str, ...] = ()


def seat_spans(changes: Iterable[Change], seats: Iterable[str], since: dt.datetime,
               until: dt.datetime) -> dict[str, list[Span]]:
    """Each seat's spans over [since, until]. A change before ``since`` sets the state the
    window starts in; a seat with none yet starts unjudged. Adjacent equal spans merge."""
    state: dict[str, tuple[bool | None, tuple[str, ...]]] = {s: (None, ()) for s in seats}
    spans: dict[str, list[Span]] = {s: [] for s in state}
    opened: dict[str, dt.datetime] = {s: since for s in state}
    for c in sorted(changes, key=lambda c: c.at):
        if c.seat not in state or c.at > until:
            continue
        new = (c.covered, tuple(c.reasons))
        if c.at <= since:
            state[c.seat] = new
            continue
        if new != state[c.seat]:
            spans[c.seat].append(Span(opened[c.seat], c.at, *state[c.seat]))
            state[c.seat], opened[c.seat] = new, c.at
    for seat in state:
        spans[seat].append(Span(opened[seat], until, *state[seat]))
    return spans


def percent_series(spans: dict[str, list[Span]]) -> list[tuple[dt.datetime, float | None]]:
    """The share of judged seats covered, at every moment it changes (None: none judged)."""
    moments = sorted({s.start for seat in spans.values() for s in seat})
    out: list[tuple[dt.datetime, float | None]] = []
    for t in moments:
        judged = covered = 0
        for seat in spans.values():
            span = next((s for s in seat if s.start <= t < s.end), None)
            if span is not None and span.covered is not None:
                judged += 1
                covered += span.covered
        value = round(100.0 * covered / judged, 1) if judged else None
        if not out or out[-1][1] != value:
            out.append((t, value))
    return out


def covered_share(spans: list[Span]) -> float | None:
    """The percentage of a seat's window that it was proven covered; time not judged counts as
    not proven. None for an empty window."""
    total = sum((s.end - s.start).total_seconds() for s in spans)
    if total <= 0:
        return None
    covered = sum((s.end - s.start).total_seconds() for s in spans if s.covered)
    return round(100.0 * covered / total, 2)
