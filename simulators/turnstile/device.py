"""One simulated gate: the mechanism behind an OSDP peripheral device (libosdp) on a TCP line.

A single thread per gate owns libosdp: it refreshes the device, ticks the mechanism and hands
queued events to libosdp, so the command callback (which runs inside refresh) can touch the
mechanism without lock-order trouble. Other threads (HTTP, scenarios) change the world only
through the methods below, under the gate's lock.

What the panel sees (OSDP, secure channel enforced):
  card read     osdp_RAW: reader 0 = entry-side reader, 1 = exit-side; format Wiegand with the
                bit count (26, 34, 37), or "unspecified" for raw cards
  input report  osdp_ISTATR, six lines (see mechanism.py), sent unsolicited on every change
  output report osdp_OSTATR, three lines, sent unsolicited on every change (grant, lapse, relock)
  at the start of every secure session: one input and one output report with the current
  state. libosdp 3.2.9's Python device cannot answer osdp_ISTAT/osdp_OSTAT queries (they are
  NAKed), so a panel must rely on these reports instead of polling for status.
  No session, no events: what happens while no panel holds a secure session (cards, line
  changes) is dropped, never replayed later; the next session's state report covers the lines.
Power loss closes the line (the listener goes away, as a dead device goes silent); power back
boots a fresh device context that needs a new secure channel.
"""
from __future__ import annotations

import collections
import logging
import secrets
import threading
import time
import zlib
from pathlib import Path
from typing import Callable

import osdp

from .channel import TcpListenChannel
from .keys import GateKey, write_key
from .mechanism import Mechanism, Report, Timing
from .site_view import GateSpec
from .wiegand import CardBits

log = logging.getLogger("simulators.turnstile.device")

READERS = ("entry", "exit")
NUM_INPUTS, NUM_OUTPUTS = 6, 3
VENDOR_CODE = 0x534731  # arbitrary 24-bit code for the simulator
MAX_GARBAGE = 4096
TICK_S = 0.01  # libosdp wants a refresh at least every 50 ms; replies come out faster this way
OUTBOX_MAX = 1000


def capabilities() -> osdp.PDCapabilities:
    return osdp.PDCapabilities([
        (osdp.Capability.ContactStatusMonitoring, 1, NUM_INPUTS),
        (osdp.Capability.OutputControl, 1, NUM_OUTPUTS),
        (osdp.Capability.CardDataFormat, 1, 1),
        (osdp.Capability.LEDControl, 1, len(READERS)),
        (osdp.Capability.AudibleControl, 1, 1),
        (osdp.Capability.TextOutput, 1, 1),
        (osdp.Capability.Readers, 0, len(READERS)),
    ])


def status_event(report: Report) -> dict:
    kind = osdp.StatusReportType.Input if report.kind == "input" else osdp.StatusReportType.Output
    return {"event": osdp.Event.Status, "type": kind, "report": bytes(map(int, report.states))}


def card_event(card: CardBits, reader: int) -> dict:
    fmt = osdp.CardFormat.Unspecified if card.format == "raw" else osdp.CardFormat.Wiegand
    return {"event": osdp.Event.CardRead, "reader_no": reader, "direction": 0,
            "format": fmt, "length": card.bit_count, "data": card.packed}


