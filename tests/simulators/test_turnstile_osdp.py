"""The simulated gates over the real OSDP line: a libosdp control panel connects over TCP.

The panel here is a bare libosdp ControlPanel written for these tests; the project's own panel
lives elsewhere and must not be what proves the simulator right.
"""
from __future__ import annotations

import secrets
import socket
import threading
import time

import osdp
import pytest

from simulators.turnstile import TurnstileFleet
from simulators.turnstile.mechanism import Timing
from tests.conftest import free_port, wait_for
from tests.simulators.test_turnstile_units import decode_wiegand

IN_PASSAGE_ENTRY, IN_PASSAGE_EXIT, IN_LEAF, IN_TAMPER, IN_FIRE, IN_BEAM = range(6)
TEMP_ON = 5
OPEN_SECONDS = 1.0


class ClientChannel(osdp.Channel):
    """The panel's end of the line: a TCP client that reconnects when the device goes away."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.sock: socket.socket | None = None
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def _socket(self, now: bool = False):
        if self.sock is None and (now or time.monotonic() >= self._retry_at):
            s = socket.socket()
            s.settimeout(0.2)
            try:
                s.connect(("127.0.0.1", self.port))
            except OSError:
                s.close()
                self._retry_at = time.monotonic() + 0.2
                return None
            s.setblocking(False)
            self.sock = s
        return self.sock

    def _lost(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            s = self._socket()
            if s is None:
                return b""
            try:
                data = s.recv(max_bytes)
            except BlockingIOError:
                return b""
            except OSError:
                self._lost()
                return b""
            if not data:
                self._lost()
            return data

    def write(self, buf: bytes) -> int:
        with self._lock:
            s = self._socket(now=True)  # a command about to go out is worth a connect attempt
            if s is None:
                return 0
            try:
                return s.send(buf)
            except BlockingIOError:
                return 0
            except OSError:
                self._lost()
                return 0

    def flush(self) -> None:
        pass

    def send_raw(self, data: bytes) -> None:
        """Line noise from the panel's side."""
        with self._lock:
            s = self._socket()
            assert s is not None, "not connected"
            s.setblocking(True)
            s.sendall(data)
            s.setblocking(False)


