"""Timed people flows and faults for the simulated gates.

A scenario file is YAML: a list of steps (or a mapping with a `steps` list). Each step runs `at`
seconds after the scenario starts, on one `gate`, with one `action` and that action's fields
(see actions.py):

  - {at: 0.5, gate: gate-main, action: enter, person: p-003}
  - {at: 3,   gate: gate-main, action: exit, person: p-003}
  - {at: 5,   gate: gate-side, action: tailgate, person: p-004}
  - {at: 8,   gate: gate-main, action: passback, person: p-001, delay: 2}
  - {at: 12,  gate: gate-main, action: force, direction: entry}
  - {at: 14,  gate: gate-side, action: hold, seconds: 20}
  - {at: 40,  gate: gate-main, action: power, on: false}
  - {at: 45,  gate: gate-main, action: power, on: true}
  - {at: 50,  gate: gate-side, action: fire, on: true}
  - {at: 60,  gate: gate-side, action: fire, on: false}
  - {at: 62,  gate: gate-main, action: garbage, bytes: 64}
  - {at: 1,   gate: gate-main, action: badge, card: {format: wiegand26, facility: 12, number: 345}}

Steps start on time even when an earlier one (a person waiting for a grant) is still going, the
way people do not wait for each other. Every step is checked when the file is loaded.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from .actions import Action, RequestError, prepare
from .site_view import Site

log = logging.getLogger("simulators.turnstile.scenarios")


class _Loader(yaml.SafeLoader):
    """YAML 1.2 booleans: `on: false` must stay a field named "on", not become `True: false`."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool",
                              re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


@dataclass(frozen=True)
class Step:
    index: int
    at: float
    gate: str
    action: str
    fields: dict
    run: Action


def load_scenario(path: str | Path) -> list:
    path = Path(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read scenario: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and set(data) == {"steps"}:
        data = data["steps"]
    if data is None:
        data = []
    if not isinstance(data, list):
        raise ValueError(f"{path}: a scenario is a list of steps (or a mapping with 'steps')")
    return data


def check_steps(raw: list, site: Site, gates, where: str = "scenario") -> list[Step]:
    """Check every step against the site and the simulated gates; errors name the step."""
    steps = []
    for i, item in enumerate(raw, 1):
        label = f"{where}: step {i}"
        if not isinstance(item, dict):
            raise ValueError(f"{label}: must be a mapping with at, gate and action")
        fields = dict(item)
        at = fields.pop("at", None)
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= 86400:
            raise ValueError(f"{label}: 'at' must be seconds from the start (0-86400), not {at!r}")
        gate = fields.pop("gate", None)
        if gate not in gates:
            raise ValueError(f"{label}: 'gate' must be one of the simulated gates "
                             f"({', '.join(gates)}), not {gate!r}")
        action = fields.pop("action", None)
        if not isinstance(action, str):
            raise ValueError(f"{label}: 'action' is missing")
        try:
            run = prepare(action, fields, site)
        except RequestError as exc:
            raise ValueError(f"{label} ({action} at {at}s): {exc}") from None
        steps.append(Step(i, float(at), gate, action, fields, run))
    return sorted(steps, key=lambda s: (s.at, s.index))


class ScenarioRunner:
    """Runs checked steps against live gates, each in its own thread when it falls due."""

    def __init__(self, steps: list[Step], gates: dict) -> None:
        self.steps, self.gates = steps, gates
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._records = [{"step": s.index, "at": s.at, "gate": s.gate, "action": s.action,
                          "fields": s.fields, "state": "pending"} for s in steps]
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []
        self.started_at: float | None = None

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="turnstile-scenario", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for n, step in enumerate(self.steps):
            if self._stop.wait(max(0.0, self.started_at + step.at - time.monotonic())):
                return
            worker = threading.Thread(target=self._apply, args=(n, step), daemon=True,
                                      name=f"turnstile-step-{step.index}")
            self._workers.append(worker)
            worker.start()

    def _apply(self, n: int, step: Step) -> None:
        with self._lock:
            self._records[n].update(state="running",
                                    started=round(time.monotonic() - self.started_at, 3))
        try:
            result = step.run(self.gates[step.gate])
            update = {"state": "done", "result": result}
        except Exception as exc:  # a step's failure is recorded, the scenario goes on
            log.exception("scenario step %d (%s on %s) failed", step.index, step.action, step.gate)
            update = {"state": "failed", "error": str(exc)}
        with self._lock:
            self._records[n].update(update)
        log.info("scenario step %d: %s on %s -> %s", step.index, step.action, step.gate,
                 update.get("result", update.get("error")))

    @property
    def finished(self) -> bool:
        with self._lock:
            return all(r["state"] in ("done", "failed") for r in self._records)

    def records(self) -> list[dict]:
        with self._lock:
            return [dict(r) for r in self._records]

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.finished:
                return True
            time.sleep(0.05)
        return self.finished

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
