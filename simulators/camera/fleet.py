"""The simulated cameras of a site, run together: media + ONVIF per camera, discovery, control.

Ports: each camera's ONVIF/HTTP server listens on its site-file `onvif_port`, its RTSP server on
`onvif_port + rtsp_port_offset`; one WS-Discovery responder answers for all of them; the JSON
control endpoint listens on `control_port` (0: any free port, None: no endpoint).
"""
from __future__ import annotations

import logging
import threading
import zlib
from pathlib import Path

from simulators.site_file import login_password

from .control import ControlServer, ScenarioRunner, Step, apply_step, check_steps, load_scenario
from .discovery import DISCOVERY_PORT, DiscoveryResponder, DiscoveryTarget, camera_scopes
from .onvif_server import OnvifCameraServer
from .site_view import camera_entries, gate_lanes, load_site, seat_views

log = logging.getLogger("simulators.camera.fleet")


def _media_class():
    # Imported late so the ONVIF and control parts stay usable where the media stack is not.
    from .media import SimulatedCameraMedia
    return SimulatedCameraMedia


class SimulatedCamera:
    """One simulated camera: its media (scene, RTSP, snapshots) and its ONVIF server."""

    def __init__(self, camera: dict, media, onvif: OnvifCameraServer, seat_ids: list[str],
                 rtsp_port: int, lanes: int = 0) -> None:
        self.id = str(camera["id"])
        self.camera, self.media, self.onvif = camera, media, onvif
        self.rtsp_port = rtsp_port
        self.seat_ids = seat_ids
        self.seats = {s: {"state": "auto", "occluded": False} for s in seat_ids}
        self.lanes = lanes  # gate lanes in view
        self._lock = threading.Lock()

    @property
    def fault(self) -> str | None:
        return self.onvif.fault

    @property
    def online(self) -> bool:
        return self.onvif.online

    @property
    def onvif_url(self) -> str:
        return self.onvif.device_url

    def rtsp_url(self, profile: str = "main") -> str:
        return self.media.rtsp_url(profile)

    def set_fault(self, name: str | None) -> None:
        self.onvif.set_fault(name)

    def set_seat(self, seat_id: str, state: str | None = None, occluded: bool | None = None) -> None:
        if seat_id not in self.seats:
            raise KeyError(f"camera {self.id} does not see seat {seat_id!r}")
        with self._lock:
            if state is not None:
                self.media.set_seat_override(seat_id, state)
                self.seats[seat_id]["state"] = state
            if occluded is not None:
                self.media.set_occluder(seat_id, occluded)
                self.seats[seat_id]["occluded"] = occluded

    def start_walkers(self, count: int, lane: int = 0) -> None:
        if not 0 <= lane < self.lanes:
            raise KeyError(f"camera {self.id} sees {self.lanes} gate lane(s); no lane {lane}")
        self.media.start_walkers(count, lane)

    def discovery_target(self) -> DiscoveryTarget:
        return DiscoveryTarget(self.id, (self.onvif.device_url,), tuple(camera_scopes(self.camera)))

    def describe(self) -> dict:
        return {
            "id": self.id,
            "host": self.onvif.host,
            "onvif_port": self.onvif.port,
            "onvif_url": self.onvif.device_url,
            "rtsp_port": self.rtsp_port,
            "rtsp": {name: self.media.rtsp_url(name) for name in self.media.profiles},
            "snapshot": {name: self.onvif.snapshot_url(name) for name in self.media.profiles},
            "profiles": {name: list(p) for name, p in self.media.profiles.items()},
            "fault": self.fault,
            "online": self.online,
            "seats": {k: dict(v) for k, v in self.seats.items()},
            "lanes": self.lanes,
        }

    def start(self) -> None:
        self.media.start()
        try:
            self.onvif.start()
        except Exception:
            self.media.stop()
            raise

    def stop(self) -> None:
        self.onvif.stop()
        self.media.stop()


