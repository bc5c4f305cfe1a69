"""`python -m simulators.camera` as a separate process, the way the demo and lab tests run it."""
from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
from onvif import ONVIFCamera

from tests.conftest import free_port, wait_for
from tests.simulators.test_onvif_camera import (
    PASSWORD, ROOT, RTSP_OFFSET, USER, WSDL_DIR, free_udp_port, make_site, refused)


def _lines(proc: subprocess.Popen) -> "queue.Queue[str]":
    q: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [q.put(line) for line in proc.stdout], daemon=True).start()
    return q


def test_cli_runs_cameras_until_sigterm(tmp_path):
    site = make_site(tmp_path, ("cam-01", "cam-02"))
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("- {at: 0.5, camera: cam-02, fault: stall}\n")
    control = free_port()
    log = open(tmp_path / "stderr.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulators.camera", "--site", str(site), "--cameras", "cam-01,cam-02",
         "--rtsp-port-offset", str(RTSP_OFFSET), "--control-port", str(control),
         "--discovery-port", str(free_udp_port()), "--scenario", str(scenario),
         "--main-fps", "8", "--sub-fps", "4"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        lines, ready, deadline = _lines(proc), {}, time.monotonic() + 30
        while "fleet" not in ready and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.5)
            except queue.Empty:
                assert proc.poll() is None, (tmp_path / "stderr.log").read_text()
                continue
            if line.rstrip().endswith(" ready"):
                ready[line.split()[0]] = line
        assert set(ready) == {"cam-01", "cam-02", "fleet"}, (tmp_path / "stderr.log").read_text()
        m = re.match(r"cam-01 onvif=http://127\.0\.0\.1:(\d+)/onvif/device_service "
                     r"rtsp_main=rtsp://127\.0\.0\.1:(\d+)/main rtsp_sub=\S+ ready", ready["cam-01"])
        assert m, ready["cam-01"]
        onvif_port, rtsp_port = int(m[1]), int(m[2])
        assert rtsp_port == onvif_port + RTSP_OFFSET
        assert f"control=http://127.0.0.1:{control}" in ready["fleet"]

        client = ONVIFCamera("127.0.0.1", onvif_port, USER, PASSWORD, WSDL_DIR)
        media = client.create_media_service()
        token = media.GetProfiles()[0].token
        uri = media.GetStreamUri({"StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}},
                                  "ProfileToken": token}).Uri
        assert uri == f"rtsp://127.0.0.1:{rtsp_port}/main"

        api = f"http://127.0.0.1:{control}"
        wait_for(lambda: httpx.get(f"{api}/cameras/cam-02").json()["fault"] == "stall", timeout=10,
                 what="the scenario's stall on cam-02")
        assert httpx.get(f"{api}/cameras/cam-01").json()["fault"] is None

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert refused("127.0.0.1", onvif_port) and refused("127.0.0.1", rtsp_port)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()


def test_cli_refuses_a_bad_camera_list(tmp_path):
    site = make_site(tmp_path, ("cam-01",))
    r = subprocess.run([sys.executable, "-m", "simulators.camera", "--site", str(site),
                        "--cameras", "cam-01,cam-99", "--control-port", "0"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "no camera cam-99" in r.stderr
