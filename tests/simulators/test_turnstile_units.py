"""The turnstile simulator's pure parts: card encoding, the mechanism, site, keys, actions."""
from __future__ import annotations

import os
import stat

import pytest

from simulators.turnstile.actions import RequestError, prepare
from simulators.turnstile.keys import SCBK_D, parse_key, resolve_key
from simulators.turnstile.mechanism import (
    IN_BEAM, IN_FIRE, IN_LEAF_OPEN, IN_PASSAGE_ENTRY, IN_PASSAGE_EXIT, IN_TAMPER, PERM_OFF_ABORT,
    PERM_ON_ABORT, TEMP_ON, Mechanism, Timing)
from simulators.turnstile.scenarios import check_steps, load_scenario
from simulators.turnstile.site_view import card_from_spec, load_site, person_card
from simulators.turnstile.wiegand import encode, pack_bits


# ---- an independent Wiegand reader ----------------------------------------------------------

def decode_wiegand(data: bytes, bit_count: int) -> tuple[int, int]:
    """(facility, number) from packed bits; asserts both parity bits the way a panel checks."""
    bits = "".join(f"{b:08b}" for b in data)[:bit_count]
    if bit_count == 26:
        even, odd, fac, num = bits[0:13], bits[13:26], bits[1:9], bits[9:25]
    elif bit_count == 34:
        even, odd, fac, num = bits[0:17], bits[17:34], bits[1:17], bits[17:33]
    elif bit_count == 37:
        even, odd, fac, num = bits[0:19], bits[18:37], bits[1:17], bits[17:36]
    else:
        raise AssertionError(f"unexpected bit count {bit_count}")
    assert even.count("1") % 2 == 0, f"even parity broken in {bits}"
    assert odd.count("1") % 2 == 1, f"odd parity broken in {bits}"
    return int(fac, 2), int(num, 2)


@pytest.mark.parametrize("fmt,bits,facility,number", [
    ("wiegand26", 26, 12, 345), ("wiegand26", 26, 0, 0), ("wiegand26", 26, 255, 65535),
    ("wiegand34", 34, 300, 12345), ("wiegand34", 34, 65535, 1),
    ("h10304", 37, 300, 20001), ("h10304", 37, 65535, 524287), ("h10304", 37, 1, 0)])
def test_wiegand_formats_decode_with_valid_parity(fmt, bits, facility, number):
    card = encode(fmt, facility, number)
    assert card.bit_count == bits and len(card.packed) == (bits + 7) // 8
    assert decode_wiegand(card.packed, bits) == (facility, number)


def test_wiegand26_known_bit_pattern():
    # Facility 12, card 345: both parity spans hold an even number of ones.
    assert encode("wiegand26", 12, 345).bit_string == "0" + "00001100" + "0000000101011001" + "0"
    assert encode("wiegand26", 1, 1).bit_string == "1" + "00000001" + "0000000000000001" + "0"
    assert pack_bits(0b101, 3) == bytes([0b1010_0000])


@pytest.mark.parametrize("fmt,facility,number", [
    ("wiegand26", 256, 1), ("wiegand26", 1, 65536), ("wiegand34", 65536, 1),
    ("h10304", 1, 524288), ("nope", 1, 1), ("wiegand26", -1, 1)])
def test_wiegand_refuses_values_that_do_not_fit(fmt, facility, number):
    with pytest.raises(ValueError):
        encode(fmt, facility, number)


def test_raw_cards_and_card_specs():
    raw = card_from_spec({"format": "raw", "number": "4660", "bits": 16})
    assert (raw.bit_count, raw.packed) == (16, bytes([0x12, 0x34]))
    quoted = card_from_spec({"format": "wiegand26", "facility": 12, "number": "10001"})
    assert quoted.number == 10001
    for bad in ({"format": "raw", "number": 1, "facility": 2}, {"number": 1, "bits": 26},
                {"number": 1.5}, {"number": 1, "extra": 2}, "p-001",
                {"format": "raw", "number": 300, "bits": 4}):
        with pytest.raises(ValueError):
            card_from_spec(bad)


# ---- the mechanism --------------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def advance(self, mech: Mechanism, seconds: float, step: float = 0.05) -> None:
        end = self.now + seconds
        while self.now < end - 1e-9:
            self.now = min(end, self.now + step)
            mech.tick()


def make(kind="full_height_turnstile", fail_mode="secure", open_seconds=5.0):
    clock = FakeClock()
    return Mechanism(kind, fail_mode, open_seconds, clock, Timing()), clock


def lines(mech: Mechanism) -> list[tuple[str, tuple[bool, ...]]]:
    return [(r.kind, r.states) for r in mech.drain()]


def pulses(reports, line: int) -> int:
    """How many times input `line` went active."""
    count, last = 0, False
    for kind, states in reports:
        if kind == "input":
            if states[line] and not last:
                count += 1
            last = states[line]
    return count


