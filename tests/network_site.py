"""A network site for tests: simulated switches (their public CLI), controller, edge agent, and
the customers' approval keys (kept here, as a customer would keep them)."""
from __future__ import annotations

import base64
from pathlib import Path

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from network_policy.approval import public_key_text
from tests.conftest import DEMO_SITE, ControllerRig, SimulatorProcess, free_port, make_agent, wait_for


class Switches(SimulatorProcess):
    def __init__(self, tmp: Path, site: Path) -> None:
        super().__init__(tmp, "simulators.switch", ["--site", str(site)], "/switches", "switches", timeout=30)

    def command_log(self, switch: str) -> list[dict]:
        return httpx.get(f"{self.control}/switches/{switch}/log", timeout=30).json()["entries"]

    def config_lines(self, switch: str) -> list[str]:
        """Lines the switch received in configuration mode: what a change actually sent."""
        return [e["line"] for e in self.command_log(switch) if e["config"] and e["line"].strip()]


def network_site(tmp: Path, keys: dict[str, Ed25519PrivateKey]) -> Path:
    doc = yaml.safe_load(DEMO_SITE.read_text())
    doc["cameras"], doc["seats"], doc["gates"] = [], [], []
    for area in doc.get("areas") or []:  # its floor plan names cameras left out here
        area.pop("floor_plan", None)
    for c in doc["customers"]:
        c["approval_public_key"] = public_key_text(keys[c["id"]].public_key())
    for s in doc["switches"]:
        s["port"] = free_port()
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def sign_digest(key: Ed25519PrivateKey, digest_hex: str) -> str:
    return base64.b64encode(key.sign(bytes.fromhex(digest_hex))).decode()


def start_network_site(tmp: Path, database_url: str | None = None, workers: int = 1) -> dict:
    """The site on SQLite in one process, or on ``database_url`` with ``workers`` HTTP workers."""
    keys = {"acme": Ed25519PrivateKey.generate(), "borealis": Ed25519PrivateKey.generate()}
    site_file = network_site(tmp, keys)
    switches = Switches(tmp, site_file)
    rig = ControllerRig(tmp, database_url or f"sqlite:///{tmp / 'controller.db'}", site=site_file,
                        workers=workers).start()
    rig.seed_users({"off": ("officer", None), "acme1": ("customer", "acme"), "bor1": ("customer", "borealis")})
    agent = make_agent(tmp, rig, site=site_file, network=True).start()
    officer = rig.client("off", "off-pass")
    sid = officer.get("/api/sites").json()[0]["id"]
    wait_for(lambda: any(a["online"] for a in officer.get("/api/agents").json()), timeout=60, what="agent online")
    return {"tmp": tmp, "keys": keys, "switches": switches, "rig": rig, "agent": agent, "officer": officer,
            "acme": rig.client("acme1", "acme1-pass"), "borealis": rig.client("bor1", "bor1-pass"), "sid": sid,
            "site_file": site_file}


def stop_network_site(ctx: dict) -> None:
    ctx["agent"].stop()
    ctx["rig"].proc.stop()
    ctx["switches"].stop()
