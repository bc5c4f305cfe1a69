"""OsdpPanel against a real libosdp peripheral device over real TCP.

The peer is a tiny test PD written here (listening socket + libosdp
PeripheralDevice with a reader, outputs and inputs, secure channel with a fixed
SCBK), not the project's turnstile simulator, so these tests pin the adapter
alone. A byte-pumping proxy stands between panel and PD where a test needs to
damage the stream.
"""

from __future__ import annotations

import queue
import random
import secrets
import select
import socket
import statistics
import threading
import time

import osdp
import pytest

from access_control.osdp_panel import (
    DEFAULT_INSTALL_KEY,
    CardRead,
    CommandCompleted,
    GateLink,
    Input,
    LineClean,
    LineNoise,
    Offline,
    Online,
    OsdpPanel,
    SecureChannelFailed,
    Unknown,
)
from tests.conftest import wait_for

GATE = "gate-main"
ADDRESS = 1
N_OUTPUTS = 2
N_INPUTS = 4
LOG_LEVEL = osdp.LogLevel.Error  # libosdp logs straight to stderr; keep failures readable


class _PdChannel(osdp.Channel):
    """PD side of the wire: whatever connection the listener accepted last."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.conn: socket.socket | None = None

    def attach(self, conn: socket.socket) -> None:
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            old, self.conn = self.conn, conn
        if old is not None:
            old.close()

    def kill(self) -> None:
        with self.lock:
            conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the panel may have hung up first
            conn.close()

    def read(self, max_bytes: int) -> bytes:
        with self.lock:
            if self.conn is None:
                return b""
            try:
                data = self.conn.recv(max_bytes)
            except BlockingIOError:
                return b""
            except OSError:
                data = b""
            if not data:
                self.conn.close()
                self.conn = None
            return data

    def write(self, buf: bytes) -> int:
        with self.lock:
            if self.conn is None:
                return len(buf)
            try:
                self.conn.sendall(buf)
            except OSError:
                pass
            return len(buf)

    def flush(self) -> None:
        pass


class _TestPD:
    """A minimal turnstile controller: libosdp PD behind a listening TCP socket."""

    def __init__(self, scbk: bytes, address: int = ADDRESS) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.channel = _PdChannel()
        self.channel.id = 1
        self.commands: queue.Queue[tuple[float, dict]] = queue.Queue()
        self.accepted = 0
        caps = osdp.PDCapabilities([
            (osdp.Capability.Readers, 1, 1),
            (osdp.Capability.CardDataFormat, 1, 1),
            (osdp.Capability.OutputControl, 1, N_OUTPUTS),
            (osdp.Capability.ContactStatusMonitoring, 1, N_INPUTS),
            (osdp.Capability.LEDControl, 1, 1),
            (osdp.Capability.AudibleControl, 1, 1),
        ])
        info = osdp.PDInfo(address, self.channel, scbk=scbk, flags=[osdp.LibFlag.EnforceSecure])
        self.pd = osdp.PeripheralDevice(info, caps, log_level=LOG_LEVEL, command_handler=self._on_command)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    def _on_command(self, cmd: dict) -> tuple[int, None]:
        self.commands.put((time.monotonic(), cmd))
        return 0, None

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.listener], [], [], 0.05)
            if ready:
                conn, _ = self.listener.accept()
                self.accepted += 1
                self.channel.attach(conn)

    def start(self) -> _TestPD:
        self.pd.start()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.pd.teardown()
        self.channel.kill()
        self.listener.close()

    def kill_connection(self) -> None:
        self.channel.kill()

    def card(self, data: bytes, bit_length: int) -> None:
        assert self.pd.submit_event({"event": osdp.Event.CardRead, "reader_no": 0, "direction": 0,
                                     "format": osdp.CardFormat.Wiegand, "length": bit_length, "data": data})

    def inputs(self, states: list[int]) -> None:
        assert self.pd.submit_event({"event": osdp.Event.Status, "type": osdp.StatusReportType.Input,
                                     "report": bytes(states)})

    def next_command(self, timeout: float = 3.0) -> tuple[float, dict]:
        return self.commands.get(timeout=timeout)


class _Proxy:
    """Forwards panel <-> PD bytes and can slip extra bytes into the stream."""

    def __init__(self, target_port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.lock = threading.Lock()
        self.panel_side: socket.socket | None = None
        self.pd_side: socket.socket | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.listener], [], [], 0.05)
            if not ready:
                continue
            down, _ = self.listener.accept()
            up = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.panel_side, self.pd_side = down, up
            peer = {down: up, up: down}
            try:
                while not self._stop.is_set():
                    readable, _, _ = select.select([down, up], [], [], 0.05)
                    for s in readable:
                        data = s.recv(4096)
                        if not data:
                            raise ConnectionError
                        with self.lock:
                            peer[s].sendall(data)
            except OSError:
                pass
            finally:
                with self.lock:
                    self.panel_side = self.pd_side = None
                down.close()
                up.close()

    def inject(self, to_panel: bytes = b"", to_pd: bytes = b"") -> None:
        with self.lock:
            assert self.panel_side is not None and self.pd_side is not None
            if to_panel:
                self.panel_side.sendall(to_panel)
            if to_pd:
                self.pd_side.sendall(to_pd)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.listener.close()


class _Events:
    """on_event sink the test can wait on."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: list[tuple[str, object, float]] = []

    def __call__(self, gate_id: str, event: object) -> None:
        with self.cond:
            self.items.append((gate_id, event, time.monotonic()))
            self.cond.notify_all()

    def mark(self) -> int:
        with self.cond:
            return len(self.items)

    def wait_for(self, predicate, timeout: float, since: int = 0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for gate_id, event, seen in self.items[since:]:
                    if predicate(event):
                        return event, seen
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def of_type(self, kind) -> list:
        with self.cond:
            return [e for _, e, _ in self.items if isinstance(e, kind)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q * len(ordered)) - 1)]