def test_grant_lets_one_passage_through_then_relocks():
    mech, clock = make()
    mech.set_output(0, TEMP_ON, 50)
    assert mech.is_free("entry") and not mech.is_free("exit")
    assert mech.walk("entry")["result"] == "passed"
    clock.advance(mech, 1.0)
    reports = lines(mech)
    assert pulses(reports, IN_PASSAGE_ENTRY) == 1 and pulses(reports, IN_BEAM) == 1
    assert pulses(reports, IN_LEAF_OPEN) == 1
    # The relock (output 0 off) comes after the passage pulse, before the timer would have run out.
    relock = reports.index(("output", (False, False, False)))
    passage = next(i for i, (k, s) in enumerate(reports) if k == "input" and s[IN_PASSAGE_ENTRY])
    assert passage < relock
    assert not mech.is_free("entry") and mech.counters.passages_entry == 1
    assert mech.walk("entry")["result"] == "blocked"


def test_grant_lapses_after_its_timer_or_the_open_time():
    mech, clock = make(open_seconds=3.0)
    mech.set_output(0, TEMP_ON, 20)  # 2.0 s
    clock.advance(mech, 1.9)
    assert mech.outputs[0]
    clock.advance(mech, 0.2)
    assert not mech.outputs[0] and mech.counters.lapsed_grants == 1
    mech.set_output(1, TEMP_ON, 0)  # no timer: the gate's own open time
    clock.advance(mech, 2.9)
    assert mech.outputs[1]
    clock.advance(mech, 0.2)
    assert not mech.outputs[1]


def test_permanent_output_is_free_passage_until_switched_off():
    mech, clock = make()
    mech.set_output(0, PERM_ON_ABORT, 0)
    for _ in range(3):
        assert mech.walk("entry")["result"] == "passed"
        clock.advance(mech, 1.0)
    assert mech.outputs[0] and mech.counters.passages_entry == 3
    mech.set_output(0, PERM_OFF_ABORT, 0)
    assert mech.walk("entry")["result"] == "blocked"


def test_full_height_turnstile_stops_the_tailgater():
    mech, clock = make()
    mech.set_output(0, TEMP_ON, 50)
    outcome = mech.walk("entry", people=2)
    assert outcome == {"result": "tailgater_blocked", "passed": 1, "blocked": 1}
    clock.advance(mech, 2.0)
    reports = lines(mech)
    assert pulses(reports, IN_PASSAGE_ENTRY) == 1 and pulses(reports, IN_BEAM) == 1


def test_speed_gate_tailgate_is_two_beam_breaks_one_passage():
    mech, clock = make("speed_gate")
    mech.set_output(0, TEMP_ON, 50)
    assert mech.walk("entry", people=2)["result"] == "tailgated"
    clock.advance(mech, 2.0)
    reports = lines(mech)
    assert pulses(reports, IN_BEAM) == 2 and pulses(reports, IN_PASSAGE_ENTRY) == 1
    assert not mech.outputs[0]


def test_push_without_grant_blocked_by_turnstile_forced_through_speed_gate():
    mech, clock = make()
    assert mech.walk("exit")["result"] == "blocked"
    clock.advance(mech, 1.0)
    assert lines(mech) == []
    assert mech.force("exit")["result"] == "forced"
    clock.advance(mech, 1.0)
    reports = lines(mech)
    assert pulses(reports, IN_PASSAGE_EXIT) == 1 and pulses(reports, IN_LEAF_OPEN) == 1
    assert all(not any(s) for k, s in reports if k == "output")
    gate, gclock = make("speed_gate")
    assert gate.walk("entry")["result"] == "forced"
    gclock.advance(gate, 1.0)
    assert pulses(lines(gate), IN_PASSAGE_ENTRY) == 1 and gate.counters.forced == 1


def test_hold_keeps_the_leaf_open_past_the_open_time():
    mech, clock = make("speed_gate", open_seconds=1.0)
    mech.set_output(0, TEMP_ON, 10)
    assert mech.hold(4.0)["result"] == "held"
    clock.advance(mech, 3.0)
    assert mech.inputs[IN_LEAF_OPEN] and not mech.outputs[0] and mech.busy
    assert mech.walk("entry")["result"] == "busy"
    clock.advance(mech, 1.1)
    assert not mech.inputs[IN_LEAF_OPEN] and not mech.busy
    assert mech.counters.passages_entry == 0
    locked, _ = make()
    assert locked.hold(4.0)["result"] == "blocked"


