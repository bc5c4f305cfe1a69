"""OSDP control panel adapter: the thin I/O shell between libosdp and the gate logic.

One ``OsdpPanel`` talks to the turnstile controllers (OSDP peripheral devices,
"PDs") of a site. Each gate's PD is reached over TCP (``tcp://host:port`` in the
site file; in the field a serial server in front of an RS-485 bus). Gates that
share an endpoint share one bus: one TCP connection and one libosdp
``ControlPanel`` with its own refresh thread, so a slow or dead bus never
stalls another one.

Threads, and what each may do:

- libosdp refresh thread (one per bus): calls ``TcpChannel.read/write`` and our
  event/completion handlers. Those never block and never raise; handlers only
  stamp the time and put the item on the dispatch queue.
- supervisor thread (one per bus): (re)connects TCP with backoff and drives
  each PD through disabled -> connecting -> online, because libosdp 3.2.9 left
  alone parks an offline PD for 300 s before it retries. What to do when is
  decided by the pure state machines of ``osdp_link``; this thread only
  observes libosdp and the socket, feeds them and carries out their commands.
- dispatch thread (one per panel): translates libosdp dicts into frozen
  ``PanelEvent`` values, keeps command statistics and calls ``on_event``.

Secure channel is always enforced and the default install key is refused, so
a PD with the wrong key never goes online; that is reported as a
``SecureChannelFailed`` event and counted.

Imports: stdlib and ``osdp`` (libosdp's Python binding) only.
"""

from __future__ import annotations

import errno
import logging
import math
import queue
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

import osdp

from access_control import osdp_link as lk
from access_control.osdp_line import FrameScanner

__all__ = [
    "AccessPanel",
    "CardRead",
    "CommandCompleted",
    "GateLink",
    "GateStats",
    "Input",
    "Keypress",
    "Offline",
    "Online",
    "OsdpPanel",
    "OutputStatus",
    "PanelEvent",
    "Power",
    "SecureChannelFailed",
    "Status",
    "Tamper",
    "TcpChannel",
    "Unknown",
    "DEFAULT_INSTALL_KEY",
]

log = logging.getLogger(__name__)

# SCBK-D, the well-known install-mode key from the OSDP spec (0x30..0x3F).
# Anyone on the wire knows it, so it must never protect a production gate.
DEFAULT_INSTALL_KEY = bytes(range(0x30, 0x40))

# libosdp's Python binding casts timer/count fields to uint8, so anything
# above 255 ticks (100 ms each) silently wraps around (300 -> 44).
_MAX_TICKS = 255


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GateLink:
    """Where one gate's PD lives on the OSDP side and the key that protects it."""

    gate_id: str
    host: str
    port: int
    address: int
    scbk: bytes = field(repr=False)  # keep the key out of logs and reprs
    # The RS-485 speed behind the serial server; TCP itself has none, so it is
    # kept for the record and for checking the server's setup, not used here.
    baud: int = 9600

    def __post_init__(self) -> None:
        if not self.gate_id:
            raise ValueError("gate_id must not be empty")
        if not self.host:
            raise ValueError(f"gate {self.gate_id}: host must not be empty")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"gate {self.gate_id}: port {self.port} is out of range")
        if not 0 <= self.address <= 126:  # 127 is the broadcast address
            raise ValueError(f"gate {self.gate_id}: OSDP address {self.address} is out of range 0..126")
        if not isinstance(self.scbk, (bytes, bytearray)) or len(self.scbk) != 16:
            raise ValueError(f"gate {self.gate_id}: scbk must be 16 bytes")
        if bytes(self.scbk) == DEFAULT_INSTALL_KEY:
            raise ValueError(f"gate {self.gate_id}: refusing the default install key (SCBK-D)")
        if self.baud <= 0:
            raise ValueError(f"gate {self.gate_id}: baud must be positive")
        object.__setattr__(self, "scbk", bytes(self.scbk))

    @classmethod
    def from_channel(cls, gate_id: str, channel: str, address: int, scbk: bytes, baud: int = 9600) -> GateLink:
        """Build from the site file's ``osdp.channel`` (``tcp://host:port``)."""
        if not channel.startswith("tcp://"):
            raise ValueError(f"gate {gate_id}: only tcp://host:port channels are supported, got {channel!r}")
        host, sep, port = channel[len("tcp://") :].rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"gate {gate_id}: {channel!r} is not a tcp://host:port endpoint")
        return cls(gate_id, host.strip("[]"), int(port), address, bytes(scbk), baud)


# ---------------------------------------------------------------------------
# Events handed to the gate logic
# ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PanelEvent:
    """Base of everything ``on_event`` receives; times are when the panel saw it."""

    monotonic: float  # time.monotonic(), for durations
    wall: float  # time.time(), for logs and audit


@dataclass(frozen=True)
class CardRead(PanelEvent):
    reader: int
    format: str  # "raw", "wiegand" or "ascii"
    bits: bytes  # card data, MSB first, padded to whole bytes
    bit_length: int
    direction: int  # OSDP read direction as sent by the PD (0 = forward)


@dataclass(frozen=True)
class Keypress(PanelEvent):
    reader: int
    keys: bytes  # OSDP keypad codes: ASCII digits, 0x7F = '*', 0x0D = '#'


@dataclass(frozen=True)
class Input(PanelEvent):
    no: int
    active: bool


@dataclass(frozen=True)
class OutputStatus(PanelEvent):
    no: int
    active: bool


@dataclass(frozen=True)
class Tamper(PanelEvent):
    active: bool
    reader: int | None = None  # None = the PD's own enclosure


@dataclass(frozen=True)
class Power(PanelEvent):
    failure: bool


@dataclass(frozen=True)
class Status(PanelEvent):
    """A status report of a kind this adapter does not interpret."""

    kind: int
    report: bytes


@dataclass(frozen=True)
class Online(PanelEvent):
    sc_active: bool


@dataclass(frozen=True)
class Offline(PanelEvent):
    reason: str


