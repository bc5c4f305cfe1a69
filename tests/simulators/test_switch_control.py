"""The switch simulator's HTTP control endpoint and `python -m simulators.switch`."""
from __future__ import annotations

import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import paramiko
import pytest
from netmiko import ConnectHandler

from simulators.switch import SwitchFleet, SwitchSpec
from tests.conftest import DEMO_SITE, ROOT, free_port


@pytest.fixture(scope="module")
def fleet():
    fleet = SwitchFleet(specs=[SwitchSpec.make("sw-a", "cisco_ios", ports=4),
                               SwitchSpec.make("sw-b", "huawei", ports=4)], control_port=0)
    fleet.start()
    yield fleet
    fleet.stop()


@pytest.fixture
def http(fleet):
    for sw in fleet.switches.values():
        assert sw.wait_idle()
        sw.faults.set("clear", {})
        sw.set_running("", save=True)
        sw.clear_log()
    with httpx.Client(base_url=fleet.control.url, timeout=10) as client:
        yield client


def test_lists_every_switch(http, fleet):
    listed = {s["id"]: s for s in http.get("/switches").json()["switches"]}
    assert set(listed) == {"sw-a", "sw-b"}
    a = listed["sw-a"]
    assert (a["vendor"], a["hostname"], a["port"]) == ("cisco_ios", "Switch",
                                                       fleet.switches["sw-a"].port)
    assert a["port"] > 0 and a["sessions"] == 0 and a["faults"]["drop_after"] is None
    assert http.get("/switches/sw-b").json()["hostname"] == "HUAWEI"


def test_running_config_can_be_set_read_saved_and_reloaded(http, fleet):
    r = http.put("/switches/sw-a/running-config",
                 json={"text": "hostname lab\nvlan 10\n name ten\ninterface Gi0/9\n"})
    assert r.status_code == 200
    assert r.json()["refused"] == ["interface Gi0/9: % Invalid input detected at '^' marker."]
    text = http.get("/switches/sw-a/running-config").json()["text"]
    assert "hostname lab\n" in text and "vlan 10\n name ten\n!" in text
    assert "vlan 10" not in http.get("/switches/sw-a/saved-config").json()["text"]
    http.post("/switches/sw-a/reload")
    assert "hostname Switch\n" in http.get("/switches/sw-a/running-config").json()["text"]
    http.put("/switches/sw-b/running-config",
             json={"text": "sysname floor\n#\nvlan batch 20\n#\nreturn\n", "save": True})
    assert "vlan batch 20" in http.get("/switches/sw-b/saved-config").json()["text"]
    state = http.get("/switches/sw-b/state").json()
    assert state["running"] == state["saved"] and state["running"]["hostname"] == "floor"
    state["running"]["hostname"] = "copied"
    r = http.put("/switches/sw-b/running-config", json={"state": state["running"]})
    assert r.json()["refused"] == [] and "sysname copied" in r.json()["text"]
    assert fleet.switches["sw-b"].running.vlans == {1: None, 20: None}


def test_command_log_over_http(http, fleet):
    sw = fleet.switches["sw-a"]
    conn = ConnectHandler(**sw.netmiko_params())
    conn.send_config_set(["vlan 7"])
    conn.disconnect()
    assert sw.wait_idle()
    entries = http.get("/switches/sw-a/log").json()["entries"]
    lines = [e["line"] for e in entries if e["line"]]
    assert lines[:5] == ["terminal width 511", "terminal length 0", "configure terminal",
                         "vlan 7", "end"]
    assert {"ts", "session", "user", "mode", "config", "line", "switch"} <= set(entries[0])
    assert len(http.get("/switches/sw-a/log?clear=1").json()["entries"]) == len(entries)
    assert http.get("/switches/sw-a/log").json()["entries"] == []
    sw.record(sw.new_session("x"), "probe")
    assert http.delete("/switches/sw-a/log").json()["cleared"] is True
    assert sw.command_log == []


def test_faults_over_http(http, fleet):
    r = http.post("/switches/sw-b/faults", json={"fault": "slow", "seconds": 0.5})
    assert r.status_code == 200 and r.json()["slow"] == 0.5
    http.post("/switches/sw-b/faults", json={"fault": "reject", "match": "^acl"})
    r = http.post("/switches/sw-b/faults", json={"fault": "drop_after", "lines": 4})
    assert (r.json()["drop_after"], r.json()["reject"]) == (4, ["^acl"])
    assert http.get("/switches/sw-b/faults").json()["slow"] == 0.5
    sw = fleet.switches["sw-b"]
    assert sw.faults.rejects("acl number 3001") and not sw.faults.rejects("vlan 2")
    r = http.post("/switches/sw-b/faults", json={"fault": "clear"})
    assert (r.json()["slow"], r.json()["drop_after"], r.json()["reject"]) == (0.0, None, [])
    http.post("/switches/sw-b/faults", json={"fault": "slow", "seconds": 1})
    assert http.delete("/switches/sw-b/faults").json()["slow"] == 0.0


def test_nft_export_over_http(http):
    http.put("/switches/sw-a/running-config", json={"text": (
        "interface Vlan110\n ip address 10.110.0.1 255.255.255.0\n ip access-group A in\n"
        "ip access-list extended A\n permit ip any host 10.120.0.5\n")})
    text = http.get("/switches/sw-a/nft?if=110:eth1").json()["text"]
    assert 'iifname "eth1" jump in_vlan110' in text
    assert 'ip daddr 10.120.0.5 return comment "A 10 permit"' in text
    assert http.get("/switches/sw-a/nft?if=eth1").status_code == 400


