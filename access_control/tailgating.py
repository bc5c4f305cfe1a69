"""Tailgating: more people through a gate than grants given for it.

Optical lanes detect tailgating by comparing valid reads with counted
passages. Each grant opens a window of ``window_s`` seconds; overlapping
windows merge into one episode that counts its grants, its passages (from the
gate's passage events or from beam crossings: feed one source, not both) and
the most persons a camera covering the gate saw at once. The moment passages,
or persons on camera, exceed the episode's grants, a ``tailgating`` alarm goes
out with the counts and the window; later excess in the same episode raises a
new alarm only when the count grows.

Passages outside any grant window are not tailgating: the gate reports them
as ``door_forced``. Time is float seconds on a monotonic clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .alarms import TAILGATING, Alarm

__all__ = ["Episode", "TailgateConfig", "TailgateDetector"]


@dataclass(frozen=True)
class TailgateConfig:
    gate_id: str
    window_s: float = 8.0  # a grant's open time plus the time to walk the lane

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError("window_s must be positive")


@dataclass(frozen=True)
class Episode:
    """Overlapping grant windows merged: ``[start, end]`` with its counts."""

    start: float
    end: float
    grants: int
    passages: int = 0
    persons_seen: int = 0  # the most persons the camera saw at once

    @property
    def window(self) -> tuple[float, float]:
        return (self.start, self.end)


def _count(value: object, what: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class TailgateDetector:
    """Immutable: every method returns ``(next_detector, alarms)``."""

    config: TailgateConfig
    episode: Episode | None = None
    clock: float = float("-inf")

    def _at(self, t: float) -> tuple[TailgateDetector, float]:
        if not math.isfinite(t):
            raise ValueError(f"time must be a finite number of seconds, got {t!r}")
        # Clamp a clock that steps back, then close an episode whose window has passed.
        now = max(float(t), self.clock)
        episode = self.episode if self.episode is not None and now <= self.episode.end else None
        return replace(self, episode=episode, clock=now), now

    def tick(self, t: float) -> tuple[TailgateDetector, tuple[Alarm, ...]]:
        return self._at(t)[0], ()

    def grant(self, t: float) -> tuple[TailgateDetector, tuple[Alarm, ...]]:
        """A grant was given at this gate at ``t``."""
        d, now = self._at(t)
        e = d.episode
        if e is None:
            e = Episode(now, now + d.config.window_s, 1)
        else:
            e = replace(e, grants=e.grants + 1, end=max(e.end, now + d.config.window_s))
        return replace(d, episode=e), ()

    def passages(
        self, t: float, count: int = 1, source: str = "passages"
    ) -> tuple[TailgateDetector, tuple[Alarm, ...]]:
        """``count`` people went through at ``t`` (``source`` names the sensor, e.g. ``beams``)."""
        _count(count, "passage count", 1)
        d, _ = self._at(t)
        e = d.episode
        if e is None:
            return d, ()
        before = e.passages
        e = replace(e, passages=before + count)
        d = replace(d, episode=e)
        if e.passages > e.grants and e.passages > max(before, e.grants):
            return d, (self._alarm(e, e.passages, source),)
        return d, ()

    def camera(self, t: float, persons: int) -> tuple[TailgateDetector, tuple[Alarm, ...]]:
        """The camera covering the gate counted ``persons`` in the lane at ``t``."""
        _count(persons, "person count", 0)
        d, _ = self._at(t)
        e = d.episode
        if e is None:
            return d, ()
        previous = e.persons_seen
        e = replace(e, persons_seen=max(previous, persons))
        d = replace(d, episode=e)
        if persons > e.grants and persons > previous:
            return d, (self._alarm(e, persons, "camera"),)
        return d, ()

    def _alarm(self, e: Episode, count: int, source: str) -> Alarm:
        return Alarm(
            TAILGATING,
            self.config.gate_id,
            count=count,
            expected=e.grants,
            window=e.window,
            detail=f"{count} through on {e.grants} grant(s) ({source})",
        )