@dataclass(frozen=True)
class SecureChannelFailed(PanelEvent):
    """An attempt to bring the PD online ended without a secure channel."""

    reason: str


@dataclass(frozen=True)
class LineNoise(PanelEvent):
    """Bytes on the bus that belonged to no valid OSDP frame, since the last report.

    Noise cannot be traced to one address, so every gate on the bus gets the report."""

    noise_bytes: int
    bad_frames: int
    frames: int


@dataclass(frozen=True)
class LineClean(PanelEvent):
    """The bus carried only valid frames for ``quiet_s`` after a noise report."""

    quiet_s: float


@dataclass(frozen=True)
class CommandCompleted(PanelEvent):
    command: str  # "output", "led", "buzzer", ...
    ok: bool
    status: str  # "ok", "failed", "flushed", "aborted"
    latency_s: float | None


@dataclass(frozen=True)
class Unknown(PanelEvent):
    """Anything libosdp delivered that this adapter does not translate."""

    kind: str
    detail: str


EventCallback = Callable[[str, PanelEvent], None]


@dataclass(frozen=True)
class GateStats:
    gate_id: str
    online: bool
    commands_sent: int  # accepted by libosdp
    commands_rejected: int  # refused before reaching the wire
    commands_completed: int  # acknowledged by the PD
    commands_failed: int  # failed, flushed or aborted after acceptance
    latency_p50_ms: float | None  # submit -> completion
    latency_p99_ms: float | None
    events_received: int
    events_unknown: int
    events_dropped: int  # dispatch queue full
    line_frames: int  # valid OSDP frames received on the gate's bus
    line_bad_frames: int  # frames that failed their CRC or checksum
    line_noise_bytes: int  # bytes that belonged to no valid frame
    reconnects: int  # TCP connections to the gate's endpoint after the first
    connect_failures: int
    sc_failures: int
    link_errors: int  # online -> offline while TCP stayed up
    online_seconds: float
    bytes_rx: int  # whole bus
    bytes_tx: int


class AccessPanel(Protocol):
    """What the gate logic needs from a panel; lets it run against a fake."""

    def is_online(self, gate_id: str) -> bool: ...

    def pulse_output(self, gate_id: str, output_no: int, seconds: float) -> bool: ...

    def set_output(self, gate_id: str, output_no: int, on: bool) -> bool: ...

    def led(self, gate_id: str, color: str | int, *, on_ms: int = 0, off_ms: int = 0, temporary: bool = False,
            duration_s: float = 0.0) -> bool: ...

    def buzz(self, gate_id: str, *, on_ms: int = 100, off_ms: int = 100, repeat: int = 1) -> bool: ...


# ---------------------------------------------------------------------------
# The byte channel
# ---------------------------------------------------------------------------