@pytest.fixture
def scbk() -> bytes:
    return secrets.token_bytes(16)


@pytest.fixture
def pd(scbk):
    device = _TestPD(scbk).start()
    yield device
    device.stop()


def _panel(port: int, scbk: bytes, events: _Events, **kwargs) -> OsdpPanel:
    link = GateLink(GATE, "127.0.0.1", port, ADDRESS, scbk)
    return OsdpPanel([link], on_event=events, log_level=LOG_LEVEL, **kwargs)


@pytest.fixture
def online(pd, scbk):
    """A started panel whose gate is online with the test PD."""
    events = _Events()
    panel = _panel(pd.port, scbk, events)
    panel.start()
    assert panel.wait_online(GATE, 5.0), "gate never came online"
    # The Online event is dispatched on another thread; let it land first.
    assert events.wait_for(lambda e: isinstance(e, Online), 1.0) is not None
    yield panel, pd, events
    started = time.monotonic()
    panel.stop()
    assert time.monotonic() - started < 1.0, "stop() took too long"


def test_secure_channel_comes_up_with_the_right_key(online):
    panel, _, events = online
    assert panel.is_online(GATE)
    assert panel.sc_active(GATE)
    first_online = events.wait_for(lambda e: isinstance(e, Online), 1.0)
    assert first_online is not None and first_online[0].sc_active
    assert first_online[0].wall > 0 and first_online[0].monotonic > 0
    assert panel.stats(GATE).online


def test_wrong_key_never_goes_online_and_is_reported(pd):
    events = _Events()
    panel = _panel(pd.port, secrets.token_bytes(16), events)
    panel.start()
    try:
        failure = events.wait_for(lambda e: isinstance(e, SecureChannelFailed), 5.0)
        assert failure is not None, "a PD with another key was not reported"
        time.sleep(2.0)  # a window of several retries: it must stay offline through all of them
        assert not panel.is_online(GATE)
        assert not panel.sc_active(GATE)
        assert events.of_type(Online) == []
        assert panel.stats(GATE).sc_failures >= 1
        assert pd.commands.empty()
    finally:
        panel.stop()