class SimulatedGate:
    def __init__(self, spec: GateSpec, key: GateKey, clock: Callable[[], float] = time.monotonic,
                 timing: Timing = Timing(), osdp_log_level: int = osdp.LogLevel.Error,
                 port: int | None = None) -> None:
        self.spec, self.id = spec, spec.id
        self.key = key
        self.port = spec.port if port is None else port
        self.mech = Mechanism(spec.kind, spec.fail_mode, spec.open_seconds, clock, timing)
        self._osdp_log_level = osdp_log_level
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pd = None
        self._channel: TcpListenChannel | None = None
        self._outbox: collections.deque[dict] = collections.deque(maxlen=OUTBOX_MAX)
        self._snapshot_due = True
        self._had_session = False
        self._last_boot_try = 0.0
        self.boots = 0
        self.events_sent = self.events_dropped = 0
        self.cards_read = 0
        self.last_card: dict | None = None
        self.reader_state: dict = {"led": {}, "buzzer": None, "text": None}
        self.commands: collections.Counter[str] = collections.Counter()

    # ---- life --------------------------------------------------------------------------------

    def start(self) -> None:
        self._boot()  # in the caller's thread, so a taken port fails start() loudly
        self._thread = threading.Thread(target=self._run, name=f"gate-{self.id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._shutdown()

    def _boot(self) -> None:
        channel = TcpListenChannel(self.spec.host, self.port, self.id)
        try:
            info = osdp.PDInfo(self.spec.address, channel, scbk=self.key.key, name=self.id,
                               flags=[osdp.LibFlag.EnforceSecure], id=osdp.PdId(
                                   version=1, model=1 if self.spec.kind == "speed_gate" else 2,
                                   vendor_code=VENDOR_CODE,
                                   serial_number=zlib.crc32(self.id.encode()) & 0x7FFFFFFF,
                                   firmware_version=0x010000))
            pd = osdp.PeripheralDevice(info, capabilities(), log_level=self._osdp_log_level)
            # Straight to the binding: the wrapper's handler would also queue every command
            # in a queue nobody here reads.
            pd.ctx.set_command_callback(self._on_command)
        except Exception:
            channel.close()
            raise
        with self._lock:
            self._pd, self._channel = pd, channel
            self._outbox.clear()
            self._snapshot_due = True
            self._had_session = False
            self.port = channel.port
            self.boots += 1
        log.info("%s: device up on tcp://%s:%d address %d", self.id, self.spec.host, self.port,
                 self.spec.address)

    def _shutdown(self) -> None:
        with self._lock:
            channel, self._channel, self._pd = self._channel, None, None
            self._outbox.clear()
        if channel is not None:
            channel.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # the gate must outlive any one bad moment
                log.exception("%s: device loop error", self.id)
            self._stop.wait(TICK_S)

    def _step(self) -> None:
        with self._lock:
            self.mech.tick()
            self._collect()
            powered, pd = self.mech.powered, self._pd
        if not powered:
            if pd is not None:
                log.info("%s: power lost; device offline", self.id)
                self._shutdown()
            return
        if pd is None:
            if time.monotonic() - self._last_boot_try >= 1.0:
                self._last_boot_try = time.monotonic()
                try:
                    self._boot()
                except OSError as exc:
                    log.warning("%s: cannot come back up yet: %s", self.id, exc)
            return
        pd.ctx.refresh()
        self._pump(pd)

    def _pump(self, pd) -> None:
        with self._lock:
            secure = pd.ctx.is_sc_active()
            if not secure:
                # Nobody is listening: a card read now must not pop out of a later session as if
                # it were fresh (OSDP carries no timestamps). The state report at the start of
                # the next session tells the panel where the lines stand.
                if self._outbox or self._had_session:
                    self.events_dropped += len(self._outbox) + pd.ctx.flush_events()
                    self._outbox.clear()
                    self._had_session = False
                self._snapshot_due = True
                return
            self._had_session = True
            if self._snapshot_due:
                self._snapshot_due = False
                now = self.mech.clock()
                self._outbox.append(status_event(Report("input", self.mech.inputs, now)))
                self._outbox.append(status_event(Report("output", self.mech.outputs, now)))
            while self._outbox:
                try:
                    accepted = pd.ctx.submit_event(self._outbox[0])
                except Exception:
                    log.exception("%s: libosdp refused an event; dropped", self.id)
                    accepted = None
                if accepted is False:
                    break  # libosdp's queue is full; try again next tick
                self._outbox.popleft()
                if accepted:
                    self.events_sent += 1
                else:
                    self.events_dropped += 1

    def _collect(self) -> None:
        """Move the mechanism's line changes to the outbox, in order (under the lock)."""
        reports = self.mech.drain()
        if self._pd is None or not self.mech.powered:
            return  # a dead device reports nothing
        for report in reports:
            if len(self._outbox) == self._outbox.maxlen:
                self.events_dropped += 1
            self._outbox.append(status_event(report))

    # ---- commands from the panel ------------------------------------------------------------

    def _on_command(self, cmd: dict) -> tuple[int, dict | None]:
        try:
            return self._apply_command(cmd)
        except Exception:
            log.exception("%s: command %r failed", self.id, cmd)
            return -1, None

    def _apply_command(self, cmd: dict) -> tuple[int, dict | None]:
        kind = cmd.get("command")
        C = osdp.Command
        with self._lock:
            if kind == C.Output:
                self.commands["output"] += 1
                self.mech.set_output(cmd["output_no"], cmd["control_code"], cmd["timer_count"])
                self._collect()
            elif kind == C.LED:
                self.commands["led"] += 1
                self.reader_state["led"][str(cmd.get("reader", 0))] = _plain(cmd)
            elif kind == C.Buzzer:
                self.commands["buzzer"] += 1
                self.reader_state["buzzer"] = _plain(cmd)
            elif kind == C.Text:
                self.commands["text"] += 1
                self.reader_state["text"] = _plain(cmd)
            elif kind == C.Keyset:
                self.commands["keyset"] += 1
                self._take_new_key(bytes(cmd["data"]))
            elif kind == C.Comset:
                self.commands["comset"] += 1
                log.warning("%s: panel moved the device to address %s at %s baud; the TCP line "
                            "stays as it is", self.id, cmd.get("address"), cmd.get("baud_rate"))
            elif kind == C.Status:
                self.commands["status"] += 1
            elif kind == C.Manufacturer:
                self.commands["manufacturer"] += 1
                return -1, None  # no vendor commands on this device
            else:
                self.commands["other"] += 1
        return 0, None

    def _take_new_key(self, key: bytes) -> None:
        # libosdp switches to the new key itself; keep it for the next boot and, like a real
        # device's non-volatile memory, in the key file when that is where it came from.
        if self.key.source in ("file", "generated"):
            self.key = GateKey(key, "file", self.key.where)
            write_key(Path(self.key.where), key)
            log.info("%s: panel set a new SCBK; saved to %s", self.id, self.key.where)
        else:
            self.key = GateKey(key, self.key.source, self.key.where)
            log.warning("%s: panel set a new SCBK; it lasts until the simulator stops (the key "
                        "came from $%s)", self.id, self.key.where)

    # ---- the world -----------------------------------------------------------------------------

    def present_card(self, card: CardBits, reader: str = "entry") -> dict:
        """The reader reads the card; it reaches the panel only if a secure session is up."""
        if reader not in READERS:
            raise ValueError(f"reader must be 'entry' or 'exit', not {reader!r}")
        with self._lock:
            if not self.mech.powered:
                return {"result": "no_power", "reader": reader, "card": card.as_dict()}
            self._collect()
            self._outbox.append(card_event(card, READERS.index(reader)))
            self.cards_read += 1
            self.last_card = {"reader": reader, **card.as_dict()}
            session = self._pd is not None and self._pd.ctx.is_sc_active()
        return {"result": "read", "reader": reader, "card": card.as_dict(),
                "panel_session": session}

    def walk(self, direction: str, people: int = 1) -> dict:
        return self._act(lambda: self.mech.walk(direction, people))

    def force(self, direction: str = "entry") -> dict:
        return self._act(lambda: self.mech.force(direction))

    def hold(self, seconds: float, direction: str = "entry") -> dict:
        return self._act(lambda: self.mech.hold(seconds, direction))

    def set_fire(self, on: bool) -> dict:
        return self._act(lambda: (self.mech.set_fire(on), {"result": "ok", "fire": on})[1])

    def set_tamper(self, on: bool) -> dict:
        return self._act(lambda: (self.mech.set_tamper(on), {"result": "ok", "tamper": on})[1])

    def set_power(self, on: bool) -> dict:
        # The loop thread notices and closes or reopens the line.
        return self._act(lambda: (self.mech.set_power(on), {"result": "ok", "powered": on})[1])

    def _act(self, action: Callable[[], dict]) -> dict:
        with self._lock:
            self._collect()
            result = action()
            self._collect()
        return result

    def inject_garbage(self, count: int, to: str = "both") -> dict:
        if to not in ("device", "panel", "both"):
            raise ValueError(f"'to' must be device, panel or both, not {to!r}")
        if not 1 <= count <= MAX_GARBAGE:
            raise ValueError(f"bytes must be from 1 to {MAX_GARBAGE}, not {count!r}")
        noise = secrets.token_bytes(count)
        with self._lock:
            if self._channel is None:
                return {"result": "no_power"}
            self._channel.inject_noise(noise if to != "panel" else b"",
                                       noise if to != "device" else b"")
        return {"result": "injected", "bytes": count, "to": to}

    def wait_free(self, direction: str, timeout: float) -> bool:
        """Wait until walking in `direction` would not need a push (a grant, fire, fail-safe)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self.mech.is_free(direction) and not self.mech.busy:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self.mech.busy:
                    return True
            time.sleep(0.02)
        return False

    def snapshot(self) -> dict:
        with self._lock:
            pd, channel = self._pd, self._channel
            link = {
                "address": self.spec.address,
                "channel": f"tcp://{self.spec.host}:{self.port}",
                "key": self.key.describe(),
                "up": pd is not None,
                "connected": bool(channel and channel.connected),
                "connections": channel.connections if channel else 0,
                "noise_pending": channel.noise_pending if channel else 0,
                "online": bool(pd is not None and pd.ctx.is_online()),
                "secure": bool(pd is not None and pd.ctx.is_sc_active()),
                "boots": self.boots,
                "events_sent": self.events_sent,
                "events_dropped": self.events_dropped,
                "events_queued": len(self._outbox),
                "commands": dict(self.commands),
            }
            return {"id": self.id, "name": self.spec.name, "kind": self.spec.kind,
                    "fail_mode": self.spec.fail_mode, "open_seconds": self.spec.open_seconds,
                    "osdp": link, **self.mech.snapshot(), "cards_read": self.cards_read,
                    "last_card": self.last_card, "reader": _plain(self.reader_state)}


def _plain(value):
    """A JSON-friendly copy (bytes become hex)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