class TcpChannel(osdp.Channel):
    """A libosdp channel over one TCP connection, reconnecting with backoff.

    ``read``/``write``/``flush`` run on libosdp's refresh thread: they never
    block and never raise (an exception there would unwind through C and kill
    the refresh loop). While disconnected, writes are swallowed like bytes on
    a cut RS-485 pair; libosdp then sees no answer. Garbage from the wire is
    handed to libosdp unchanged: its framing (SOM, length, CRC, MAC) resyncs.

    ``maintain()`` runs on the supervisor thread and does the (non-blocking)
    connecting.
    """

    def __init__(self, host: str, port: int, *, channel_id: int = 0, connect_timeout: float = 2.0,
                 backoff_min: float = 0.2, backoff_max: float = 10.0, stable_after: float = 10.0,
                 max_pending: int = 64 * 1024, wake: threading.Event | None = None) -> None:
        super().__init__()
        # libosdp treats PDs whose channels share an id as one multi-drop bus
        # and serialises them; the base class gives every channel id 0.
        self.id = channel_id
        self.host, self.port = host, port
        self._connect_timeout = connect_timeout
        self._backoff = lk.Backoff(backoff_min, backoff_max, stable_after)
        self._max_pending = max_pending
        self._wake = wake
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pending: socket.socket | None = None
        self._pending_deadline = 0.0
        self._addrs: list[Any] = []
        self._out = bytearray()
        self._next_attempt = 0.0
        self._closed = False
        self.generation = 0  # +1 per established connection
        self.connected_at = 0.0
        self.last_rx = 0.0
        self.last_error = ""
        self.rx_bytes = 0
        self.tx_bytes = 0
        # A copy of what arrived, for the line-quality scanner on the supervisor thread; emptied
        # on every new connection so a partial frame never spans two connections.
        self._rx_copy = bytearray()
        self.tx_dropped = 0
        self.connect_failures = 0

    @property
    def connected(self) -> bool:
        return self._sock is not None

    # -- libosdp side -------------------------------------------------------

    def read(self, max_bytes: int) -> bytes:
        try:
            with self._lock:
                sock = self._sock
                if sock is None:
                    return b""
                self._send_out(sock)
                if self._sock is None:
                    return b""
                try:
                    data = sock.recv(max_bytes)
                except (BlockingIOError, InterruptedError):
                    return b""
                except OSError as exc:
                    self._drop(f"receive failed: {exc}")
                    return b""
                if not data:
                    self._drop("connection closed by peer")
                    return b""
                self.rx_bytes += len(data)
                self.last_rx = time.monotonic()
                if len(self._rx_copy) < self._max_pending:
                    self._rx_copy += data
                return data
        except Exception:  # never let anything unwind into libosdp
            log.exception("osdp channel %s:%s: read failed", self.host, self.port)
            return b""

    def write(self, buf: bytes) -> int:
        try:
            with self._lock:
                sock = self._sock
                if sock is None:
                    self.tx_dropped += len(buf)
                    return len(buf)
                if len(self._out) + len(buf) > self._max_pending:
                    # The peer stopped reading; old bytes are worthless now.
                    self.tx_dropped += len(self._out)
                    self._out.clear()
                self._out += buf
                self._send_out(sock)
        except Exception:
            log.exception("osdp channel %s:%s: write failed", self.host, self.port)
        # Always "all sent": a short count makes libosdp abort the packet,
        # and unsent bytes are kept in _out for the next call.
        return len(buf)

    def flush(self) -> None:
        try:
            with self._lock:
                if self._sock is not None:
                    self._send_out(self._sock)
        except Exception:
            log.exception("osdp channel %s:%s: flush failed", self.host, self.port)

    def _send_out(self, sock: socket.socket) -> None:
        # Caller holds _lock.
        while self._out:
            try:
                n = sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._drop(f"send failed: {exc}")
                return
            self.tx_bytes += n
            del self._out[:n]

    def _drop(self, reason: str) -> None:
        # Caller holds _lock.
        sock, self._sock = self._sock, None
        if sock is not None:
            _close_quietly(sock)
            self._next_attempt, self._backoff = self._backoff.dropped(time.monotonic(), self.connected_at)
            log.warning("osdp channel %s:%s: %s; reconnecting", self.host, self.port, reason)
        self.last_error = reason
        self._out.clear()
        if self._wake is not None:
            self._wake.set()

    # -- supervisor side ----------------------------------------------------

    def take_received(self) -> tuple[int, bytes]:
        """What arrived since the last call, and the connection generation it arrived on."""
        with self._lock:
            data, self._rx_copy = bytes(self._rx_copy), bytearray()
            return self.generation, data

    def drop(self, reason: str) -> None:
        """Close the connection (e.g. the peer went silent); it will reconnect."""
        with self._lock:
            if self._sock is not None:
                self._drop(reason)

    def maintain(self, now: float) -> bool:
        """Advance connecting; returns True when a new connection was just made."""
        with self._lock:
            if self._closed or self._sock is not None:
                return False
            if self._pending is None:
                if now < self._next_attempt:
                    return False
                self._start_connect(now)
                return False
            sock = self._pending
        # select() outside the lock; the refresh thread never touches _pending.
        try:
            _, writable, failed = select.select([], [sock], [sock], 0)
        except (OSError, ValueError) as exc:
            return self._connect_failed(f"connect failed: {exc}", now)
        if writable or failed:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self._connect_failed(f"connect failed: {errno.errorcode.get(err, err)}", now)
            with self._lock:
                if self._closed:
                    return False
                self._pending = None
                self._sock = sock
                self._out.clear()
                self._rx_copy.clear()
                self.generation += 1
                self.connected_at = self.last_rx = now
                self.last_error = ""
            log.info("osdp channel %s:%s: connected", self.host, self.port)
            return True
        if now >= self._pending_deadline:
            return self._connect_failed("connect timed out", now)
        return False

    def _start_connect(self, now: float) -> None:
        # Caller holds _lock. Name resolution may block briefly: this is the
        # supervisor thread, never the refresh thread.
        try:
            if not self._addrs:
                self._addrs = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            family, stype, proto, _, addr = self._addrs[0]
            sock = socket.socket(family, stype, proto)
        except OSError as exc:
            self._addrs = []
            self._schedule_retry(f"cannot resolve or open socket: {exc}", now)
            return
        try:
            sock.setblocking(False)
            # OSDP frames are tiny and latency-bound: no Nagle delay.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            rc = sock.connect_ex(addr)
        except OSError as exc:
            _close_quietly(sock)
            self._schedule_retry(f"connect failed: {exc}", now)
            return
        if rc not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            _close_quietly(sock)
            self._schedule_retry(f"connect failed: {errno.errorcode.get(rc, rc)}", now)
            return
        self._pending = sock
        self._pending_deadline = now + self._connect_timeout

    def _connect_failed(self, reason: str, now: float) -> bool:
        with self._lock:
            sock, self._pending = self._pending, None
            if sock is not None:
                _close_quietly(sock)
            self._schedule_retry(reason, now)
        return False

    def _schedule_retry(self, reason: str, now: float) -> None:
        # Caller holds _lock.
        self.connect_failures += 1
        if reason != self.last_error:
            log.warning("osdp channel %s:%s: %s", self.host, self.port, reason)
        self.last_error = reason
        self._next_attempt, self._backoff = self._backoff.failed(now)

    def reset_backoff(self) -> None:
        with self._lock:
            self._backoff = self._backoff.reset()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for sock in (self._sock, self._pending):
                if sock is not None:
                    _close_quietly(sock)
            self._sock = self._pending = None
            self._out.clear()


