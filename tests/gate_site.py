"""A small gate site for tests: simulated turnstiles, controller, edge agent with gates."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from tests.conftest import DEMO_SITE, ControllerRig, SimulatorProcess, free_port, make_agent, wait_for


def closed_now(tz: str) -> str:
    """A daily one-hour window that starts three hours from now on the site's clock."""
    start = dt.datetime.now(ZoneInfo(tz)) + dt.timedelta(hours=3)
    return f"{start:%H}:00-{(start + dt.timedelta(hours=1)):%H}:00"


def gate_site(tmp: Path) -> Path:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"], doc["seats"] = [], []
    for area in doc.get("areas") or []:  # its floor plan names cameras left out here
        area.pop("floor_plan", None)
    # Staff may use the side gate only in a window that is closed while the tests run.
    doc["schedules"].append({"id": "closed-now", "windows": [
        {"days": "mon-sun", "time": closed_now(doc["site"]["timezone"])}]})
    side = next(g for g in doc["gates"] if g["id"] == "gate-side")
    side["access"]["schedules"]["staff"] = "closed-now"
    for gate in doc["gates"]:
        gate["osdp"]["channel"] = f"tcp://127.0.0.1:{free_port()}"
        gate.pop("camera", None)
        gate.pop("lane", None)
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class Gates(SimulatorProcess):
    def __init__(self, tmp: Path, site: Path) -> None:
        self.keys = tmp / "osdp-keys"
        super().__init__(tmp, "simulators.turnstile", ["--site", str(site), "--keys", str(self.keys)],
                         "/gates", "gates", timeout=30)

    def act(self, gate: str, action: str, **body) -> dict:
        return self.post(f"/gates/{gate}/{action}", body)


def start_gate_site(tmp: Path, database_url: str | None = None, workers: int = 1) -> dict:
    """The site on SQLite in one process, or on ``database_url`` with ``workers`` HTTP workers."""
    site_file = gate_site(tmp)
    gates = Gates(tmp, site_file)
    rig = ControllerRig(tmp, database_url or f"sqlite:///{tmp / 'controller.db'}", site=site_file,
                        workers=workers).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig, site=site_file, gates=True, osdp_keys=gates.keys).start()
    officer = rig.client("off", "off-pass")
    sid = officer.get("/api/sites").json()[0]["id"]
    wait_for(lambda: all(g["online"] for g in officer.get(f"/api/sites/{sid}/gates").json()),
             timeout=60, what="both gates online over OSDP secure channel")
    return {"tmp": tmp, "gates": gates, "rig": rig, "agent": agent, "officer": officer, "sid": sid}


def stop_gate_site(ctx: dict) -> None:
    ctx["agent"].stop()
    ctx["rig"].proc.stop()
    ctx["gates"].stop()
