"""The turnstile simulator's HTTP control endpoint, scenarios, and `python -m simulators.turnstile`."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from simulators.turnstile import TurnstileFleet
from tests.conftest import ROOT, free_port, wait_for
from tests.simulators.test_turnstile_osdp import MAIN, Panel, is_card, write_site
from tests.simulators.test_turnstile_units import decode_wiegand


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("turnstile-control")
    fleet = TurnstileFleet(write_site(tmp), keys_dir=tmp / "keys", control_port=0)
    fleet.start()
    yield fleet
    fleet.stop()


@pytest.fixture(scope="module")
def http(fleet):
    with httpx.Client(base_url=fleet.control.url, timeout=10) as client:
        yield client


def test_get_gates_lists_every_gate(http):
    r = http.get("/gates")
    assert r.status_code == 200
    gates = {g["id"]: g for g in r.json()["gates"]}
    assert set(gates) == {"gate-main", "gate-side", "gate-spare"}
    side = gates["gate-side"]
    assert (side["kind"], side["fail_mode"], side["osdp"]["address"]) == ("speed_gate", "safe", 2)
    assert side["inputs"] == {"passage_entry": False, "passage_exit": False, "leaf_open": False,
                              "tamper": False, "fire": False, "beam": False}
    assert side["osdp"]["key"].startswith("generated:")
    assert http.get("/gates/gate-main").json()["kind"] == "full_height_turnstile"


def test_badge_by_person_and_by_raw_card(http):
    r = http.post("/gates/gate-main/badge", json={"person": "p-001"})
    assert r.status_code == 200, r.text
    card = r.json()["card"]
    assert (card["format"], card["bits"]) == ("wiegand26", 26)
    assert decode_wiegand(bytes.fromhex(card["hex"]), 26) == (12, 10001)
    r = http.post("/gates/gate-main/badge", json={
        "card": {"format": "wiegand26", "facility": 12, "number": 345}, "reader": "exit"})
    assert r.json()["reader"] == "exit" and r.json()["card"]["number"] == 345
    snap = http.get("/gates/gate-main").json()
    assert snap["last_card"]["number"] == 345 and snap["cards_read"] >= 2


def test_world_actions(http, fleet):
    assert http.post("/gates/gate-main/pass", json={"direction": "entry"}).json()["result"] == "blocked"
    assert http.post("/gates/gate-main/force", json={}).json()["result"] == "forced"
    assert fleet.gates["gate-main"].wait_idle(3)
    assert http.post("/gates/gate-main/hold", json={"seconds": 1}).json()["result"] == "blocked"
    r = http.post("/gates/gate-side/pass", json={"direction": "exit", "people": 2})
    assert r.json() == {"gate": "gate-side", "action": "pass", "result": "forced", "passed": 2,
                        "blocked": 0}
    assert fleet.gates["gate-side"].wait_idle(3)
    assert http.post("/gates/gate-side/hold", json={"seconds": 0.5}).json()["result"] == "held"
    assert http.get("/gates/gate-side").json()["leaf"] == "open"
    assert http.post("/gates/gate-side/fire", json={"on": True}).json()["fire"] is True
    assert http.get("/gates/gate-side").json()["free"] == {"entry": True, "exit": True}
    http.post("/gates/gate-side/fire", json={"on": False})
    assert http.post("/gates/gate-spare/tamper", json={"on": True}).json()["tamper"] is True
    assert http.get("/gates/gate-spare").json()["inputs"]["tamper"] is True
    r = http.post("/gates/gate-spare/garbage", json={"bytes": 32, "to": "device"})
    assert r.json()["result"] == "injected"


def test_power_off_and_on_over_http(http):
    assert http.post("/gates/gate-spare/power", json={"on": False}).json()["powered"] is False
    wait_for(lambda: not http.get("/gates/gate-spare").json()["osdp"]["up"], timeout=3, interval=0.05,
             what="the device down")
    snap = http.get("/gates/gate-spare").json()
    assert not snap["osdp"]["up"] and not snap["powered"]
    assert http.post("/gates/gate-spare/badge", json={"person": "p-001"}).json()["result"] == "no_power"
    assert http.post("/gates/gate-spare/garbage", json={}).json()["result"] == "no_power"
    http.post("/gates/gate-spare/power", json={"on": True})
    wait_for(lambda: http.get("/gates/gate-spare").json()["osdp"]["up"], timeout=3, interval=0.05,
             what="the device up again")
    assert http.get("/gates/gate-spare").json()["osdp"]["boots"] == 2


@pytest.mark.parametrize("method,path,body,status,message", [
    ("POST", "/gates/gate-x/badge", {"person": "p-001"}, 404, "no gate"),
    ("POST", "/gates/gate-main/teleport", {}, 404, "no action"),
    ("POST", "/gates/gate-main/badge", {}, 400, "exactly one of"),
    ("POST", "/gates/gate-main/badge", {"person": "p-404"}, 400, "p-404"),
    ("POST", "/gates/gate-main/badge", {"card": {"format": "wiegand26", "facility": 300,
                                                  "number": 1}}, 400, "facility"),
    ("POST", "/gates/gate-main/pass", {"direction": "up"}, 400, "direction"),
    ("POST", "/gates/gate-main/pass", {"people": 3}, 400, "people"),
    ("POST", "/gates/gate-main/hold", {}, 400, "seconds"),
    ("POST", "/gates/gate-main/power", {"on": "off"}, 400, "true or false"),
    ("POST", "/gates/gate-main/garbage", {"bytes": 0}, 400, "bytes"),
    ("POST", "/gates/gate-main/force", {"push": True}, 400, "unknown field"),
    ("GET", "/gates/gate-main/badge", None, 405, "not supported"),
    ("GET", "/nothing", None, 404, "not supported"),
])
def test_bad_requests_get_clear_errors(http, method, path, body, status, message):
    r = http.request(method, path, json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["error"]


def test_malformed_bodies(http):
    r = http.post("/gates/gate-main/badge", content=b"{not json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = http.post("/gates/gate-main/badge", content=b"[1, 2]")
    assert r.status_code == 400 and "JSON object" in r.json()["error"]
    r = http.post("/gates/gate-main/badge", content=b"x" * (70 * 1024))
    assert r.status_code == 413
    assert http.get("/gates").status_code == 200, "still serving after bad requests"


def test_scenario_runs_its_steps_in_time(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "steps:\n"
        "  - {at: 0.1, gate: gate-side, action: badge, card: {format: wiegand34, facility: 1, number: 2}}\n"
        "  - {at: 0.2, gate: gate-main, action: enter, person: p-001, wait: 0.3}\n"
        "  - {at: 0.3, gate: gate-side, action: fire, on: true}\n"
        "  - {at: 0.5, gate: gate-side, action: tailgate, person: p-009}\n"
        "  - {at: 1.8, gate: gate-side, action: fire, on: false}\n"
        "  - {at: 0.4, gate: gate-main, action: force, direction: exit}\n")
    fleet = TurnstileFleet(write_site(tmp_path), keys_dir=tmp_path / "keys", control_port=0,
                           scenario=scenario)
    fleet.start()
    try:
        assert fleet.scenario_runner.wait(10)
        steps = httpx.get(f"{fleet.control.url}/scenario").json()
    finally:
        fleet.stop()
    assert steps["finished"]
    by_action = {s["action"]: s for s in steps["steps"]}
    assert [s["at"] for s in steps["steps"]] == sorted(s["at"] for s in steps["steps"])
    assert by_action["badge"]["result"]["result"] == "read"
    assert by_action["enter"]["result"]["result"] == "no_grant"  # no panel granted anything
    # The fire opened the lane: two people walk through, neither is a tailgater.
    assert by_action["tailgate"]["result"]["result"] == "passed"
    assert by_action["tailgate"]["result"]["passed"] == 2
    assert by_action["force"]["result"]["result"] == "forced"
    side = fleet.gates["gate-side"].snapshot()
    assert side["counters"]["beam_breaks"] == 2 and side["counters"]["passages_entry"] == 2
    assert not side["fire"]


def test_bad_scenario_is_refused_before_anything_starts(tmp_path):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("- {at: 1, gate: gate-main, action: enter, person: p-404}\n")
    with pytest.raises(ValueError, match="step 1.*p-404"):
        TurnstileFleet(write_site(tmp_path), keys_dir=tmp_path / "keys", scenario=scenario)


# ---- the CLI ---------------------------------------------------------------------------------

def _lines(proc: subprocess.Popen) -> "queue.Queue[str]":
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [q.put(line) for line in proc.stdout], daemon=True).start()
    return q


def test_cli_runs_until_sigterm_and_speaks_osdp(tmp_path):
    site, keys, control = write_site(tmp_path), tmp_path / "keys", free_port()
    env = {**os.environ, "SIDE_SCBK": "00112233445566778899aabbccddeeff"}
    site.write_text(site.read_text().replace("address: 2,", "address: 2, scbk_env: SIDE_SCBK,"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.turnstile", "--site", str(site), "--keys", str(keys),
         "--gates", "gate-main,gate-side", "--control-port", str(control)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines, printed, deadline = _lines(proc), [], time.monotonic() + 20
        while not any(p.startswith("fleet ") for p in printed) and time.monotonic() < deadline:
            try:
                printed.append(lines.get(timeout=0.5).strip())
            except queue.Empty:
                continue
        assert printed and printed[-1].startswith("fleet "), f"no ready line; got {printed}"
        assert printed[0] == (f"gate-main generated a new SCBK in {keys / 'gate-main.scbk'}; "
                              f"give the control panel the same key")
        assert any(p.startswith("gate-main kind=full_height_turnstile osdp=tcp://127.0.0.1:")
                   and p.endswith(" ready") for p in printed)
        assert any(p.startswith("gate-side kind=speed_gate") and "key=env:SIDE_SCBK" in p
                   for p in printed)
        assert f"control=http://127.0.0.1:{control}" in printed[-1] and printed[-1].endswith("ready")
        main_key = (keys / "gate-main.scbk").read_text().strip()
        assert len(bytes.fromhex(main_key)) == 16
        assert not (keys / "gate-side.scbk").exists(), "an environment key is not written out"
        gates = httpx.get(f"http://127.0.0.1:{control}/gates").json()["gates"]
        assert {g["id"]: g["osdp"]["key"] for g in gates} == {
            "gate-main": f"generated:{keys / 'gate-main.scbk'}", "gate-side": "env:SIDE_SCBK"}
        port = next(g for g in gates if g["id"] == "gate-main")["osdp"]["channel"].rsplit(":", 1)[1]
        panel = Panel({MAIN: (int(port), bytes.fromhex(main_key))}).start()
        try:
            assert panel.secure(MAIN), "a panel with the key from the key file gets a session"
            r = httpx.post(f"http://127.0.0.1:{control}/gates/gate-main/badge",
                           json={"person": "p-001"})
            assert r.status_code == 200
            got = panel.wait_for(MAIN, is_card)
            assert got and decode_wiegand(got[1]["data"], got[1]["length"]) == (12, 10001)
        finally:
            panel.stop()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("args,message", [
    (["--gates", "gate-nope"], "gate-nope"),
    (["--scenario", "/nonexistent/scenario.yaml"], "cannot read scenario"),
])
def test_cli_refuses_bad_input_with_exit_code_2(tmp_path, args, message):
    site = write_site(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "simulators.turnstile", "--site", str(site), "--keys",
         str(tmp_path / "keys"), "--control-port", "-1", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_cli_reports_a_taken_port(tmp_path):
    import socket
    site = write_site(tmp_path)
    port = int(site.read_text().split("tcp://127.0.0.1:")[1].split('"')[0])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        proc = subprocess.run(
            [sys.executable, "-m", "simulators.turnstile", "--site", str(site), "--keys",
             str(tmp_path / "keys"), "--control-port", "-1"],
            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert f"gate-main: cannot listen on tcp://127.0.0.1:{port}" in proc.stderr