class CameraFleet:
    """Every (or the chosen) camera of a site file, plus discovery, control and a scenario."""

    def __init__(self, site_path: str | Path, cameras: list[str] | None = None,
                 rtsp_port_offset: int = 10000, control_port: int | None = 0,
                 control_host: str = "127.0.0.1", main_fps: int = 10, sub_fps: int = 5,
                 discovery: bool = True, discovery_port: int = DISCOVERY_PORT,
                 discovery_interface: str = "127.0.0.1", scenario: str | Path | list[Step] | None = None,
                 seed: int = 0) -> None:
        self.site_path = Path(site_path)
        self.wanted = list(cameras) if cameras else None
        self.rtsp_port_offset = rtsp_port_offset
        self.control_port, self.control_host = control_port, control_host
        self.main_fps, self.sub_fps, self.seed = main_fps, sub_fps, seed
        self.discovery_enabled = discovery
        self.discovery_port, self.discovery_interface = discovery_port, discovery_interface
        self.scenario = scenario
        self.cameras: dict[str, SimulatedCamera] = {}
        self.discovery: DiscoveryResponder | None = None
        self.control: ControlServer | None = None
        self.scenario_runner: ScenarioRunner | None = None

    def _build(self) -> None:
        site = load_site(self.site_path)
        entries = {c["id"]: c for c in camera_entries(site)}
        if self.wanted:
            unknown = [c for c in self.wanted if c not in entries]
            if unknown:
                raise ValueError(f"{self.site_path}: no camera {', '.join(unknown)}; "
                                 f"cameras: {', '.join(entries)}")
            entries = {c: entries[c] for c in self.wanted}
        media_cls = _media_class()
        for cam_id, entry in entries.items():
            entry = {**entry, "password": login_password(entry, f"camera {cam_id}", self.site_path)}
            if "onvif_port" not in entry:
                raise ValueError(f"camera {cam_id}: needs 'onvif_port'")
            host = str(entry.get("host") or "127.0.0.1")
            views = seat_views(site, cam_id)
            lanes = gate_lanes(site, cam_id)
            rtsp_port = int(entry["onvif_port"]) + self.rtsp_port_offset
            media = media_cls(entry, views, rtsp_port=rtsp_port,
                              host=host, main_fps=self.main_fps, sub_fps=self.sub_fps,
                              seed=self.seed ^ zlib.crc32(cam_id.encode()), lanes=lanes)
            media.set_credentials(str(entry.get("username", "admin")), entry["password"])
            onvif = OnvifCameraServer(entry, media, host=host)
            self.cameras[cam_id] = SimulatedCamera(entry, media, onvif, [v.seat_id for v in views],
                                                    rtsp_port, lanes=len(lanes))

    def start(self) -> "CameraFleet":
        self._build()
        steps = None
        if self.scenario is not None:
            steps = self.scenario if isinstance(self.scenario, list) else load_scenario(self.scenario)
            check_steps(self, steps)
        started: list = []
        try:
            for cam in self.cameras.values():
                cam.start()
                started.append(cam)
            if self.discovery_enabled:
                self.discovery = DiscoveryResponder(self._online_targets, self.discovery_interface,
                                                    self.discovery_port)
                self.discovery.start()
                started.append(self.discovery)
            if self.control_port is not None:
                self.control = ControlServer(self, self.control_host, self.control_port)
                self.control.start()
                started.append(self.control)
        except Exception:
            for part in reversed(started):
                part.stop()
            raise
        if steps is not None:
            self.scenario_runner = ScenarioRunner(steps, lambda step: apply_step(self, step))
            self.scenario_runner.start()
        return self

    def _online_targets(self) -> list[DiscoveryTarget]:
        return [c.discovery_target() for c in self.cameras.values() if c.online]

    def stop(self) -> None:
        if self.scenario_runner:
            self.scenario_runner.stop()
        if self.control:
            self.control.stop()
        if self.discovery:
            self.discovery.stop()  # sends Bye while the cameras still count as online
        for cam in self.cameras.values():
            try:
                cam.stop()
            except Exception:
                log.exception("camera %s did not stop cleanly", cam.id)

    def __enter__(self) -> "CameraFleet":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