def test_card_read_arrives_with_the_same_bits(online):
    panel, pd, events = online
    latencies = []
    for i in range(20):
        bits = random.getrandbits(26) << 6  # 26 bits, MSB first, padded to 4 bytes
        data = bits.to_bytes(4, "big")
        time.sleep(random.uniform(0, 0.1))  # don't phase-lock with the poll cycle
        since = events.mark()
        sent = time.monotonic()
        pd.card(data, 26)
        got = events.wait_for(lambda e: isinstance(e, CardRead), 3.0, since)
        assert got is not None, f"card read {i} did not arrive"
        card, seen = got
        assert (card.bits, card.bit_length, card.format, card.reader) == (data, 26, "wiegand", 0)
        assert card.monotonic >= sent
        latencies.append(seen - sent)
    print(f"\ncard read -> on_event: p50={statistics.median(latencies) * 1000:.1f} ms "
          f"p99={_pct(latencies, 0.99) * 1000:.1f} ms max={max(latencies) * 1000:.1f} ms (n={len(latencies)})")
    assert panel.stats(GATE).events_received >= 20


def test_pulse_output_reaches_the_pd_with_its_timer(online):
    panel, pd, events = online
    to_pd = []
    for _ in range(20):
        time.sleep(random.uniform(0, 0.1))  # don't phase-lock with the poll cycle
        submitted = time.monotonic()
        assert panel.pulse_output(GATE, 1, 3.0)
        arrived, cmd = pd.next_command()
        assert cmd == {"command": osdp.Command.Output, "output_no": 1, "control_code": 5, "timer_count": 30}
        to_pd.append(arrived - submitted)
    assert events.wait_for(lambda e: isinstance(e, CommandCompleted) and e.ok, 2.0) is not None
    wait_for(lambda: panel.stats(GATE).commands_completed >= 20, timeout=3.0, interval=0.02,
             what="20 commands completed")
    stats = panel.stats(GATE)
    assert (stats.commands_sent, stats.commands_completed, stats.commands_failed) == (20, 20, 0)
    assert stats.latency_p50_ms is not None and stats.latency_p99_ms is not None
    print(f"\npulse_output -> PD: p50={statistics.median(to_pd) * 1000:.1f} ms "
          f"p99={_pct(to_pd, 0.99) * 1000:.1f} ms; submit -> completion: p50={stats.latency_p50_ms:.1f} ms "
          f"p99={stats.latency_p99_ms:.1f} ms (n=20)")

    # An output the PD does not have is refused here: a NAK would cost the link.
    assert not panel.pulse_output(GATE, N_OUTPUTS + 3, 1.0)
    with pytest.raises(ValueError):
        panel.pulse_output(GATE, 0, 30.0)  # the binding carries at most 25.5 s
    assert panel.led(GATE, "green", on_ms=500, off_ms=500, temporary=True, duration_s=2.0)
    assert pd.next_command()[1]["command"] == osdp.Command.LED
    assert panel.buzz(GATE, repeat=2)
    assert pd.next_command()[1]["command"] == osdp.Command.Buzzer
    time.sleep(0.3)  # a window: a command the PD took badly would drop the link in it
    assert panel.is_online(GATE)


def test_input_and_unknown_events(online):
    panel, pd, events = online
    pd.inputs([0, 1, 0, 0])
    got = events.wait_for(lambda e: isinstance(e, Input) and e.no == 1 and e.active, 3.0)
    assert got is not None, "input event did not arrive"
    since = events.mark()
    pd.inputs([0, 0, 0, 0])
    assert events.wait_for(lambda e: isinstance(e, Input) and e.no == 1 and not e.active, 3.0, since)

    # Something the adapter does not translate: reported, counted, link intact.
    assert pd.pd.submit_event({"event": osdp.Event.ManufacturerReply, "vendor_code": 0x0A0B0C,
                               "mfg_command": 1, "data": b"\x01\x02"})
    assert events.wait_for(lambda e: isinstance(e, Unknown), 3.0) is not None
    assert panel.stats(GATE).events_unknown == 1
    time.sleep(0.2)  # a window: an unknown event must not cost the link in it
    assert panel.is_online(GATE)