def _close_quietly(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


# ---------------------------------------------------------------------------
# libosdp plumbing
# ---------------------------------------------------------------------------


class _ControlPanel(osdp.ControlPanel):
    """libosdp's ControlPanel with a refresh loop that survives anything."""

    @staticmethod
    def refresh(event: threading.Event, lock: threading.Lock, ctx: Any) -> None:
        failures = 0
        while not event.is_set():
            try:
                with lock:
                    ctx.refresh()
            except Exception:
                failures += 1
                if failures & (failures - 1) == 0:  # 1, 2, 4, 8...: don't flood the log
                    log.exception("libosdp refresh failed (%d times)", failures)
            # Event.wait instead of sleep so stop() is not held up.
            event.wait(0.005)


_COMMAND_NAMES = {
    osdp.Command.Output: "output",
    osdp.Command.LED: "led",
    osdp.Command.Buzzer: "buzzer",
    osdp.Command.Text: "text",
    osdp.Command.Comset: "comset",
    osdp.Command.Keyset: "keyset",
    osdp.Command.Manufacturer: "manufacturer",
    osdp.Command.FileTransfer: "file_transfer",
    osdp.Command.Status: "status",
}
_COMPLETION_NAMES = {
    osdp.CompletionStatus.Ok: "ok",
    osdp.CompletionStatus.Failed: "failed",
    osdp.CompletionStatus.Flushed: "flushed",
    osdp.CompletionStatus.Aborted: "aborted",
}
_CARD_FORMATS = {
    osdp.CardFormat.Unspecified: "raw",
    osdp.CardFormat.Wiegand: "wiegand",
    osdp.CardFormat.ASCII: "ascii",
}
_LED_COLORS = {
    "off": osdp.CommandLEDColor.Black,
    "black": osdp.CommandLEDColor.Black,
    "red": osdp.CommandLEDColor.Red,
    "green": osdp.CommandLEDColor.Green,
    "amber": osdp.CommandLEDColor.Amber,
    "blue": osdp.CommandLEDColor.Blue,
    "magenta": osdp.CommandLEDColor.Magenta,
    "cyan": osdp.CommandLEDColor.Cyan,
    "white": osdp.CommandLEDColor.White,
}

class _Gate:
    """Runtime state of one gate. Fields are owned by the thread noted."""

    def __init__(self, link: GateLink, bus: _Bus, index: int) -> None:
        self.link = link
        self.bus = bus
        self.index = index  # PD offset inside the bus's ControlPanel
        # supervisor thread writes (one frozen value, replaced whole), anyone reads
        self.state = lk.LinkState()
        self.caps: dict[int, tuple[int, int]] = {}
        self.online_evt = threading.Event()
        # refresh thread writes, supervisor reads (int assignment is atomic)
        self.offline_notes = 0
        # dispatch thread
        self.inputs: dict[int, bool] = {}
        self.outputs: dict[int, bool] = {}
        self.tamper: dict[int | None, bool] = {}
        self.power: bool | None = None
        # submitters; keeps pending FIFO order equal to libosdp's queue order
        self.submit_lock = threading.Lock()
        # everything below under stats_lock
        self.stats_lock = threading.Lock()
        self.pending: deque[tuple[int, float]] = deque()
        self.latencies: deque[float] = deque(maxlen=4096)
        self.sent = self.rejected = self.completed = self.failed = 0
        self.events = self.unknown = self.dropped = 0

    @property
    def gate_id(self) -> str:
        return self.link.gate_id

    @property
    def address(self) -> int:
        return self.link.address


class _Bus:
    """One endpoint: a TCP channel, a libosdp ControlPanel and its supervisor."""

    def __init__(self, host: str, port: int, channel_id: int) -> None:
        self.host, self.port = host, port
        self.channel_id = channel_id
        self.wake = threading.Event()  # set by the channel and handlers to hurry the supervisor
        self.channel: TcpChannel  # replaced on every start: a stopped one stays closed
        self.gates: list[_Gate] = []
        self.by_address: dict[int, _Gate] = {}
        self.cp: _ControlPanel | None = None
        self.thread: threading.Thread | None = None
        # line quality, supervisor thread only
        self.scanner = FrameScanner()
        self.scan_generation = 0
        self.line = lk.LineState()


# ---------------------------------------------------------------------------
# The panel
# ---------------------------------------------------------------------------

_STOP = object()


class OsdpPanel:
    """OSDP control panel for a site's gates; see the module docstring.

    ``on_event(gate_id, event)`` is called on one dispatch thread, in order;
    it may block without harming the OSDP link (events queue up, and beyond
    ``queue_size`` are dropped and counted).
    """

    def __init__(self, gates: Sequence[GateLink], on_event: EventCallback | None = None, *,
                 log_level: int = osdp.LogLevel.Warning, silence_timeout: float = 2.0,
                 handshake_timeout: float = 4.0, retry_min: float = 0.2, retry_max: float = 30.0,
                 connect_timeout: float = 2.0, queue_size: int = 10000,
                 noise_report_s: float = 5.0, noise_quiet_s: float = 60.0) -> None:
        if not gates:
            raise ValueError("at least one gate is required")
        self.on_event = on_event
        self._log_level = log_level
        self._link_config = lk.LinkConfig(silence_timeout=silence_timeout, handshake_timeout=handshake_timeout,
                                          retry_min=retry_min, retry_max=retry_max)
        self._connect_timeout = connect_timeout
        self._line_config = lk.LineConfig(report_s=noise_report_s, quiet_s=noise_quiet_s)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=queue_size)
        self._gates: dict[str, _Gate] = {}
        self._buses: list[_Bus] = []
        buses: dict[tuple[str, int], _Bus] = {}
        for link in gates:
            if link.gate_id in self._gates:
                raise ValueError(f"gate {link.gate_id} is listed twice")
            key = (link.host, link.port)
            bus = buses.get(key)
            if bus is None:
                bus = buses[key] = _Bus(link.host, link.port, channel_id=len(buses) + 1)
                bus.channel = self._new_channel(bus)
                self._buses.append(bus)
            if link.address in bus.by_address:
                other = bus.by_address[link.address].gate_id
                raise ValueError(f"gates {other} and {link.gate_id} share address {link.address} "
                                 f"on tcp://{link.host}:{link.port}")
            gate = _Gate(link, bus, len(bus.gates))
            bus.gates.append(gate)
            bus.by_address[link.address] = gate
            self._gates[link.gate_id] = gate
        self._running = False
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    # -- lifecycle ----------------------------------------------------------

    @property
    def gate_ids(self) -> tuple[str, ...]:
        return tuple(self._gates)

    def _new_channel(self, bus: _Bus) -> TcpChannel:
        retry = self._link_config
        return TcpChannel(bus.host, bus.port, channel_id=bus.channel_id, connect_timeout=self._connect_timeout,
                          backoff_min=retry.retry_min, backoff_max=min(retry.retry_max, 10.0), wake=bus.wake)

    def start(self) -> None:
        with self._lifecycle:
            if self._running:
                return
            self._stopping.clear()
            for bus in self._buses:
                bus.channel = self._new_channel(bus)
                for gate in bus.gates:
                    gate.online_evt.clear()
                flags = [osdp.LibFlag.EnforceSecure, osdp.LibFlag.EnableNotification]
                infos = [osdp.PDInfo(g.address, bus.channel, scbk=g.link.scbk, name=g.gate_id, flags=flags)
                         for g in bus.gates]
                # Default arguments pin the bus: the handlers outlive this loop.
                bus.cp = _ControlPanel(
                    infos, log_level=self._log_level,
                    event_handler=lambda idx, ev, b=bus: self._on_osdp_event(b, idx, ev),
                    command_completion_handler=lambda addr, cmd, st, b=bus: self._on_completion(b, addr, cmd, st),
                )
            self._worker = threading.Thread(target=self._dispatch_loop, name="osdp-dispatch", daemon=True)
            self._worker.start()
            # libosdp starts every PD's handshake on its first refresh; if the
            # first ID request goes into a dead socket, the PD sits in slow
            # retries and even disabling it waits ~1 s. So give TCP a moment.
            deadline = time.monotonic() + min(self._connect_timeout, 0.5)
            while time.monotonic() < deadline:
                for bus in self._buses:
                    bus.channel.maintain(time.monotonic())
                if all(bus.channel.connected for bus in self._buses):
                    break
                time.sleep(0.005)
            now = time.monotonic()
            for bus in self._buses:
                for gate in bus.gates:
                    # libosdp enables every PD at start: with TCP up, that is the first attempt.
                    start = lk.Start(now, bus.channel.connected, gate.offline_notes, bus.channel.rx_bytes)
                    gate.state = lk.step(self._link_config, gate.state, start).state
            for bus in self._buses:
                assert bus.cp is not None
                bus.cp.start()
                bus.thread = threading.Thread(target=self._supervise, args=(bus,), daemon=True,
                                              name=f"osdp-bus-{bus.host}:{bus.port}")
                bus.thread.start()
            self._running = True

    def stop(self, timeout: float = 2.0) -> None:
        """Stop all threads and close connections; returns within about ``timeout``."""
        with self._lifecycle:
            if not self._running:
                return
            self._running = False
            self._stopping.set()
            deadline = time.monotonic() + timeout
            for bus in self._buses:
                bus.wake.set()
            for bus in self._buses:
                if bus.thread is not None:
                    bus.thread.join(max(0.0, deadline - time.monotonic()))
                    bus.thread = None
            for bus in self._buses:
                if bus.cp is not None:
                    try:
                        bus.cp.teardown()  # stops the refresh thread, then frees libosdp
                    except Exception:
                        log.exception("osdp bus %s:%s: teardown failed", bus.host, bus.port)
                    bus.cp = None
                bus.channel.close()
            now = time.monotonic()
            for gate in self._gates.values():
                self._apply(gate, lk.step(self._link_config, gate.state, lk.Stop(now)), now)
            try:
                self._queue.put(_STOP, timeout=max(0.0, deadline - time.monotonic()))
            except queue.Full:
                pass
            if self._worker is not None and self._worker is not threading.current_thread():
                self._worker.join(max(0.05, deadline - time.monotonic()))
            self._worker = None

    def __enter__(self) -> OsdpPanel:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ----------------------------------------------------------------

    def is_online(self, gate_id: str) -> bool:
        """The state behind the Online/Offline events (which follow on the dispatch thread)."""
        gate = self._gate(gate_id)
        return self._running and gate.state.online

    def sc_active(self, gate_id: str) -> bool:
        """Whether libosdp has a secure channel with the gate's PD right now."""
        gate = self._gate(gate_id)
        cp = gate.bus.cp
        if not self._running or cp is None:
            return False
        try:
            return bool(cp.sc_status() & (1 << gate.index))
        except Exception:
            return False

    def wait_online(self, gate_id: str, timeout: float) -> bool:
        return self._gate(gate_id).online_evt.wait(timeout)

    def stats(self, gate_id: str) -> GateStats:
        gate = self._gate(gate_id)
        channel = gate.bus.channel
        line = gate.bus.scanner.counts
        link = gate.state
        with gate.stats_lock:
            samples = sorted(gate.latencies)
            return GateStats(
                gate_id=gate.gate_id, online=self._running and link.online,
                commands_sent=gate.sent, commands_rejected=gate.rejected,
                commands_completed=gate.completed, commands_failed=gate.failed,
                latency_p50_ms=_percentile_ms(samples, 0.50), latency_p99_ms=_percentile_ms(samples, 0.99),
                events_received=gate.events, events_unknown=gate.unknown, events_dropped=gate.dropped,
                line_frames=line.frames, line_bad_frames=line.bad_frames, line_noise_bytes=line.noise_bytes,
                reconnects=max(0, channel.generation - 1), connect_failures=channel.connect_failures,
                sc_failures=link.sc_failures, link_errors=link.link_errors,
                online_seconds=link.online_seconds(time.monotonic()),
                bytes_rx=channel.rx_bytes, bytes_tx=channel.tx_bytes,
            )

    # -- commands -------------------------------------------------------------

    def pulse_output(self, gate_id: str, output_no: int, seconds: float) -> bool:
        """Switch an output on for ``seconds`` (0.1..25.5), then back to its permanent state."""
        ticks = _ticks(seconds, "seconds", minimum=1, per_tick=0.1)
        gate = self._gate(gate_id)
        if not self._has_output(gate, output_no):
            return False
        # control code 5: temporary ON, resume the permanent state when the timer ends
        cmd = {"command": osdp.Command.Output, "output_no": output_no, "control_code": 5, "timer_count": ticks}
        return self._submit(gate, cmd)

    def set_output(self, gate_id: str, output_no: int, on: bool) -> bool:
        """Set an output's permanent state, cancelling any running pulse."""
        gate = self._gate(gate_id)
        if not self._has_output(gate, output_no):
            return False
        # control codes 2/1: permanent ON/OFF, abort a timed operation
        cmd = {"command": osdp.Command.Output, "output_no": output_no, "control_code": 2 if on else 1,
               "timer_count": 0}
        return self._submit(gate, cmd)

    def led(self, gate_id: str, color: str | int, *, on_ms: int = 0, off_ms: int = 0, temporary: bool = False,
            duration_s: float = 0.0, off_color: str | int = "off", reader: int = 0, led_no: int = 0) -> bool:
        """Set a reader LED. ``off_ms == 0`` means steady; otherwise it blinks.

        ``temporary`` shows the pattern for ``duration_s`` (0.1..25.5) and then
        returns to the permanent one.
        """
        on_color, second = _led_color(color), _led_color(off_color)
        on_count = _ticks(on_ms, "on_ms", minimum=0, per_tick=100)
        off_count = _ticks(off_ms, "off_ms", minimum=0, per_tick=100)
        if off_count == 0 and on_count == 0:
            on_count = 1  # OSDP: on_time 0 with off_time 0 shows nothing
        gate = self._gate(gate_id)
        if not self._has(gate, osdp.Capability.LEDControl, led_no, "LED") or not self._has_reader(gate, reader):
            return False
        cmd: dict[str, Any] = {
            "command": osdp.Command.LED, "reader": reader, "led_number": led_no,
            "on_color": on_color, "off_color": second, "on_count": on_count, "off_count": off_count,
            "temporary": bool(temporary),
        }
        if temporary:
            cmd["control_code"] = 2  # set the temporary state and start its timer
            cmd["timer_count"] = _ticks(duration_s, "duration_s", minimum=1, per_tick=0.1)
        else:
            cmd["control_code"] = 1  # set the permanent state
        return self._submit(gate, cmd)

    def buzz(self, gate_id: str, *, on_ms: int = 100, off_ms: int = 100, repeat: int = 1, reader: int = 0) -> bool:
        """Sound the reader's buzzer ``repeat`` times (1..255); ``on_ms=0`` silences it."""
        on_count = _ticks(on_ms, "on_ms", minimum=0, per_tick=100)
        off_count = _ticks(off_ms, "off_ms", minimum=0, per_tick=100)
        if not 1 <= repeat <= _MAX_TICKS:  # 0 would mean "forever" on the wire
            raise ValueError(f"repeat must be 1..{_MAX_TICKS}, got {repeat}")
        gate = self._gate(gate_id)
        if not self._has(gate, osdp.Capability.AudibleControl, 0, "buzzer") or not self._has_reader(gate, reader):
            return False
        cmd = {"command": osdp.Command.Buzzer, "reader": reader, "control_code": 2 if on_count else 1,
               "on_count": on_count, "off_count": off_count, "rep_count": repeat}
        return self._submit(gate, cmd)

    def _has_output(self, gate: _Gate, output_no: int) -> bool:
        if not 0 <= output_no <= 255:
            raise ValueError(f"output_no must be 0..255, got {output_no}")
        return self._has(gate, osdp.Capability.OutputControl, output_no, "output")

    def _has_reader(self, gate: _Gate, reader: int) -> bool:
        if not 0 <= reader <= 255:
            raise ValueError(f"reader must be 0..255, got {reader}")
        # Reader 0 is the PD's own; a PD that reports no extra readers still has it.
        return reader == 0 or self._has(gate, osdp.Capability.Readers, reader, "reader")

    def _has(self, gate: _Gate, capability: int, no: int, what: str) -> bool:
        # A PD NAKs a command for a point it lacks, and libosdp 3.2.9 answers
        # any NAK by taking the whole link down; so check against the PD's own
        # capability report (known once it has been online) before sending.
        reported = gate.caps.get(capability)
        if reported is not None and no >= reported[1]:
            log.warning("gate %s: PD reports %d %s(s), no %s %d; not sent", gate.gate_id, reported[1], what,
                        what, no)
            self._count_rejected(gate)
            return False
        return True

    def _count_rejected(self, gate: _Gate) -> None:
        with gate.stats_lock:
            gate.rejected += 1

    def _submit(self, gate: _Gate, cmd: dict[str, Any]) -> bool:
        cp = gate.bus.cp
        if not self._running or cp is None or not gate.state.online:
            self._count_rejected(gate)
            return False
        with gate.submit_lock:
            # Registered before submitting: the completion may arrive (on the
            # refresh thread) before submit_command even returns.
            with gate.stats_lock:
                gate.pending.append((cmd["command"], time.monotonic()))
            try:
                accepted = bool(cp.submit_command(gate.address, cmd))
            except Exception:
                log.exception("gate %s: submit_command raised", gate.gate_id)
                accepted = False
            with gate.stats_lock:
                if accepted:
                    gate.sent += 1
                else:
                    gate.pending.pop()
                    gate.rejected += 1
        return accepted

    def _gate(self, gate_id: str) -> _Gate:
        try:
            return self._gates[gate_id]
        except KeyError:
            raise KeyError(f"unknown gate {gate_id!r}") from None

    # -- refresh thread: handlers (must not block, must not raise) ------------

    def _on_osdp_event(self, bus: _Bus, index: int, event: Any) -> int:
        try:
            now, wall = time.monotonic(), time.time()
            if not 0 <= index < len(bus.gates):
                log.warning("osdp bus %s:%s: event for unknown PD offset %r", bus.host, bus.port, index)
                return 0
            gate = bus.gates[index]
            cp = bus.cp
            if cp is not None:
                # The wrapper also keeps every event in a per-PD queue for its
                # get_event(); nobody reads it, so drain it or it grows forever.
                try:
                    cp.get_event(gate.address, timeout=-1)
                except Exception:
                    pass
            if isinstance(event, dict) and event.get("event") == osdp.Event.Notification:
                kind = event.get("type")
                if kind == osdp.EventNotification.PeripheralDeviceStatus and not event.get("arg0"):
                    gate.offline_notes += 1
                    bus.wake.set()
                elif kind == osdp.EventNotification.SecureChannelStatus:
                    bus.wake.set()
                # Command notifications duplicate the completion callback.
                return 0
            self._enqueue(gate, ("osdp", gate, event, now, wall))
        except Exception:
            log.exception("osdp event handler failed")
        return 0

    def _on_completion(self, bus: _Bus, address: int, command: Any, status: int) -> None:
        try:
            gate = bus.by_address.get(address)
            if gate is not None:
                self._enqueue(gate, ("done", gate, command, status, time.monotonic(), time.time()))
        except Exception:
            log.exception("osdp completion handler failed")

    def _enqueue(self, gate: _Gate, item: tuple) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            with gate.stats_lock:
                gate.dropped += 1

    # -- supervisor thread (one per bus) ----------------------------------------

    def _supervise(self, bus: _Bus) -> None:
        while not self._stopping.is_set():
            try:
                self._supervise_once(bus, time.monotonic())
            except Exception:
                log.exception("osdp bus %s:%s: supervisor step failed", bus.host, bus.port)
            bus.wake.wait(0.05)
            bus.wake.clear()

    def _supervise_once(self, bus: _Bus, now: float) -> None:
        cp = bus.cp
        if cp is None:
            return
        bus.channel.maintain(now)
        self._watch_line(bus, now)
        online_mask = cp.status()
        for gate in bus.gates:
            self._step(bus, cp, gate, now, bool(online_mask & (1 << gate.index)))

    def _watch_line(self, bus: _Bus, now: float) -> None:
        generation, data = bus.channel.take_received()
        if generation != bus.scan_generation:
            bus.scan_generation = generation
            bus.scanner.reset()
        if data:
            bus.scanner.feed(data)
        result = lk.line_step(self._line_config, bus.line, now, bus.scanner.counts)
        bus.line = result.state
        if isinstance(result.event, lk.LineNoise):
            noise = result.event
            log.warning("osdp bus %s:%s: %d bytes of line noise, %d bad frames", bus.host, bus.port,
                        noise.noise_bytes, noise.bad_frames)
            for gate in bus.gates:
                self._emit(gate, LineNoise(noise.noise_bytes, noise.bad_frames, noise.frames,
                                           monotonic=now, wall=time.time()))
        elif isinstance(result.event, lk.LineClean):
            for gate in bus.gates:
                self._emit(gate, LineClean(result.event.quiet_s, monotonic=now, wall=time.time()))

    def _step(self, bus: _Bus, cp: _ControlPanel, gate: _Gate, now: float, libosdp_online: bool) -> None:
        channel = bus.channel
        # libosdp's enabled flag sits behind the refresh thread's lock: ask only when it matters.
        enabled = gate.state.reads_pd_enabled and cp.is_pd_enabled(gate.address)
        seen = lk.Observe(now, connected=channel.connected, pd_online=libosdp_online,
                          offline_notes=gate.offline_notes, rx_bytes=channel.rx_bytes, last_rx=channel.last_rx,
                          last_error=channel.last_error, pd_enabled=enabled,
                          others_online=any(g.state.online for g in bus.gates if g is not gate))
        self._apply(gate, lk.step(self._link_config, gate.state, seen), now, cp)

    def _apply(self, gate: _Gate, result: lk.Step, now: float, cp: _ControlPanel | None = None) -> None:
        """Carry out one step of the gate's link state machine."""
        was_online = gate.state.online
        sc = False
        if result.state.online and not was_online and cp is not None:
            # Capabilities first: a command submitted once the gate counts as online is checked
            # against them.
            gate.caps = self._capabilities(cp, gate)
            sc = bool(cp.sc_status() & (1 << gate.index))
        gate.state = result.state
        if was_online and not result.state.online:
            gate.online_evt.clear()
        for command in result.commands:
            self._carry_out(gate, command, now, cp)
        if result.state.online and not was_online:
            gate.online_evt.set()
        wall = time.time()
        for out in result.events:
            if isinstance(out, lk.WentOnline):
                log.info("gate %s: online (secure channel %s)", gate.gate_id, "active" if sc else "inactive")
                self._emit(gate, Online(sc, monotonic=now, wall=wall))
            elif isinstance(out, lk.WentOffline):
                if out.reason != lk.STOPPED:
                    log.warning("gate %s: offline: %s", gate.gate_id, out.reason)
                self._emit(gate, Offline(out.reason, monotonic=now, wall=wall))
            elif isinstance(out, lk.SecureChannelRefused):
                log.warning("gate %s: %s", gate.gate_id, out.reason)
                self._emit(gate, SecureChannelFailed(out.reason, monotonic=now, wall=wall))
            elif isinstance(out, lk.NoAnswer):
                log.info("gate %s: PD did not answer on %s:%s", gate.gate_id, gate.bus.host, gate.bus.port)

    def _carry_out(self, gate: _Gate, command: lk.Command, now: float, cp: _ControlPanel | None) -> None:
        if isinstance(command, lk.ResetConnectBackoff):
            gate.bus.channel.reset_backoff()
        elif isinstance(command, lk.DropConnection):
            gate.bus.channel.drop(command.reason)
        elif cp is None:
            return
        elif isinstance(command, lk.DisablePd):
            try:
                cp.disable_pd(gate.address)
                cp.flush_commands(gate.address)
            except Exception:
                log.exception("gate %s: disabling the PD failed", gate.gate_id)
        elif isinstance(command, lk.EnablePd):
            try:
                enabled = bool(cp.enable_pd(gate.address))
            except Exception:
                log.exception("gate %s: enabling the PD failed", gate.gate_id)
                enabled = False
            if not enabled:
                gate.state = lk.step(self._link_config, gate.state, lk.EnableRefused(now)).state

    @staticmethod
    def _capabilities(cp: _ControlPanel, gate: _Gate) -> dict[int, tuple[int, int]]:
        caps = {}
        for cap in (osdp.Capability.OutputControl, osdp.Capability.ContactStatusMonitoring,
                    osdp.Capability.LEDControl, osdp.Capability.AudibleControl, osdp.Capability.Readers):
            try:
                caps[cap] = tuple(cp.check_capability(gate.address, cap))
            except Exception:
                pass
        return caps

    def _emit(self, gate: _Gate, event: PanelEvent) -> None:
        self._enqueue(gate, ("panel", gate, event))

    # -- dispatch thread ----------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            try:
                kind, gate = item[0], item[1]
                if kind == "osdp":
                    events = self._translate(gate, item[2], item[3], item[4])
                elif kind == "done":
                    events = self._complete(gate, item[2], item[3], item[4], item[5])
                else:
                    events = [item[2]]
                    if isinstance(item[2], Offline):
                        # Re-announce every input after the next Online.
                        gate.inputs.clear()
                        gate.outputs.clear()
                        gate.tamper.clear()
                        gate.power = None
            except Exception:
                log.exception("osdp dispatch: cannot translate %r", item)
                continue
            callback = self.on_event
            for event in events:
                if callback is None:
                    continue
                try:
                    callback(item[1].gate_id, event)
                except Exception:
                    log.exception("on_event raised for %s", type(event).__name__)

    def _complete(self, gate: _Gate, command: Any, status: int, now: float, wall: float) -> list[PanelEvent]:
        cmd_id = command.get("command") if isinstance(command, dict) else None
        ok = status == osdp.CompletionStatus.Ok
        latency = None
        with gate.stats_lock:
            # libosdp runs a PD's commands in order; match the oldest of this kind.
            for i, (pending_id, submitted) in enumerate(gate.pending):
                if pending_id == cmd_id:
                    del gate.pending[i]
                    latency = now - submitted
                    break
            if ok:
                gate.completed += 1
                if latency is not None:
                    gate.latencies.append(latency)
            else:
                gate.failed += 1
        name = _COMMAND_NAMES.get(cmd_id, str(cmd_id))
        status_name = _COMPLETION_NAMES.get(status, str(status))
        if not ok:
            log.info("gate %s: %s command %s", gate.gate_id, name, status_name)
        return [CommandCompleted(name, ok, status_name, latency, monotonic=now, wall=wall)]

    def _translate(self, gate: _Gate, event: Any, now: float, wall: float) -> list[PanelEvent]:
        with gate.stats_lock:
            gate.events += 1
        try:
            out = self._translate_known(gate, event, now, wall)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            out = None
            log.warning("gate %s: malformed OSDP event %r (%s)", gate.gate_id, event, exc)
        if out is None:
            with gate.stats_lock:
                gate.unknown += 1
            kind = event.get("event") if isinstance(event, dict) else type(event).__name__
            kind_name = "manufacturer_reply" if kind == osdp.Event.ManufacturerReply else f"event-{kind}"
            log.info("gate %s: unhandled OSDP event %r", gate.gate_id, event)
            return [Unknown(kind_name, repr(event)[:500], monotonic=now, wall=wall)]
        return out

    def _translate_known(self, gate: _Gate, ev: Any, now: float, wall: float) -> list[PanelEvent] | None:
        if not isinstance(ev, dict):
            return None
        kind = ev.get("event")
        at = {"monotonic": now, "wall": wall}
        if kind == osdp.Event.CardRead:
            data = bytes(ev["data"])
            fmt = int(ev.get("format", osdp.CardFormat.Unspecified))
            bit_length = int(ev["length"]) if "length" in ev else len(data) * 8
            if not 0 < bit_length <= len(data) * 8:
                raise ValueError(f"bit length {bit_length} does not fit {len(data)} data bytes")
            return [CardRead(int(ev.get("reader_no", 0)), _CARD_FORMATS.get(fmt, f"format-{fmt}"), data,
                             bit_length, int(ev.get("direction", 0)), **at)]
        if kind == osdp.Event.KeyPress:
            return [Keypress(int(ev.get("reader_no", 0)), bytes(ev["data"]), **at)]
        if kind == osdp.Event.Status:
            return self._translate_status(gate, int(ev["type"]), _status_report(ev), at)
        return None

    def _translate_status(self, gate: _Gate, kind: int, report: bytes, at: dict) -> list[PanelEvent]:
        # PDs report every point each time; pass on only what changed.
        out: list[PanelEvent] = []
        if kind == osdp.StatusReportType.Input:
            for no, value in enumerate(report):
                if gate.inputs.get(no) != bool(value):
                    gate.inputs[no] = bool(value)
                    out.append(Input(no, bool(value), **at))
        elif kind == osdp.StatusReportType.Output:
            for no, value in enumerate(report):
                if gate.outputs.get(no) != bool(value):
                    gate.outputs[no] = bool(value)
                    out.append(OutputStatus(no, bool(value), **at))
        elif kind == osdp.StatusReportType.Local:
            # LSTATR: byte 0 tamper, byte 1 power failure
            if report and gate.tamper.get(None) != bool(report[0]):
                gate.tamper[None] = bool(report[0])
                out.append(Tamper(bool(report[0]), None, **at))
            if len(report) > 1 and gate.power != bool(report[1]):
                gate.power = bool(report[1])
                out.append(Power(bool(report[1]), **at))
        elif kind == osdp.StatusReportType.Remote:
            # RSTATR: one tamper byte per attached reader
            for reader, value in enumerate(report):
                if gate.tamper.get(reader) != bool(value):
                    gate.tamper[reader] = bool(value)
                    out.append(Tamper(bool(value), reader, **at))
        else:
            out.append(Status(kind, report, **at))
        return out