class Panel:
    """A libosdp ControlPanel for a set of gates, with every event kept for assertions."""

    def __init__(self, targets: dict[int, tuple[int, bytes | None]], enforce_secure=True) -> None:
        flags = [osdp.LibFlag.EnableNotification]
        if enforce_secure:
            flags.append(osdp.LibFlag.EnforceSecure)
        self.channels = {addr: ClientChannel(port) for addr, (port, _) in targets.items()}
        self.cp = osdp.ControlPanel(
            [osdp.PDInfo(addr, self.channels[addr], scbk=key, flags=flags)
             for addr, (_, key) in targets.items()], log_level=osdp.LogLevel.Emergency)
        self.events: dict[int, list[tuple[float, dict]]] = {a: [] for a in targets}
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._drainer = threading.Thread(target=self._drain, daemon=True)

    def start(self) -> "Panel":
        self.cp.start()
        self._drainer.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._drainer.join(2)
        self.cp.teardown()
        for ch in self.channels.values():
            ch._lost()

    def _drain(self) -> None:
        while not self._stop.is_set():
            got = False
            for addr in self.events:
                event = self.cp.get_event(addr, timeout=0)
                if event is not None:
                    got = True
                    with self._cond:
                        self.events[addr].append((time.monotonic(), event))
                        self._cond.notify_all()
            if not got:
                time.sleep(0.01)  # the drainer's pace: libosdp's event queue has no blocking get

    def mark(self, addr: int) -> int:
        with self._cond:
            return len(self.events[addr])

    def wait_for(self, addr: int, predicate, since: int = 0, timeout: float = 5.0):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, event in self.events[addr][since:]:
                    if predicate(event):
                        return t, event
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def since(self, addr: int, mark: int) -> list[dict]:
        with self._cond:
            return [e for _, e in self.events[addr][mark:]]

    def secure(self, addr: int, timeout: float = 6.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cp.is_sc_active(addr):
                return True
            time.sleep(0.05)  # polling libosdp's state, which offers no wait
        return False

    def revive(self, addr: int, timeout: float = 6.0) -> bool:
        """Restart the session now: libosdp 3.2.9 otherwise waits 300 s after going offline."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cp.is_sc_active(addr):
                return True
            self.cp.disable_pd(addr)
            until = time.monotonic() + 1
            while self.cp.is_pd_enabled(addr) and time.monotonic() < until:
                time.sleep(0.02)  # polling libosdp's state, which offers no wait
            with self.channels[addr]._lock:
                self.channels[addr]._socket(now=True)
            self.cp.enable_pd(addr)
            if self.secure(addr, min(2.0, max(0.1, deadline - time.monotonic()))):
                return True
        return self.cp.is_sc_active(addr)

    def command(self, addr: int, cmd: dict) -> None:
        assert self.cp.submit_command(addr, cmd), f"panel refused {cmd}"

    def unlock(self, addr: int, output: int, tenths: int) -> None:
        self.command(addr, {"command": osdp.Command.Output, "output_no": output,
                            "control_code": TEMP_ON, "timer_count": tenths})


# ---- what the events say --------------------------------------------------------------------

def _status(event, kind) -> bool:
    return event.get("event") == osdp.Event.Status and event.get("type") == kind


def is_input(event) -> bool:
    return _status(event, osdp.StatusReportType.Input)


def is_output(event) -> bool:
    return _status(event, osdp.StatusReportType.Output)


def is_card(event) -> bool:
    return event.get("event") == osdp.Event.CardRead


def is_pd_status(online: bool):
    return lambda e: (e.get("event") == osdp.Event.Notification
                      and e.get("type") == osdp.EventNotification.PeripheralDeviceStatus
                      and bool(e.get("arg0")) == online)


def line(event, n: int) -> bool:
    return bool(event["report"][n])


def input_line(n: int, active: bool = True):
    return lambda e: is_input(e) and line(e, n) == active


def output_states(states: tuple[int, ...]):
    return lambda e: is_output(e) and tuple(e["report"]) == states


def rising_edges(events: list[dict], n: int) -> int:
    count, last = 0, False
    for e in events:
        if is_input(e):
            if line(e, n) and not last:
                count += 1
            last = line(e, n)
    return count


# ---- fixtures -------------------------------------------------------------------------------

SITE = """
gates:
  - {{id: gate-main, name: Main, kind: full_height_turnstile, area_out: outside, area_in: floor3,
     osdp: {{address: 1, channel: "tcp://127.0.0.1:{p1}"}}, fail_mode: secure, open_seconds: {open}}}
  - {{id: gate-side, name: Side, kind: speed_gate, area_out: outside, area_in: floor3,
     osdp: {{address: 2, channel: "tcp://127.0.0.1:{p2}"}}, fail_mode: safe, open_seconds: {open}}}
  - {{id: gate-spare, name: Spare, kind: full_height_turnstile, area_out: outside, area_in: floor3,
     osdp: {{address: 3, channel: "tcp://127.0.0.1:{p3}"}}}}
people:
  - id: p-001
    badges: [{{number: "10001", format: wiegand26, facility: 12}}]
  - id: p-009
    badges: [{{number: "20001", format: h10304, facility: 300}}]
"""

MAIN, SIDE, SPARE = 1, 2, 3


def write_site(tmp_path):
    """A three-gate site on free ports; returns its path."""
    path = tmp_path / "site.yaml"
    path.write_text(SITE.format(p1=free_port(), p2=free_port(), p3=free_port(), open=OPEN_SECONDS))
    return path


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("turnstile")
    fleet = TurnstileFleet(write_site(tmp), keys_dir=tmp / "keys", control_port=None,
                           timing=Timing())
    fleet.start()
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def panel(fleet):
    targets = {MAIN: (fleet.gates["gate-main"].port, fleet.keys["gate-main"].key),
               SIDE: (fleet.gates["gate-side"].port, fleet.keys["gate-side"].key)}
    panel = Panel(targets).start()
    yield panel
    panel.stop()


@pytest.fixture
def main(fleet, panel):
    return _ready(fleet.gates["gate-main"], panel, MAIN)


@pytest.fixture
def side(fleet, panel):
    return _ready(fleet.gates["gate-side"], panel, SIDE)


def _ready(gate, panel, addr):
    """Each test starts from a quiet gate with a live secure session."""
    for action in (lambda: gate.set_power(True), lambda: gate.set_fire(False),
                   lambda: gate.set_tamper(False)):
        action()
    assert panel.revive(addr), f"no secure channel to {gate.id}"
    assert gate.wait_idle(5)
    with gate._lock:
        for n in range(3):
            gate.mech.set_output(n, 1, 0)  # permanent off, abort timers
    time.sleep(0.3)  # let the reports of that settle on the panel
    return gate


# ---- tests ----------------------------------------------------------------------------------

def test_secure_channel_comes_up_with_capabilities_and_a_state_report(fleet, panel):
    assert panel.secure(MAIN) and panel.secure(SIDE)
    cp = panel.cp
    assert cp.check_capability(MAIN, osdp.Capability.ContactStatusMonitoring) == (1, 6)
    assert cp.check_capability(MAIN, osdp.Capability.OutputControl) == (1, 3)
    assert cp.check_capability(SIDE, osdp.Capability.Readers)[1] == 2
    # The first reports after the session starts describe the current lines.
    assert panel.wait_for(MAIN, output_states((0, 0, 0)))
    assert panel.wait_for(MAIN, lambda e: is_input(e) and tuple(e["report"]) == (0,) * 6)
    snap = fleet.gates["gate-main"].snapshot()
    assert snap["osdp"]["secure"] and snap["osdp"]["online"] and snap["osdp"]["connected"]


def test_wrong_key_or_plaintext_never_gets_a_session(fleet):
    gate = fleet.gates["gate-spare"]
    for key, enforce in ((secrets.token_bytes(16), True), (None, False)):
        wrong = Panel({SPARE: (gate.port, key)}, enforce_secure=enforce).start()
        try:
            deadline, presented = time.monotonic() + 1.6, False
            while time.monotonic() < deadline:
                assert not wrong.cp.is_sc_active(SPARE)
                assert not gate.snapshot()["osdp"]["secure"]
                if enforce:
                    assert not wrong.cp.is_online(SPARE)
                elif wrong.cp.is_online(SPARE):
                    # ID and capabilities go in the clear; anything after that is refused.
                    wrong.cp.submit_command(SPARE, {"command": osdp.Command.Output, "output_no": 0,
                                                    "control_code": TEMP_ON, "timer_count": 50})
                if not presented:
                    gate.present_card(_card(fleet))
                    presented = True
                time.sleep(0.1)  # a window of 1.6 s, checked all along: no session at any moment
            assert not any(is_card(e) or is_input(e) for _, e in wrong.events[SPARE])
            assert not gate.snapshot()["free"]["entry"], "a plaintext command must not unlock"
        finally:
            wrong.stop()
    right = Panel({SPARE: (gate.port, gate.key.key)}).start()
    try:
        assert right.secure(SPARE), "the right key must still work after the failed attempts"
        # The session opens with the current state; the card read while nobody held a session
        # is gone rather than replayed as if fresh.
        assert right.wait_for(SPARE, output_states((0, 0, 0)))
        time.sleep(0.5)  # a window: a replayed old card read would arrive in it
        assert not any(is_card(e) for _, e in right.events[SPARE])
        assert gate.snapshot()["osdp"]["events_dropped"] >= 1
    finally:
        right.stop()


def test_panel_can_set_a_new_key_which_the_device_keeps(fleet):
    gate = fleet.gates["gate-spare"]
    old, new = gate.key.key, secrets.token_bytes(16)
    panel = Panel({SPARE: (gate.port, old)}).start()
    try:
        assert panel.revive(SPARE)
        panel.command(SPARE, {"command": osdp.Command.Keyset, "type": 1, "data": new})
        key_file = gate.key.where
        wait_for(lambda: gate.key.key == new, timeout=3, interval=0.05, what="the new key taken")
        assert gate.key.key == new and open(key_file).read().strip() == new.hex()
    finally:
        panel.stop()
    gate.set_power(False)  # a reboot must come back with the new key, as from flash
    wait_for(lambda: not gate.snapshot()["osdp"]["up"], timeout=3, interval=0.02, what="the device down")
    gate.set_power(True)
    for key, works in ((old, False), (new, True)):
        panel = Panel({SPARE: (gate.port, key)}).start()
        try:
            assert panel.secure(SPARE, timeout=1.5 if not works else 6) == works
        finally:
            panel.stop()


@pytest.mark.parametrize("card,fmt_bits,expected", [
    ({"person": "p-001"}, 26, (12, 10001)),
    ({"person": "p-009"}, 37, (300, 20001)),
    ({"card": {"format": "wiegand34", "facility": 4660, "number": 22136}}, 34, (4660, 22136)),
])
def test_badge_sends_a_wiegand_card_read(fleet, panel, main, card, fmt_bits, expected):
    from simulators.turnstile.actions import prepare
    mark = panel.mark(MAIN)
    result = prepare("badge", {**card, "reader": "exit"}, fleet.site)(main)
    assert result["result"] == "read"
    got = panel.wait_for(MAIN, is_card, since=mark)
    assert got, "no card read reached the panel"
    event = got[1]
    assert event["format"] == osdp.CardFormat.Wiegand and event["length"] == fmt_bits
    assert event["reader_no"] == 1  # the exit-side reader
    assert decode_wiegand(event["data"], event["length"]) == expected


def test_grant_lets_one_person_through_and_relocks(panel, main):
    mark = panel.mark(MAIN)
    panel.unlock(MAIN, 0, 50)
    assert panel.wait_for(MAIN, output_states((1, 0, 0)), since=mark), "unlock not reported"
    assert main.snapshot()["free"]["entry"]
    assert main.walk("entry")["result"] == "passed"
    got = panel.wait_for(MAIN, input_line(IN_PASSAGE_ENTRY), since=mark)
    assert got, "no passage-complete event"
    relock = panel.wait_for(MAIN, output_states((0, 0, 0)), since=mark)
    assert relock and relock[0] >= got[0], "the gate must relock after the passage"
    assert main.wait_idle(3)
    time.sleep(0.4)  # reports on the line arrive; a stray extra one (a bounce) would too
    events = panel.since(MAIN, mark)
    assert not line([e for e in events if is_input(e)][-1], IN_LEAF), "arm back at rest"
    assert rising_edges(events, IN_PASSAGE_ENTRY) == 1 and rising_edges(events, IN_BEAM) == 1
    assert rising_edges(events, IN_PASSAGE_EXIT) == 0
    assert main.walk("entry")["result"] == "blocked"


def test_grant_without_passage_relocks_after_its_time(panel, main):
    mark = panel.mark(MAIN)
    panel.unlock(MAIN, 1, 8)  # exit, 0.8 s
    on = panel.wait_for(MAIN, output_states((0, 1, 0)), since=mark)
    off = panel.wait_for(MAIN, output_states((0, 0, 0)), since=mark + 1)
    assert on and off
    assert 0.5 <= off[0] - on[0] <= 1.6, f"relocked after {off[0] - on[0]:.2f} s"
    assert rising_edges(panel.since(MAIN, mark), IN_PASSAGE_EXIT) == 0
    assert main.snapshot()["counters"]["lapsed_grants"] >= 1


def test_tailgate_speed_gate_two_beams_one_passage(panel, side):
    mark = panel.mark(SIDE)
    panel.unlock(SIDE, 0, 50)
    assert panel.wait_for(SIDE, output_states((1, 0, 0)), since=mark)
    assert side.walk("entry", 2)["result"] == "tailgated"
    assert panel.wait_for(SIDE, output_states((0, 0, 0)), since=mark)
    assert side.wait_idle(3)
    time.sleep(0.6)  # reports on the line arrive; a stray extra one (a bounce) would too
    events = panel.since(SIDE, mark)
    assert rising_edges(events, IN_BEAM) == 2
    assert rising_edges(events, IN_PASSAGE_ENTRY) == 1


def test_tailgate_full_height_turnstile_stops_the_second(panel, main):
    mark = panel.mark(MAIN)
    panel.unlock(MAIN, 0, 50)
    assert panel.wait_for(MAIN, output_states((1, 0, 0)), since=mark)
    assert main.walk("entry", 2) == {"result": "tailgater_blocked", "passed": 1, "blocked": 1}
    assert panel.wait_for(MAIN, output_states((0, 0, 0)), since=mark)
    assert main.wait_idle(3)
    time.sleep(0.6)  # reports on the line arrive; a stray extra one (a bounce) would too
    events = panel.since(MAIN, mark)
    assert rising_edges(events, IN_BEAM) == 1 and rising_edges(events, IN_PASSAGE_ENTRY) == 1


def test_force_breaks_through_a_locked_turnstile(panel, main):
    mark = panel.mark(MAIN)
    assert main.walk("exit")["result"] == "blocked"
    assert main.force("exit")["result"] == "forced"
    assert panel.wait_for(MAIN, input_line(IN_PASSAGE_EXIT), since=mark)
    assert main.wait_idle(3)
    time.sleep(0.4)  # reports on the line arrive; a stray extra one (a bounce) would too
    events = panel.since(MAIN, mark)
    assert rising_edges(events, IN_LEAF) == 1 and rising_edges(events, IN_PASSAGE_EXIT) == 1
    assert not any(is_output(e) and any(e["report"]) for e in events), "no grant was given"


def test_push_through_speed_gate_flaps_is_a_forced_passage(panel, side):
    mark = panel.mark(SIDE)
    assert side.walk("entry")["result"] == "forced"
    assert panel.wait_for(SIDE, input_line(IN_PASSAGE_ENTRY), since=mark)
    assert side.snapshot()["counters"]["forced"] >= 1


def test_gate_held_open_past_the_open_time(panel, side):
    mark = panel.mark(SIDE)
    panel.unlock(SIDE, 0, 10)
    assert panel.wait_for(SIDE, output_states((1, 0, 0)), since=mark)
    assert side.hold(2.5)["result"] == "held"
    opened = panel.wait_for(SIDE, input_line(IN_LEAF), since=mark)
    closed = panel.wait_for(SIDE, input_line(IN_LEAF, False), since=mark + 1, timeout=6)
    assert opened and closed
    assert closed[0] - opened[0] >= 2.0 > OPEN_SECONDS
    relocked = panel.wait_for(SIDE, output_states((0, 0, 0)), since=mark)
    assert relocked and relocked[0] < closed[0], "the grant lapsed while the leaf stayed open"
    assert rising_edges(panel.since(SIDE, mark), IN_PASSAGE_ENTRY) == 0


def test_fire_alarm_opens_both_ways(panel, main, side):
    mark, forced = panel.mark(SIDE), side.snapshot()["counters"]["forced"]
    side.set_fire(True)
    got = panel.wait_for(SIDE, input_line(IN_FIRE), since=mark)
    assert got and line(got[1], IN_LEAF), "speed gate flaps stand open in a fire"
    assert side.walk("exit")["result"] == "passed" and side.walk("entry")["result"] == "busy"
    assert panel.wait_for(SIDE, input_line(IN_PASSAGE_EXIT), since=mark)
    assert side.wait_idle(3)
    assert side.walk("entry")["result"] == "passed"
    assert side.wait_idle(3)
    assert side.snapshot()["counters"]["forced"] == forced, "nobody had to push in a fire"
    off = panel.mark(SIDE)
    side.set_fire(False)
    got = panel.wait_for(SIDE, input_line(IN_FIRE, False), since=off)
    assert got and not line(got[1], IN_LEAF), "flaps close when the alarm ends"
    main_mark = panel.mark(MAIN)
    main.set_fire(True)
    got = panel.wait_for(MAIN, input_line(IN_FIRE), since=main_mark)
    assert got and not line(got[1], IN_LEAF), "a turnstile's arms stay put, free to turn"
    assert main.walk("entry")["result"] == "passed"
    assert panel.wait_for(MAIN, input_line(IN_PASSAGE_ENTRY), since=main_mark)
    main.set_fire(False)
    assert main.wait_idle(3)
    assert main.walk("entry")["result"] == "blocked", "locked again once the alarm ends"


def test_tamper_is_input_3(panel, main):
    mark = panel.mark(MAIN)
    main.set_tamper(True)
    assert panel.wait_for(MAIN, input_line(IN_TAMPER), since=mark)
    main.set_tamper(False)
    assert panel.wait_for(MAIN, input_line(IN_TAMPER, False), since=mark + 1)


def test_led_and_buzzer_commands_are_reflected(panel, main):
    panel.command(MAIN, {"command": osdp.Command.LED, "reader": 0, "led_number": 0,
                         "control_code": 1, "on_count": 10, "off_count": 10,
                         "on_color": osdp.CommandLEDColor.Green,
                         "off_color": osdp.CommandLEDColor.Black, "timer_count": 0,
                         "temporary": False})
    panel.command(MAIN, {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 2,
                         "on_count": 5, "off_count": 5, "rep_count": 2})
    reader = wait_for(lambda: (r := main.snapshot()["reader"])["led"] and r["buzzer"] and r,
                      timeout=3, interval=0.05, what="LED and buzzer set")
    assert reader["led"]["0"]["on_color"] == osdp.CommandLEDColor.Green
    assert reader["buzzer"]["rep_count"] == 2
    assert panel.cp.is_sc_active(MAIN), "accepted commands keep the session"


@pytest.mark.parametrize("kind,name,free_when_off", [
    ("secure", "gate-main", False), ("safe", "gate-side", True)])
def test_power_loss_takes_the_device_offline_and_follows_fail_mode(
        fleet, panel, main, side, kind, name, free_when_off):
    gate, addr = fleet.gates[name], {"gate-main": MAIN, "gate-side": SIDE}[name]
    mark = panel.mark(addr)
    panel.unlock(addr, 0, 100)
    assert panel.wait_for(addr, output_states((1, 0, 0)), since=mark)
    gate.set_power(False)
    assert panel.wait_for(addr, is_pd_status(False), since=mark, timeout=5), "panel saw no loss"
    snap = gate.snapshot()
    assert not snap["osdp"]["up"] and snap["outputs"] == {
        "unlock_entry": False, "unlock_exit": False, "sounder": False}
    assert snap["free"] == {"entry": free_when_off, "exit": free_when_off}
    restart = panel.mark(addr)
    gate.set_power(True)
    assert panel.revive(addr, timeout=8), "no secure channel after power came back"
    assert gate.snapshot()["osdp"]["boots"] >= 2
    # A fresh boot reports its lines: everything off, nothing unlocked.
    assert panel.wait_for(addr, output_states((0, 0, 0)), since=restart)
    assert panel.wait_for(addr, lambda e: is_input(e) and not any(e["report"]), since=restart)


@pytest.mark.parametrize("to", ["device", "panel", "both"])
def test_garbage_on_the_line_does_not_kill_the_device(fleet, panel, main, to):
    mark = panel.mark(MAIN)
    assert main.inject_garbage(200, to)["result"] == "injected"
    wait_for(lambda: not main.snapshot()["osdp"]["noise_pending"], timeout=3, interval=0.05,
             what="the noise out")
    assert main.snapshot()["osdp"]["noise_pending"] == 0, "the noise never went out"
    _serves_a_new_session(fleet, panel, main, mark)


def test_garbage_from_the_panel_side_does_not_kill_the_device(fleet, panel, main):
    mark = panel.mark(MAIN)
    panel.channels[MAIN].send_raw(secrets.token_bytes(300) + bytes([0x53]) * 20 + b"\xff" * 40)
    _serves_a_new_session(fleet, panel, main, mark)


def _serves_a_new_session(fleet, panel, main, mark):
    """Noise may cost the session it hit (a bad MAC ends it); the device must take a new one."""
    panel.wait_for(MAIN, is_pd_status(False), since=mark, timeout=1.2)  # let a broken one show
    assert main.snapshot()["osdp"]["up"]
    for _ in range(2):
        assert panel.revive(MAIN), "device did not come back after noise"
        mark = panel.mark(MAIN)
        main.present_card(_card(fleet))
        if panel.wait_for(MAIN, is_card, since=mark, timeout=2.5):
            return
    pytest.fail("the device never delivered a card read after the noise")


def _card(fleet):
    from simulators.turnstile.site_view import person_card
    return person_card(fleet.site, "p-001")


def test_passback_presents_the_same_card_twice(fleet, panel, main):
    """The panel here grants every card, so both people pass; the panel sees the same bits twice."""
    from simulators.turnstile.actions import prepare
    stop = threading.Event()
    mark = panel.mark(MAIN)

    def grant_all():
        seen = mark
        while not stop.is_set():
            events = panel.since(MAIN, seen)
            seen += len(events)
            for e in events:
                if is_card(e):
                    panel.unlock(MAIN, 0, 30)
            time.sleep(0.02)  # the granter's pace, looking for new card reads
    granter = threading.Thread(target=grant_all, daemon=True)
    granter.start()
    try:
        result = prepare("passback", {"person": "p-001", "delay": 0.5}, fleet.site)(main)
    finally:
        stop.set()
        granter.join(2)
    assert result["first"]["result"] == "passed" and result["second"]["result"] == "passed"
    time.sleep(0.5)  # reports on the line arrive; a stray extra one (a bounce) would too
    events = panel.since(MAIN, mark)
    cards = [e for e in events if is_card(e)]
    assert len(cards) == 2 and cards[0]["data"] == cards[1]["data"]
    assert rising_edges(events, IN_PASSAGE_ENTRY) == 2