def test_killed_connection_goes_offline_then_reconnects(online):
    panel, pd, events = online
    since = events.mark()
    # A command in flight when the link dies must not blow up anything.
    assert panel.pulse_output(GATE, 0, 1.0)
    killed = time.monotonic()
    pd.kill_connection()
    offline = events.wait_for(lambda e: isinstance(e, Offline), 3.0, since)
    assert offline is not None, "no Offline event after the connection was killed"
    assert not panel.is_online(GATE)
    back = events.wait_for(lambda e: isinstance(e, Online), 5.0, since)
    assert back is not None, "never came back online"
    assert back[0].monotonic > offline[0].monotonic
    print(f"\nconnection killed -> Offline {(offline[1] - killed) * 1000:.0f} ms, "
          f"-> Online again {(back[1] - killed) * 1000:.0f} ms ({offline[0].reason})")
    assert panel.is_online(GATE) and panel.sc_active(GATE)
    stats = panel.stats(GATE)
    assert stats.reconnects >= 1
    assert pd.accepted >= 2
    # The command caught by the cut is accounted for, not left dangling.
    settled = lambda s: s.commands_completed + s.commands_failed == s.commands_sent  # noqa: E731
    wait_for(lambda: settled(panel.stats(GATE)), timeout=2.0, interval=0.02, what="the command accounted for")
    stats = panel.stats(GATE)
    assert stats.commands_completed + stats.commands_failed == stats.commands_sent == 1
    # The link works again end to end.
    pd.card(b"\xab\xcd\xef\xc0", 26)
    assert events.wait_for(lambda e: isinstance(e, CardRead) and e.bits == b"\xab\xcd\xef\xc0", 3.0, since)


def test_garbage_on_the_wire_is_survived_and_reported(pd, scbk):
    proxy = _Proxy(pd.port)
    events = _Events()
    panel = _panel(proxy.port, scbk, events, noise_report_s=0.5, noise_quiet_s=2.0)
    panel.start()
    try:
        assert panel.wait_online(GATE, 5.0)
        assert events.wait_for(lambda e: isinstance(e, Online), 1.0) is not None
        rng = random.Random(4)  # a seed whose bytes broke the secure channel in trials
        since = events.mark()
        injected = time.monotonic()
        proxy.inject(to_panel=rng.randbytes(200))
        time.sleep(0.3)  # two bursts apart, as noise on a real line comes
        proxy.inject(to_pd=rng.randbytes(200))
        # Give damage time to show (silence timeout, MAC failure), then
        # require the link to be up again.
        dropped = events.wait_for(lambda e: isinstance(e, Offline), 2.5, since)
        assert panel.wait_online(GATE, 10.0), "link did not recover from garbage"
        recovered = time.monotonic()
        pd.card(b"\x12\x34\x56\xc0", 26)
        got = events.wait_for(lambda e: isinstance(e, CardRead) and e.bits == b"\x12\x34\x56\xc0", 5.0, since)
        assert got is not None, "card read after garbage did not arrive"
        stats = panel.stats(GATE)
        # The 200 stray bytes towards the panel are counted and reported, not just survived.
        noise = events.of_type(LineNoise)
        assert noise and sum(n.noise_bytes for n in noise) >= 150, noise
        assert all(n.frames >= 0 for n in noise)
        assert stats.line_noise_bytes >= 150 and stats.line_frames > 0
        clean = events.wait_for(lambda e: isinstance(e, LineClean), 10.0, since)
        assert clean is not None, "no all-clear after the line went quiet"
        what = f"dropped ({dropped[0].reason})" if dropped else "absorbed without going offline"
        print(f"\ngarbage: link {what}; online {recovered - injected:.2f} s after the first injection; "
              f"link_errors={stats.link_errors}")
    finally:
        started = time.monotonic()
        panel.stop()
        assert time.monotonic() - started < 1.0
        proxy.stop()