def _status_report(ev: dict) -> bytes:
    if "report" in ev:
        return bytes(ev["report"])
    # Older bindings sent a bitmask instead of one byte per point.
    mask, count = int(ev["mask"]), int(ev.get("nr_entries", 0))
    return bytes((mask >> i) & 1 for i in range(count))


def _ticks(value: float, name: str, *, minimum: int, per_tick: float) -> int:
    """A duration -> OSDP 100 ms ticks, within what the binding can carry."""
    if not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number")
    ticks = round(value / per_tick)
    if not minimum <= ticks <= _MAX_TICKS:
        raise ValueError(f"{name} must be {minimum * per_tick:g}..{_MAX_TICKS * per_tick:g} "
                         f"in steps of {per_tick:g}, got {value!r}")
    return ticks


def _led_color(color: str | int) -> int:
    if isinstance(color, str):
        try:
            return _LED_COLORS[color.lower()]
        except KeyError:
            raise ValueError(f"unknown LED color {color!r} (known: {', '.join(_LED_COLORS)})") from None
    if not 0 <= color <= 7:
        raise ValueError(f"LED color must be 0..7, got {color}")
    return int(color)


def _percentile_ms(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    rank = max(1, math.ceil(q * len(samples)))  # nearest rank
    return samples[rank - 1] * 1000.0