def test_fire_opens_both_directions():
    mech, clock = make("speed_gate")
    mech.set_fire(True)
    assert mech.inputs[IN_FIRE] and mech.inputs[IN_LEAF_OPEN]
    assert mech.is_free("entry") and mech.is_free("exit")
    assert mech.walk("exit", people=2)["result"] == "passed"  # two people, both legitimate
    clock.advance(mech, 2.0)
    assert mech.counters.passages_exit == 2 and mech.counters.forced == 0
    mech.set_fire(False)
    assert not mech.inputs[IN_FIRE] and not mech.inputs[IN_LEAF_OPEN]
    turnstile, _ = make()
    turnstile.set_fire(True)
    assert turnstile.is_free("exit") and not turnstile.inputs[IN_LEAF_OPEN]


@pytest.mark.parametrize("kind", ["full_height_turnstile", "speed_gate"])
def test_power_loss_drops_outputs_and_follows_fail_mode(kind):
    secure, _ = make(kind, "secure")
    secure.set_output(0, TEMP_ON, 50)
    secure.set_output(2, PERM_ON_ABORT, 0)
    secure.set_power(False)
    assert secure.outputs == (False, False, False)
    assert not secure.is_free("entry") and not secure.is_free("exit")
    secure.set_output(0, PERM_ON_ABORT, 0)  # a dead device ignores commands
    assert not secure.outputs[0]
    safe, _ = make(kind, "safe")
    safe.set_power(False)
    assert safe.is_free("entry") and safe.is_free("exit")
    assert safe.inputs[IN_LEAF_OPEN] == (kind == "speed_gate")
    safe.set_power(True)
    assert not safe.is_free("entry") and not safe.inputs[IN_LEAF_OPEN]


def test_tamper_and_bad_arguments():
    mech, _ = make()
    mech.set_tamper(True)
    assert lines(mech)[-1][1][IN_TAMPER]
    for call in (lambda: mech.walk("sideways"), lambda: mech.walk("entry", 3),
                 lambda: mech.set_output(3, TEMP_ON, 1), lambda: mech.set_output(0, 9, 1),
                 lambda: mech.hold(0)):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        Mechanism("revolving_door", "secure", 5, FakeClock())


# ---- site, keys, actions, scenarios ---------------------------------------------------------

SITE = """
gates:
  - id: g1
    name: Gate one
    kind: full_height_turnstile
    osdp: {address: 1, channel: "tcp://127.0.0.1:9701", scbk_env: TEST_TURNSTILE_SCBK}
  - id: g2
    kind: speed_gate
    fail_mode: safe
    open_seconds: 2.5
    osdp: {address: 2, channel: "tcp://127.0.0.1:9702"}
people:
  - id: p-001
    badges:
      - {number: "10001", format: wiegand26, facility: 12}
      - {number: "99", format: wiegand26, facility: 12}
  - id: p-009
    badges: [{number: "20001", format: h10304, facility: 300}]
  - id: p-000
    badges: []
"""