@pytest.mark.parametrize("method,path,body,status,message", [
    ("GET", "/switches/nope", None, 404, "no switch 'nope'"),
    ("GET", "/nowhere", None, 404, "not supported"),
    ("POST", "/switches/sw-a/log", None, 405, "not supported"),
    ("GET", "/switches/sw-a/bogus", None, 404, "not supported"),
    ("POST", "/switches/sw-a/faults", {"fault": "explode"}, 400, "no fault 'explode'"),
    ("POST", "/switches/sw-a/faults", {"fault": "slow"}, 400, "seconds"),
    ("POST", "/switches/sw-a/faults", {"seconds": 1}, 400, "'fault' must be"),
    ("PUT", "/switches/sw-a/running-config", {}, 400, "give either"),
    ("PUT", "/switches/sw-a/running-config", {"state": {"vendor": "huawei"}}, 400, "unusable"),
])
def test_bad_requests_get_clear_errors(http, method, path, body, status, message):
    r = http.request(method, path, json=body)
    assert r.status_code == status
    assert message in r.json()["error"]


def test_malformed_body(http):
    r = http.post("/switches/sw-a/faults", content=b"{nope",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]


def test_site_fleet_on_ephemeral_ports():
    with SwitchFleet(DEMO_SITE, ephemeral=True) as fleet:
        core, floor = fleet.switches["sw-core"], fleet.switches["sw-floor"]
        assert core.port not in (0, 2201) and floor.port not in (0, 2202)
        assert fleet.control is None
        conn = ConnectHandler(**core.netmiko_params())
        try:
            assert conn.find_prompt() == "sw-core#"
        finally:
            conn.disconnect()


# ---- python -m simulators.switch ------------------------------------------------------------

def write_site(tmp_path) -> tuple:
    """The demo site with its two switches moved to free ports."""
    core, floor = free_port(), free_port()
    text = DEMO_SITE.read_text()
    assert "port: 2201" in text and "port: 2202" in text
    path = tmp_path / "site.yaml"
    path.write_text(text.replace("port: 2201", f"port: {core}")
                    .replace("port: 2202", f"port: {floor}"))
    return path, core, floor


def _start(args: list[str]) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "simulators.switch", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: "queue.Queue[str]" = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stdout], daemon=True).start()
    printed, deadline = [], time.monotonic() + 20
    while not any(p.startswith("fleet ") for p in printed) and time.monotonic() < deadline:
        try:
            printed.append(lines.get(timeout=0.5).strip())
        except queue.Empty:
            if proc.poll() is not None:
                break
    assert printed and printed[-1].startswith("fleet "), \
        f"no ready line; got {printed} {proc.stderr.read() if proc.poll() is not None else ''}"
    return proc, printed


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def _host_key(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        t = paramiko.Transport(sock)
        try:
            t.start_client(timeout=5)
            return t.get_remote_server_key().get_base64()
        finally:
            t.close()


def test_cli_serves_the_site_and_keeps_saved_config_across_restarts(tmp_path):
    site, core, floor = write_site(tmp_path)
    control, state = free_port(), tmp_path / "state"
    args = ["--site", str(site), "--control-port", str(control), "--state-dir", str(state),
            "--command-log", str(tmp_path / "commands.jsonl")]
    proc, printed = _start(args)
    try:
        assert printed[0] == (f"sw-core vendor=cisco_ios ssh=127.0.0.1:{core} user=admin "
                              f"hostname=sw-core ready")
        assert printed[1] == (f"sw-floor vendor=huawei ssh=127.0.0.1:{floor} user=admin "
                              f"hostname=sw-floor ready")
        assert printed[2] == f"fleet control=http://127.0.0.1:{control} ready"
        key = _host_key(core)
        conn = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=core,
                              username="admin", password="demo-switch")
        try:
            assert "sw-core#" == conn.find_prompt()
            conn.send_config_set(["vlan 110", "name acme-annotation"])
            conn.save_config()
            conn.send_config_set(["vlan 999"])  # running only: gone after a restart
            ports = conn.send_command("show interfaces status")
            assert "Gi1/0/1 " in ports and "Gi1/0/24" in ports and "Gi1/0/25" not in ports
        finally:
            conn.disconnect()
        assert _stop(proc) == 0
        assert (state / "sw-core.json").exists() and (state / "ssh_host_ecdsa_key").exists()
        assert '"line": "vlan 110"' in (tmp_path / "commands.jsonl").read_text()

        proc, printed = _start(args)
        assert _host_key(core) == key, "the host key is kept in the state directory"
        text = httpx.get(f"http://127.0.0.1:{control}/switches/sw-core/running-config").json()
        assert "vlan 110\n name acme-annotation\n!" in text["text"]
        assert "vlan 999" not in text["text"]
    finally:
        assert _stop(proc) == 0


@pytest.mark.parametrize("extra,message", [
    (["--switches", "sw-nope"], "sw-nope"),
    (["--port-offset", "70000"], "not a TCP port"),
])
def test_cli_refuses_bad_input_with_exit_code_2(tmp_path, extra, message):
    site, _, _ = write_site(tmp_path)
    res = subprocess.run([sys.executable, "-m", "simulators.switch", "--site", str(site),
                          "--control-port", "-1", *extra], cwd=ROOT, capture_output=True,
                         text=True, timeout=30)
    assert res.returncode == 2 and message in res.stderr


def test_cli_reports_a_taken_port(tmp_path):
    site, core, _ = write_site(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", core))
        s.listen(1)
        res = subprocess.run([sys.executable, "-m", "simulators.switch", "--site", str(site),
                              "--control-port", "-1"], cwd=ROOT, capture_output=True, text=True,
                             timeout=30)
    assert res.returncode == 2
    assert f"switch sw-core: cannot listen on 127.0.0.1:{core}" in res.stderr
