"""A gate's lasting conditions (offline, line noise, door held …) are raised once and cleared
once, across a restart of the edge too, because the edge store keeps which alarms are up."""
from __future__ import annotations

import json

from access_control import osdp_panel as p
from edge_agent.gates import GateService
from edge_agent.store import EdgeStore
from edge_agent.wire.site import load_site_file
from tests.conftest import DEMO_SITE


class QuietPanel:
    """No OSDP line: the test hands the service the panel's events itself."""

    def __init__(self, links, on_event) -> None:
        self.links = links

    def start(self) -> None: ...

    def stop(self) -> None: ...


def gate_alarms(store: EdgeStore) -> list[tuple[str, str]]:
    rows = store._db.execute("SELECT kind, data FROM outbox ORDER BY seq").fetchall()
    return [(kind, json.loads(data).get("state", "raised")) for kind, data in rows
            if kind.startswith("alarm.")]


def service(store: EdgeStore, tmp_path) -> GateService:
    config = load_site_file(DEMO_SITE)
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    for gate in config.gates:
        (keys / f"{gate.id}.scbk").write_text("00" * 16)
    return GateService(config, store, keys, panel_factory=QuietPanel)


def test_offline_is_raised_once_and_cleared_after_a_restart(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gates = service(store, tmp_path)
    gate = next(iter(gates.gates))
    gates._on_event(gate, p.Offline(monotonic=1.0, wall=1.0, reason="no reply"))
    gates._on_event(gate, p.Offline(monotonic=2.0, wall=2.0, reason="no reply"))
    gates._on_event(gate, p.LineNoise(monotonic=2.0, wall=2.0, noise_bytes=9, bad_frames=1, frames=3))
    gates._on_event(gate, p.LineNoise(monotonic=3.0, wall=3.0, noise_bytes=9, bad_frames=1, frames=3))
    assert gate_alarms(store) == [("alarm.gate_offline", "raised"), ("alarm.osdp_line_noise", "raised")]

    restarted = service(EdgeStore(tmp_path / "edge.db"), tmp_path)  # same file, new process
    restarted._on_event(gate, p.Online(monotonic=1.0, wall=9.0, sc_active=True))
    restarted._on_event(gate, p.LineClean(monotonic=1.0, wall=9.0, quiet_s=30))
    restarted._on_event(gate, p.Online(monotonic=2.0, wall=10.0, sc_active=True))
    assert gate_alarms(restarted.outbox)[2:] == [("alarm.gate_offline", "cleared"),
                                                 ("alarm.osdp_line_noise", "cleared")]


def test_nothing_is_cleared_that_was_never_raised(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    gates = service(store, tmp_path)
    gate = next(iter(gates.gates))
    gates._on_event(gate, p.Online(monotonic=1.0, wall=1.0, sc_active=True))
    gates._on_event(gate, p.LineClean(monotonic=1.0, wall=1.0, quiet_s=30))
    assert gate_alarms(store) == []