@pytest.fixture
def site(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text(SITE)
    return load_site(path)


def test_site_gates_and_first_badges(site):
    g2 = site.gates["g2"]
    assert (g2.kind, g2.fail_mode, g2.open_seconds, g2.port, g2.scbk_env) == (
        "speed_gate", "safe", 2.5, 9702, None)
    assert site.gates["g1"].fail_mode == "secure" and site.gates["g1"].open_seconds == 5.0
    assert person_card(site, "p-001").number == 10001
    card = person_card(site, "p-009")
    assert decode_wiegand(card.packed, card.bit_count) == (300, 20001)
    for person in ("p-404", "p-000"):
        with pytest.raises(ValueError, match=person):
            person_card(site, person)


@pytest.mark.parametrize("change,message", [
    (("kind: speed_gate", "kind: revolving"), "kind"),
    (('"tcp://127.0.0.1:9702"', '"/dev/ttyUSB0"'), "channel"),
    (("address: 2", "address: 200"), "address"),
    (("fail_mode: safe", "fail_mode: open"), "fail_mode"),
    (("open_seconds: 2.5", "open_seconds: 0"), "open_seconds"),
    (("id: g2", "id: g1"), "twice"),
])
def test_site_mistakes_are_named(tmp_path, change, message):
    path = tmp_path / "bad.yaml"
    path.write_text(SITE.replace(*change))
    with pytest.raises(ValueError, match=message):
        load_site(path)


def test_keys_come_from_env_then_file_then_are_generated(tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_TURNSTILE_SCBK", raising=False)
    generated = resolve_key("g1", "TEST_TURNSTILE_SCBK", tmp_path / "keys")
    path = tmp_path / "keys" / "g1.scbk"
    assert generated.source == "generated" and len(generated.key) == 16
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = resolve_key("g1", "TEST_TURNSTILE_SCBK", tmp_path / "keys")
    assert (again.source, again.key) == ("file", generated.key)
    assert resolve_key("g2", None, tmp_path / "keys").key != generated.key
    monkeypatch.setenv("TEST_TURNSTILE_SCBK", "00112233445566778899aabbccddeeff")
    from_env = resolve_key("g1", "TEST_TURNSTILE_SCBK", tmp_path / "keys")
    assert (from_env.source, from_env.key.hex()) == ("env", "00112233445566778899aabbccddeeff")
    for bad in ("xyz", "0011", SCBK_D.hex()):
        with pytest.raises(ValueError):
            parse_key(bad, "test")


def test_actions_check_their_fields(site):
    prepare("badge", {"person": "p-001", "reader": "exit"}, site)
    prepare("badge", {"card": {"format": "wiegand34", "facility": 1, "number": 2}}, site)
    prepare("hold", {"seconds": 20}, site)
    prepare("garbage", {}, site)
    bad = [("badge", {}), ("badge", {"person": "p-001", "card": {"number": 1}}),
           ("badge", {"person": "p-404"}), ("pass", {"direction": "up"}), ("pass", {"people": 3}),
           ("hold", {}), ("hold", {"seconds": -1}), ("power", {"on": "no"}), ("fire", {}),
           ("garbage", {"bytes": 0}), ("garbage", {"bytes": 10, "to": "moon"}),
           ("force", {"direction": "entry", "hard": True}), ("enter", {"person": 7})]
    for action, body in bad:
        with pytest.raises(RequestError) as info:
            prepare(action, body, site)
        assert info.value.status == 400, (action, body)
    with pytest.raises(RequestError) as info:
        prepare("teleport", {}, site)
    assert info.value.status == 404


def test_scenario_steps_are_checked_and_sorted(site):
    steps = check_steps([{"at": 3, "gate": "g1", "action": "fire", "on": True},
                         {"at": 1, "gate": "g2", "action": "enter", "person": "p-001"}],
                        site, {"g1": None, "g2": None})
    assert [(s.at, s.action) for s in steps] == [(1.0, "enter"), (3.0, "fire")]
    for raw, message in [([{"gate": "g1", "action": "force"}], "'at'"),
                         ([{"at": 1, "gate": "g9", "action": "force"}], "'gate'"),
                         ([{"at": 1, "gate": "g1"}], "'action'"),
                         ([{"at": 1, "gate": "g1", "action": "enter", "person": "p-404"}],
                          "step 1 .*p-404")]:
        with pytest.raises(ValueError, match=message):
            check_steps(raw, site, {"g1": None, "g2": None})


def test_scenario_yaml_keeps_on_as_a_field_name(site, tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("- {at: 0, gate: g1, action: power, on: false}\n"
                    "- {at: 1, gate: g1, action: fire, on: yes}\n")
    raw = load_scenario(path)
    assert raw[0] == {"at": 0, "gate": "g1", "action": "power", "on": False}
    with pytest.raises(ValueError, match="step 2.*true or false"):
        check_steps(raw, site, {"g1": None})


def test_demo_scenario_fits_the_demo_site():
    from tests.conftest import DEMO_SITE, ROOT
    demo = load_site(DEMO_SITE)
    steps = check_steps(load_scenario(ROOT / "simulators" / "turnstile" / "scenario_demo.yaml"),
                        demo, dict.fromkeys(demo.gates))
    assert {s.action for s in steps} >= {"enter", "exit", "tailgate", "passback", "force", "hold",
                                         "power", "fire", "garbage"}


def test_line_takes_one_panel_at_a_time_and_carries_noise():
    import socket

    from simulators.turnstile.channel import TcpListenChannel
    from tests.conftest import wait_for
    line = TcpListenChannel("127.0.0.1", 0, "test")
    try:
        first = socket.create_connection(("127.0.0.1", line.port))
        first.sendall(b"\x53abc")
        got = wait_for(lambda: line.read(64), timeout=5, interval=0.01, what="the panel's bytes")
        assert got == b"\x53abc" and line.connected
        second = socket.create_connection(("127.0.0.1", line.port))
        wait_for(lambda: line.read(64) == b"" and line.connections == 2, timeout=5, interval=0.01,
                 what="the second panel taken")
        first.settimeout(1)
        assert first.recv(16) == b"", "the replaced panel's link is closed"
        line.inject_noise(to_device=b"\x01\x02", to_panel=b"\xee")
        assert line.noise_pending == 3
        assert line.read(1) == b"\x01" and line.read(64) == b"\x02"
        assert line.write(b"reply") == 5
        second.settimeout(1)
        assert second.recv(16) == b"\xeereply" and line.noise_pending == 0
        second.close()
        wait_for(lambda: line.read(64) == b"" and not line.connected, timeout=5, interval=0.01,
                 what="the panel's close seen")
        assert line.write(b"nobody") == 6, "bytes on an idle line just vanish"
        first.close()
    finally:
        line.close()
