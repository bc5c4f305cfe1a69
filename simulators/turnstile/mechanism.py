"""The mechanics of one turnstile or speed gate: locks, leaf, sensors, timers. No I/O.

Everything reads time from the injected `clock`, so tests drive it with a fake clock and the
OSDP shell drives it with `time.monotonic`. Each change of the input or output lines appends a
`Report` to `reports`; the shell turns those into OSDP status events in order, so a pulse (a line
going active and back) is two reports even when both happen at the same instant.

Lines (OSDP numbering, from 0):
  outputs  0 unlock entry, 1 unlock exit, 2 alarm sounder
  inputs   0 passage complete entry (pulse), 1 passage complete exit (pulse),
           2 leaf/arm not at rest (level), 3 tamper (level), 4 fire alarm (level),
           5 lane beam broken (pulse, one per person who crosses it)

Rules:
- A temporary output (OSDP control code 5) is a pulse-mode grant: it lets one passage through in
  its direction and is then withdrawn, or it lapses when its timer runs out.
- A permanent output (codes 2/4) is free passage in that direction until switched off.
- Without an unlock, a full-height turnstile blocks a push; only `force` gets through (the lock
  is broken). A speed gate's flaps give way to a push: the passage happens and is forced.
- On one grant a full-height turnstile lets one person through and stops the one behind; a
  speed gate lets both through the open flaps: two beam breaks, one passage complete.
- Fire opens both directions; a speed gate's flaps stand open while it lasts.
- Power loss drops every output. fail_mode "secure" stays locked; "safe" frees both directions
  (and opens a speed gate's flaps).
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Callable

KINDS = ("full_height_turnstile", "speed_gate")
FAIL_MODES = ("secure", "safe")
DIRECTIONS = ("entry", "exit")

OUT_UNLOCK_ENTRY, OUT_UNLOCK_EXIT, OUT_SOUNDER = 0, 1, 2
OUTPUT_NAMES = ("unlock_entry", "unlock_exit", "sounder")
IN_PASSAGE_ENTRY, IN_PASSAGE_EXIT, IN_LEAF_OPEN, IN_TAMPER, IN_FIRE, IN_BEAM = range(6)
INPUT_NAMES = ("passage_entry", "passage_exit", "leaf_open", "tamper", "fire", "beam")

# OSDP output control codes (osdp_OUT)
NOP, PERM_OFF_ABORT, PERM_ON_ABORT, PERM_OFF_AFTER, PERM_ON_AFTER, TEMP_ON, TEMP_OFF = range(7)
TIMER_UNIT_S = 0.1  # OSDP output timers count 100 ms units


def unlock_output(direction: str) -> int:
    return OUT_UNLOCK_ENTRY if direction == "entry" else OUT_UNLOCK_EXIT


def passage_input(direction: str) -> int:
    return IN_PASSAGE_ENTRY if direction == "entry" else IN_PASSAGE_EXIT


@dataclass(frozen=True)
class Timing:
    """Seconds from the start of a walk-through; short, so tests stay fast."""

    beam: float = 0.15  # the walker breaks the lane beam
    follower_gap: float = 0.25  # a tailgater close behind breaks it again this much later
    complete: float = 0.45  # the passage sensor on the far side fires
    rest: float = 0.6  # the leaf/arm is back at rest


@dataclass(frozen=True)
class Report:
    kind: str  # "input" or "output"
    states: tuple[bool, ...]
    at: float


@dataclass
class _Output:
    permanent: bool = False
    temporary: bool | None = None  # state while a timer runs
    until: float | None = None

    @property
    def on(self) -> bool:
        return self.permanent if self.temporary is None else self.temporary


@dataclass
class Counters:
    passages_entry: int = 0
    passages_exit: int = 0
    beam_breaks: int = 0
    forced: int = 0
    blocked: int = 0
    lapsed_grants: int = 0


class Mechanism:
    def __init__(self, kind: str, fail_mode: str, open_seconds: float,
                 clock: Callable[[], float], timing: Timing = Timing()) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if fail_mode not in FAIL_MODES:
            raise ValueError(f"fail_mode must be one of {', '.join(FAIL_MODES)}, not {fail_mode!r}")
        if not open_seconds > 0:
            raise ValueError(f"open_seconds must be above 0, not {open_seconds!r}")
        self.kind, self.fail_mode, self.open_seconds = kind, fail_mode, float(open_seconds)
        self.clock, self.timing = clock, timing
        self.powered = True
        self.fire = False
        self.tamper = False
        self.counters = Counters()
        self.reports: list[Report] = []
        self._outputs = [_Output() for _ in OUTPUT_NAMES]
        self._leaf_reasons: set[str] = set()  # why the leaf is away from rest
        self._pulses: set[int] = set()  # pulse inputs active right now
        self._busy_until: float | None = None  # a walk-through or hold in progress
        self._steps: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._last_inputs = self.inputs
        self._last_outputs = self.outputs

    # ---- what the lines show ---------------------------------------------------------------

    @property
    def outputs(self) -> tuple[bool, ...]:
        return tuple(o.on for o in self._outputs)

    @property
    def inputs(self) -> tuple[bool, ...]:
        lines = [i in self._pulses for i in range(len(INPUT_NAMES))]
        lines[IN_LEAF_OPEN] = bool(self._leaf_reasons) or self._flaps_stand_open()
        lines[IN_TAMPER] = self.tamper
        lines[IN_FIRE] = self.fire
        return tuple(lines)

    @property
    def busy(self) -> bool:
        return self._busy_until is not None

    def is_free(self, direction: str) -> bool:
        """Whether someone walking in `direction` now would pass without pushing."""
        if self.fire:
            return True
        if not self.powered:
            return self.fail_mode == "safe"
        return self._outputs[unlock_output(direction)].on

    def _flaps_stand_open(self) -> bool:
        return self.kind == "speed_gate" and (
            self.fire or (not self.powered and self.fail_mode == "safe"))

    def _emit(self) -> None:
        now = self.clock()
        inputs, outputs = self.inputs, self.outputs
        if outputs != self._last_outputs:
            self.reports.append(Report("output", outputs, now))
            self._last_outputs = outputs
        if inputs != self._last_inputs:
            self.reports.append(Report("input", inputs, now))
            self._last_inputs = inputs

    def drain(self) -> list[Report]:
        out, self.reports = self.reports, []
        return out

    # ---- time ------------------------------------------------------------------------------

    def _at(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._steps, (self.clock() + delay, next(self._seq), action))

    def next_due(self) -> float | None:
        """When `tick` next has something to do (for callers that want to sleep until then)."""
        times = [o.until for o in self._outputs if o.until is not None]
        if self._steps:
            times.append(self._steps[0][0])
        return min(times, default=None)

    def tick(self) -> None:
        """Apply every timer and scheduled step that is due, in time order."""
        now = self.clock()
        while True:
            timer = min(((o.until, n) for n, o in enumerate(self._outputs) if o.until is not None),
                        default=None)
            step = self._steps[0][0] if self._steps else None
            if timer is not None and timer[0] <= now and (step is None or timer[0] <= step):
                self._lapse(timer[1])
            elif step is not None and step <= now:
                heapq.heappop(self._steps)[2]()
            else:
                break

    def _lapse(self, n: int) -> None:
        out = self._outputs[n]
        if out.temporary and n != OUT_SOUNDER:
            self.counters.lapsed_grants += 1
        out.temporary = out.until = None
        self._emit()

    # ---- commands from the panel (osdp_OUT) --------------------------------------------------

    def set_output(self, n: int, control_code: int, timer_count: int) -> None:
        if not 0 <= n < len(self._outputs):
            raise ValueError(f"output {n} does not exist (0-{len(self._outputs) - 1})")
        if not self.powered:
            return
        out = self._outputs[n]
        if control_code in (PERM_OFF_ABORT, PERM_ON_ABORT):
            out.permanent = control_code == PERM_ON_ABORT
            out.temporary = out.until = None
        elif control_code in (PERM_OFF_AFTER, PERM_ON_AFTER):
            out.permanent = control_code == PERM_ON_AFTER
        elif control_code in (TEMP_ON, TEMP_OFF):
            # A zero timer is taken as "the gate's own open time" rather than "no time at all".
            seconds = timer_count * TIMER_UNIT_S if timer_count > 0 else self.open_seconds
            out.temporary = control_code == TEMP_ON
            out.until = self.clock() + seconds
        elif control_code != NOP:
            raise ValueError(f"output control code {control_code} is not one of 0-6")
        self._emit()

    # ---- people and the world --------------------------------------------------------------

    def walk(self, direction: str, people: int = 1, forcing: bool = False) -> dict:
        """People arrive at the lane and try to walk through in `direction`."""
        _check_direction(direction)
        if people not in (1, 2):
            raise ValueError(f"people must be 1 or 2, not {people!r}")
        if self.busy:
            return {"result": "busy", "passed": 0}
        free = self.is_free(direction)
        grant = self._outputs[unlock_output(direction)]
        one_grant = free and not self.fire and self.powered and not grant.permanent
        if not free and self.kind == "full_height_turnstile" and not forcing:
            self.counters.blocked += 1
            return {"result": "blocked", "passed": 0}
        forced = not free
        if forced:
            self.counters.forced += 1
        if self.kind == "full_height_turnstile":
            # The rotor turns once per grant; the one behind meets a locked arm.
            passed = 1 if (one_grant or forced) else people
            self._schedule_walks(direction, passed, one_grant)
            blocked = people - passed
            self.counters.blocked += blocked
            result = "forced" if forced else ("passed" if not blocked else "tailgater_blocked")
            return {"result": result, "passed": passed, "blocked": blocked}
        # Speed gate: open flaps take everyone close behind; the passage sensor sees one transit
        # per opening unless the lane stays free (fire, fail-safe, free passage).
        if one_grant or forced:
            self._schedule_group(direction, people, consume=one_grant)
        else:
            self._schedule_walks(direction, people, False)
        result = "forced" if forced else ("tailgated" if one_grant and people > 1 else "passed")
        return {"result": result, "passed": people, "blocked": 0}

    def force(self, direction: str) -> dict:
        return self.walk(direction, 1, forcing=True)

    def hold(self, seconds: float, direction: str = "entry") -> dict:
        """Someone keeps the leaf open for `seconds`, nobody completes a passage."""
        _check_direction(direction)
        if not 0 < seconds <= 3600:
            raise ValueError(f"seconds must be above 0 and at most 3600, not {seconds!r}")
        if self.busy:
            return {"result": "busy"}
        if not self.is_free(direction) and self.kind == "full_height_turnstile":
            self.counters.blocked += 1
            return {"result": "blocked"}
        self._busy_until = self.clock() + seconds
        self._leaf_reasons.add("hold")
        self._emit()

        def release() -> None:
            self._leaf_reasons.discard("hold")
            self._busy_until = None
            self._emit()
        self._at(seconds, release)
        return {"result": "held", "seconds": seconds}

    def set_fire(self, on: bool) -> None:
        self.fire = bool(on)
        self._emit()

    def set_tamper(self, on: bool) -> None:
        self.tamper = bool(on)
        self._emit()

    def set_power(self, on: bool) -> None:
        if bool(on) == self.powered:
            return
        self.powered = bool(on)
        for out in self._outputs:  # no power, no coil: every output drops; a reboot starts off
            out.permanent, out.temporary, out.until = False, None, None
        self._emit()

    # ---- walk-throughs -------------------------------------------------------------------------

    def _schedule_walks(self, direction: str, people: int, consume: bool) -> None:
        """`people` separate transits one after the other, each a full open/close cycle."""
        t = self.timing
        self._busy_until = self.clock() + t.rest * people
        for i in range(people):
            self._schedule_transit(direction, i * t.rest, beams=1, consume=consume and i == 0,
                                   last=i == people - 1)

    def _schedule_group(self, direction: str, people: int, consume: bool) -> None:
        self._busy_until = self.clock() + self.timing.rest
        self._schedule_transit(direction, 0.0, beams=people, consume=consume, last=True)

    def _schedule_transit(self, direction: str, start: float, beams: int, consume: bool,
                          last: bool) -> None:
        t = self.timing

        def open_leaf() -> None:
            self._leaf_reasons.add("passage")
            self._emit()

        def beam() -> None:
            self.counters.beam_breaks += 1
            self._pulse(IN_BEAM)

        def complete() -> None:
            if direction == "entry":
                self.counters.passages_entry += 1
            else:
                self.counters.passages_exit += 1
            self._pulse(passage_input(direction))
            if consume:  # the grant is spent: relock behind this person
                out = self._outputs[unlock_output(direction)]
                if out.temporary:
                    out.temporary = out.until = None
                    self._emit()

        def close_leaf() -> None:
            self._leaf_reasons.discard("passage")
            if last:
                self._busy_until = None
            self._emit()

        self._at(start, open_leaf)
        for i in range(beams):
            self._at(start + t.beam + i * t.follower_gap, beam)
        self._at(start + max(t.complete, t.beam + (beams - 1) * t.follower_gap + 0.05), complete)
        self._at(start + max(t.rest, t.beam + (beams - 1) * t.follower_gap + 0.1), close_leaf)

    def _pulse(self, line: int) -> None:
        self._pulses.add(line)
        self._emit()
        self._pulses.discard(line)
        self._emit()

    # ---- for humans ------------------------------------------------------------------------------

    def snapshot(self) -> dict:
        return {
            "powered": self.powered, "fire": self.fire, "tamper": self.tamper, "busy": self.busy,
            "leaf": "open" if self.inputs[IN_LEAF_OPEN] else "rest",
            "free": {d: self.is_free(d) for d in DIRECTIONS},
            "outputs": dict(zip(OUTPUT_NAMES, self.outputs)),
            "inputs": dict(zip(INPUT_NAMES, self.inputs)),
            "counters": dict(vars(self.counters)),
        }


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'entry' or 'exit', not {direction!r}")
