"""A whole small camera site for tests: simulated cameras, controller, edge agent with video."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from tests.conftest import DEMO_SITE, ControllerRig, SimulatorProcess, free_port, make_agent, wait_for

CAMERAS = ("cam-01", "cam-02")


def small_site(tmp: Path, edit: Callable[[dict], None] | None = None) -> Path:
    """The demo site cut to two cameras on free ports, 4-second segments, storage in tmp;
    ``edit`` may change the document further before it is written."""
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"] = [c for c in doc["cameras"] if c["id"] in CAMERAS]
    for area in doc.get("areas") or []:  # its floor plan names cameras left out here
        area.pop("floor_plan", None)
    for c in doc["cameras"]:
        c["onvif_port"] = free_port()
    doc["seats"] = [s for s in doc["seats"] if all(v["camera"] in CAMERAS for v in s["views"])]
    for gate in doc["gates"]:  # the gate camera is not among them
        gate.pop("camera", None)
        gate.pop("lane", None)
    doc["retention"]["segment_seconds"] = 4
    doc["retention"]["storage_path"] = str(tmp / "recordings")
    doc["coverage"] = {"check_seconds": 2}
    if edit is not None:
        edit(doc)
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Fleet(SimulatorProcess):
    def __init__(self, tmp: Path, site: Path) -> None:
        super().__init__(tmp, "simulators.camera", ["--site", str(site), "--rtsp-port-offset", "-10000",
                                                    "--no-discovery"], "/cameras", "cameras")

    def fault(self, camera: str, fault: str | None) -> None:
        self.post(f"/cameras/{camera}/fault", {"fault": fault})

    def seat(self, camera: str, seat: str, **change) -> None:
        """{"state": "auto"|"occupied"|"empty"} and/or {"occluded": bool} for one seat."""
        self.post(f"/cameras/{camera}/seats/{seat}", change)


def start_camera_site(tmp: Path, database_url: str | None = None, workers: int = 1,
                      edit: Callable[[dict], None] | None = None) -> dict:
    """Everything running, on SQLite in one process or on ``database_url`` with ``workers`` HTTP
    workers, on small_site(tmp, edit); stop it with stop_camera_site(ctx)."""
    site_file = small_site(tmp, edit)
    fleet = Fleet(tmp, site_file)
    rig = ControllerRig(tmp, database_url or f"sqlite:///{tmp / 'controller.db'}", site=site_file,
                        workers=workers)
    agent = None
    try:
        rig.start()
        rig.seed_users({"off": ("officer", None)})
        agent = make_agent(tmp, rig, video=True, site=site_file).start()
        officer = rig.client("off", "off-pass")
        wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), timeout=60,
                 what="edge agent online")
        return {"tmp": tmp, "fleet": fleet, "rig": rig, "agent": agent, "officer": officer,
                "site_id": officer.get("/api/sites").json()[0]["id"]}
    except BaseException:  # a site that does not come up leaves nothing running
        if agent is not None:
            agent.stop()
        rig.proc.stop()
        fleet.stop()
        raise


def stop_camera_site(ctx: dict) -> None:
    ctx["agent"].stop()
    ctx["rig"].proc.stop()
    ctx["fleet"].stop()


