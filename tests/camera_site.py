"""A whole small camera site for tests: simulated cameras, controller, edge agent with video."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from tests.conftest import DEMO_SITE, ROOT, ControllerRig, free_port, make_agent, wait_for

CAMERAS = ("cam-01", "cam-02")


def small_site(tmp: Path) -> Path:
    """The demo site cut to two cameras on free ports, 4-second segments, storage in tmp."""
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"] = [c for c in doc["cameras"] if c["id"] in CAMERAS]
    for c in doc["cameras"]:
        c["onvif_port"] = free_port()
    doc["seats"] = [s for s in doc["seats"] if all(v["camera"] in CAMERAS for v in s["views"])]
    doc["retention"]["segment_seconds"] = 4
    doc["retention"]["storage_path"] = str(tmp / "recordings")
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Fleet:
    def __init__(self, tmp: Path, site: Path) -> None:
        self.control = f"http://127.0.0.1:{free_port()}"
        port = self.control.rsplit(":", 1)[1]
        self.log = open(tmp / "cameras.log", "ab")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "simulators.camera", "--site", str(site), "--control-port", port,
             "--rtsp-port-offset", "-10000", "--no-discovery"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=60, what="camera simulators ready")

    def _up(self) -> bool:
        if self.p.poll() is not None:
            raise AssertionError("camera simulator exited")
        try:
            return httpx.get(self.control + "/cameras", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def fault(self, camera: str, fault: str | None) -> None:
        r = httpx.post(f"{self.control}/cameras/{camera}/fault", json={"fault": fault}, timeout=5)
        assert r.status_code == 200, r.text

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def start_camera_site(tmp: Path) -> dict:
    """Everything running; stop it with stop_camera_site(ctx)."""
    site_file = small_site(tmp)
    fleet = Fleet(tmp, site_file)
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}", site=site_file).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig, video=True, site=site_file).start()
    officer = rig.client("off", "off-pass")
    wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), timeout=60,
             what="edge agent online")
    return {"tmp": tmp, "fleet": fleet, "rig": rig, "agent": agent, "officer": officer,
            "site_id": officer.get("/api/sites").json()[0]["id"]}


def stop_camera_site(ctx: dict) -> None:
    ctx["agent"].stop()
    ctx["rig"].proc.stop()
    ctx["fleet"].stop()