def test_a_clean_line_reports_no_noise(online):
    panel, pd, events = online
    for i in range(5):
        pd.card(bytes([0x10, i, 0x20, 0xC0]), 26)
    assert events.wait_for(lambda e: isinstance(e, CardRead) and e.bits[1] == 4, 5.0) is not None
    stats = panel.stats(GATE)
    # Every byte libosdp exchanged in secure channel parsed as a valid frame.
    assert stats.line_frames > 5
    assert (stats.line_noise_bytes, stats.line_bad_frames) == (0, 0)
    assert not events.of_type(LineNoise)


def test_a_slow_failing_callback_does_not_hurt_the_link(pd, scbk):
    seen: list[object] = []

    def hostile(gate_id: str, event: object) -> None:
        seen.append(event)
        time.sleep(0.3)  # a slow callback is what this test is about
        raise RuntimeError("callback bug")

    panel = OsdpPanel([GateLink(GATE, "127.0.0.1", pd.port, ADDRESS, scbk)], on_event=hostile,
                      log_level=LOG_LEVEL)
    panel.start()
    try:
        assert panel.wait_online(GATE, 5.0)
        for n in range(8):
            pd.card(bytes([n, 0, 0, 0]), 26)
        time.sleep(2.6)  # longer than the silence timeout: the refresh thread must keep polling
        assert panel.is_online(GATE)
        assert panel.stats(GATE).link_errors == 0
        wait_for(lambda: sum(isinstance(e, CardRead) for e in seen) >= 8, timeout=3.0, interval=0.05,
                 what="8 card reads")
        assert [e.bits[0] for e in seen if isinstance(e, CardRead)] == list(range(8))
    finally:
        panel.stop()


def test_stop_returns_promptly_with_an_unreachable_gate(pd, scbk):
    with socket.create_server(("127.0.0.1", 0)) as closed:
        dead_port = closed.getsockname()[1]
    events = _Events()
    panel = OsdpPanel(
        [GateLink(GATE, "127.0.0.1", pd.port, ADDRESS, scbk),
         GateLink("gate-dead", "127.0.0.1", dead_port, 2, secrets.token_bytes(16))],
        on_event=events, log_level=LOG_LEVEL)
    panel.start()
    assert panel.wait_online(GATE, 5.0)
    assert not panel.is_online("gate-dead")
    assert not panel.pulse_output("gate-dead", 0, 1.0)
    started = time.monotonic()
    panel.stop()
    took = time.monotonic() - started
    assert took < 1.0, f"stop() took {took:.2f} s"
    assert isinstance(events.of_type(Offline)[-1], Offline)  # online gate announced going away
    assert not panel.is_online(GATE)
    assert panel.stats("gate-dead").connect_failures >= 1
    assert not [t.name for t in threading.enumerate() if t.name.startswith("osdp-") and t.is_alive()]


def test_links_are_validated():
    with pytest.raises(ValueError):
        GateLink(GATE, "127.0.0.1", 9701, 1, DEFAULT_INSTALL_KEY)
    with pytest.raises(ValueError):
        GateLink(GATE, "127.0.0.1", 9701, 127, secrets.token_bytes(16))
    with pytest.raises(ValueError):
        GateLink(GATE, "127.0.0.1", 9701, 1, b"short")
    link = GateLink.from_channel(GATE, "tcp://127.0.0.1:9701", 1, secrets.token_bytes(16))
    assert (link.host, link.port) == ("127.0.0.1", 9701)
    assert "scbk" not in repr(link)
    with pytest.raises(ValueError):  # two PDs with one address on one bus
        OsdpPanel([link, GateLink("gate-2", "127.0.0.1", 9701, 1, secrets.token_bytes(16))])
