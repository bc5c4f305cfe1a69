"""Test-side control of the simulated camera fleet: a JSON HTTP endpoint and timed scenarios.

Endpoint (all JSON):
  GET  /cameras                    every camera: ports, URLs, current fault, online, seat overrides
  GET  /cameras/{id}               one camera
  POST /cameras/{id}/fault         {"fault": "<name>" | null}
  POST /cameras/{id}/seats/{seat}  {"state": "auto"|"occupied"|"empty", "occluded": true|false}
  POST /cameras/{id}/walkers       {"count": 1-5, "lane": 0}: people walk through a gate lane now
  GET  /scenario                   steps of the running scenario and which were applied when
Errors come back as {"error": "..."} with 400 (bad request), 404 (no such camera/seat/route),
405 or 500.

Scenario file (YAML): a list of steps (or a mapping with a `steps` list), each applied `at`
seconds after the scenario starts:
  - {at: 2, camera: cam-01, fault: blackout}
  - {at: 5, camera: cam-01, fault: null}
  - {at: 3, camera: cam-02, seat: A3, state: empty, occluded: true}
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

import yaml

from .onvif_server import FAULTS

from simulators.control_http import ControlServer as BaseControlServer
from simulators.control_http import JsonHandler, RequestError

log = logging.getLogger("simulators.camera.control")

SEAT_STATES = ("auto", "occupied", "empty")


# ---- what can be changed, checked the same way for HTTP and scenario files ------------------

def check_fault(value) -> str | None:
    if value is not None and (not isinstance(value, str) or value not in FAULTS):
        raise RequestError(f"'fault' must be one of {', '.join(FAULTS)} or null, not {value!r}")
    return value


def check_seat_change(body: dict) -> tuple[str | None, bool | None]:
    unknown = set(body) - {"state", "occluded"}
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(sorted(unknown))}; expected 'state' and/or 'occluded'")
    if not body:
        raise RequestError("give 'state' and/or 'occluded'")
    state, occluded = body.get("state"), body.get("occluded")
    if state is not None and state not in SEAT_STATES:
        raise RequestError(f"'state' must be one of {', '.join(SEAT_STATES)}, not {state!r}")
    if occluded is not None and not isinstance(occluded, bool):
        raise RequestError(f"'occluded' must be true or false, not {occluded!r}")
    return state, occluded


def check_walkers(body: dict) -> tuple[int, int]:
    if not set(body) <= {"count", "lane"} or "count" not in body:
        raise RequestError('body must be {"count": 1-5} with an optional "lane" index')
    count, lane = body["count"], body.get("lane", 0)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 5:
        raise RequestError(f"'count' must be a whole number of people from 1 to 5, not {count!r}")
    if isinstance(lane, bool) or not isinstance(lane, int) or lane < 0:
        raise RequestError(f"'lane' must be a lane index >= 0, not {lane!r}")
    return count, lane


def find_camera(fleet, camera_id: str):
    cam = fleet.cameras.get(camera_id)
    if cam is None:
        raise RequestError(f"no camera {camera_id!r}; cameras: {', '.join(fleet.cameras)}", 404)
    return cam


def find_seat(cam, seat_id: str) -> str:
    if seat_id not in cam.seat_ids:
        raise RequestError(f"camera {cam.id} does not see seat {seat_id!r}; it sees: "
                           f"{', '.join(cam.seat_ids) or 'none'}", 404)
    return seat_id


# ---- scenarios ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    at: float
    camera: str
    fault: str | None = None
    seat: str | None = None      # set for a seat step; a fault step has seat None
    state: str | None = None
    occluded: bool | None = None

    def describe(self) -> dict:
        if self.seat is None:
            return {"at": self.at, "camera": self.camera, "fault": self.fault}
        out = {"at": self.at, "camera": self.camera, "seat": self.seat}
        if self.state is not None:
            out["state"] = self.state
        if self.occluded is not None:
            out["occluded"] = self.occluded
        return out


def parse_scenario(data) -> list[Step]:
    """Steps from parsed YAML, in time order; RequestError naming the step on any mistake."""
    if isinstance(data, dict) and set(data) == {"steps"}:
        data = data["steps"]
    if not isinstance(data, list):
        raise RequestError("a scenario is a list of steps (or a mapping with a 'steps' list)")
    steps = []
    for i, raw in enumerate(data):
        where = f"step {i + 1}"
        if not isinstance(raw, dict):
            raise RequestError(f"{where}: must be a mapping like {{at: 2, camera: cam-01, fault: blackout}}")
        at, camera = raw.get("at"), raw.get("camera")
        if isinstance(at, bool) or not isinstance(at, (int, float)) or at < 0:
            raise RequestError(f"{where}: 'at' must be seconds >= 0, not {at!r}")
        if not isinstance(camera, str) or not camera:
            raise RequestError(f"{where}: 'camera' must be a camera id")
        rest = {k: v for k, v in raw.items() if k not in ("at", "camera")}
        try:
            if "fault" in rest:
                if set(rest) != {"fault"}:
                    raise RequestError("a fault step takes only at, camera and fault")
                steps.append(Step(float(at), camera, fault=check_fault(rest["fault"])))
            elif "seat" in rest:
                seat = rest.pop("seat")
                if not isinstance(seat, str) or not seat:
                    raise RequestError("'seat' must be a seat id")
                state, occluded = check_seat_change(rest)
                steps.append(Step(float(at), camera, seat=seat, state=state, occluded=occluded))
            else:
                raise RequestError("a step needs 'fault' or 'seat'")
        except RequestError as exc:
            raise RequestError(f"{where}: {exc}") from None
    return sorted(steps, key=lambda s: s.at)  # stable: equal times keep file order


def load_scenario(path: str | Path) -> list[Step]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RequestError(f"{path}: cannot read scenario: {exc}") from exc
    try:
        return parse_scenario(data)
    except RequestError as exc:
        raise RequestError(f"{path}: {exc}") from None


def check_steps(fleet, steps: list[Step]) -> None:
    """Refuse a scenario that names cameras or seats the fleet does not have, before it runs."""
    for step in steps:
        try:
            cam = find_camera(fleet, step.camera)
            if step.seat is not None:
                find_seat(cam, step.seat)
        except RequestError as exc:
            raise RequestError(f"scenario step at {step.at} s: {exc}") from None


def apply_step(fleet, step: Step) -> None:
    cam = find_camera(fleet, step.camera)
    if step.seat is None:
        cam.set_fault(step.fault)
    else:
        cam.set_seat(find_seat(cam, step.seat), state=step.state, occluded=step.occluded)


@dataclass
class ScenarioRunner:
    """Applies steps on a timer, in its own thread; records when each one was applied."""
    steps: list[Step]
    apply: Callable[[Step], None]
    clock: Callable[[], float] = time.monotonic
    applied: list[dict] = field(default_factory=list)
    started_at: float | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self.done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.started_at = self.clock()
        self._thread = threading.Thread(target=self._run, name="camera-scenario", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        for step in self.steps:
            delay = self.started_at + step.at - self.clock()
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            error = None
            try:
                self.apply(step)
            except Exception as exc:  # one bad step must not end the scenario
                error = str(exc)
                log.warning("scenario step %s failed: %s", step.describe(), exc)
            self.applied.append({**step.describe(), "applied_at": round(self.clock() - self.started_at, 3),
                                 "error": error})
        self.done.set()

    def describe(self) -> dict:
        return {"steps": [s.describe() for s in self.steps], "applied": list(self.applied),
                "done": self.done.is_set()}


# ---- HTTP endpoint --------------------------------------------------------------------------

class _Handler(JsonHandler):
    server_version = "SimCamControl/1.0"
    timeout = 10

    def _route(self, method: str) -> None:
        fleet = self.server.fleet
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        if parts == ["cameras"] and method == "GET":
            return self._reply(200, {"cameras": [c.describe() for c in fleet.cameras.values()]})
        if parts == ["scenario"] and method == "GET":
            runner = fleet.scenario_runner
            return self._reply(200, runner.describe() if runner else {"steps": [], "applied": [], "done": True})
        if len(parts) == 2 and parts[0] == "cameras" and method == "GET":
            return self._reply(200, find_camera(fleet, parts[1]).describe())
        if len(parts) == 3 and parts[0] == "cameras" and parts[2] == "fault" and method == "POST":
            cam = find_camera(fleet, parts[1])
            body = self._json_body()
            if set(body) != {"fault"}:
                raise RequestError('body must be exactly {"fault": "<name>" | null}')
            cam.set_fault(check_fault(body["fault"]))
            return self._reply(200, cam.describe())
        if len(parts) == 4 and parts[0] == "cameras" and parts[2] == "seats" and method == "POST":
            cam = find_camera(fleet, parts[1])
            seat = find_seat(cam, parts[3])
            state, occluded = check_seat_change(self._json_body())
            cam.set_seat(seat, state=state, occluded=occluded)
            return self._reply(200, cam.describe())
        if len(parts) == 3 and parts[0] == "cameras" and parts[2] == "walkers" and method == "POST":
            cam = find_camera(fleet, parts[1])
            count, lane = check_walkers(self._json_body())
            try:
                cam.start_walkers(count, lane)
            except KeyError as exc:
                raise RequestError(str(exc.args[0]), 404) from None
            return self._reply(200, cam.describe())
        known = parts[:1] in (["cameras"], ["scenario"]) and len(parts) <= 4
        raise RequestError(f"{method} /{'/'.join(parts)} is not supported", 405 if known else 404)


class ControlServer(BaseControlServer):
    """The JSON control endpoint of a fleet (anything with `.cameras` and `.scenario_runner`)."""

    handler = _Handler
    thread_name = "camera-control"
