"""The simulated gates of a site, run together, with their control endpoint and scenario.

    fleet = TurnstileFleet("simulators/sites/demo.yaml", keys_dir=tmp, control_port=0)
    fleet.start()
    fleet.gates["gate-main"].present_card(...)
    fleet.stop()

Keys are resolved (and generated where missing) when the fleet is built, so `fleet.keys` can be
handed to a control panel before anything listens.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

import osdp

from .control import ControlServer
from .device import SimulatedGate
from .keys import GateKey, resolve_key
from .mechanism import Timing
from .scenarios import ScenarioRunner, check_steps, load_scenario
from .site_view import load_site

log = logging.getLogger("simulators.turnstile.fleet")


class TurnstileFleet:
    def __init__(self, site_path: str | Path, gates: list[str] | None = None,
                 keys_dir: str | Path | None = None, control_port: int | None = None,
                 control_host: str = "127.0.0.1", scenario: str | Path | list | None = None,
                 timing: Timing = Timing(), clock: Callable[[], float] = time.monotonic,
                 osdp_log_level: int = osdp.LogLevel.Error) -> None:
        self.site = load_site(site_path)
        if not self.site.gates:
            raise ValueError(f"{site_path}: the site file has no gates")
        wanted = list(self.site.gates) if gates is None else list(gates)
        unknown = [g for g in wanted if g not in self.site.gates]
        if unknown or not wanted:
            raise ValueError(f"no gate(s) {', '.join(unknown) or '(none given)'} in {site_path}; "
                             f"gates: {', '.join(self.site.gates)}")
        keys: dict[str, GateKey] = {}
        for gid in wanted:
            spec = self.site.gates[gid]
            try:
                keys[gid] = resolve_key(gid, spec.scbk_env, keys_dir)
            except ValueError as exc:
                raise ValueError(f"gate {gid}: {exc}") from None
        self.gates: dict[str, SimulatedGate] = {
            gid: SimulatedGate(self.site.gates[gid], keys[gid], clock=clock, timing=timing,
                               osdp_log_level=osdp_log_level)
            for gid in wanted}
        self._steps = []
        if scenario is not None:
            raw = scenario if isinstance(scenario, list) else load_scenario(scenario)
            where = "scenario" if isinstance(scenario, list) else str(scenario)
            self._steps = check_steps(raw, self.site, self.gates, where)
        self.scenario_runner: ScenarioRunner | None = None
        self.control = (ControlServer(self, control_host, control_port)
                        if control_port is not None else None)

    @property
    def keys(self) -> dict[str, GateKey]:
        """Each gate's current SCBK and where it came from (a panel's osdp_KEYSET changes it)."""
        return {gid: gate.key for gid, gate in self.gates.items()}

    def start(self) -> None:
        started: list[SimulatedGate] = []
        try:
            for gate in self.gates.values():
                try:
                    gate.start()
                except OSError as exc:
                    raise OSError(f"gate {gate.id}: cannot listen on {gate.spec.channel}: "
                                  f"{exc.strerror or exc}") from exc
                started.append(gate)
            if self.control is not None:
                self.control.start()
        except BaseException:
            for gate in started:
                gate.stop()
            raise
        if self._steps:
            self.scenario_runner = ScenarioRunner(self._steps, self.gates)
            self.scenario_runner.start()

    def stop(self) -> None:
        if self.scenario_runner is not None:
            self.scenario_runner.stop()
        if self.control is not None:
            self.control.stop()
        for gate in self.gates.values():
            gate.stop()

    def __enter__(self) -> "TurnstileFleet":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
