"""The edge agent daemon: local store, link to the controller, site config, commands."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from access_control.tailgating import TailgateConfig
from edge_agent.link import ControllerLink
from edge_agent.store import EdgeStore, iso_now
from edge_agent.wire import messages as m
from edge_agent.wire import payloads as P
from edge_agent.wire.keys import ensure_keypair, load_public_key
from edge_agent.wire.kinds import AlarmKind, CommandName, EventKind
from edge_agent.wire.site import SiteConfig

log = logging.getLogger("siteguard.edge")

CONFIG_KEY = "site_config"


# Why a command that needs a service cannot run on this agent.
_NOT_RUNNING = {"gates": "gates are not running on this agent",
                "network": "no switches with routed VLANs are managed by this agent",
                "video": "video is not running on this agent",
                "vpn": "no VPN gateway runs on this agent"}


@dataclass
class AgentOptions:
    data_dir: Path
    controller_key_file: Path
    endpoint: str | None = None  # default: the site file's controller.endpoint
    heartbeat_s: float = 2.0
    ack_timeout_s: float = 5.0
    video: bool = True  # cameras, recording and retention; off for link-only deployments/tests
    gates: bool = True  # OSDP gates
    osdp_keys_dir: Path | None = None  # <gate>.scbk files; default <data>/osdp-keys
    network: bool = True  # approved switch changes and drift checks
    vpn: bool = True  # the site's WireGuard gateway for remote work (network.vpn)
    site_dir: Path = Path(".")  # the site file's folder: relative password_file / secret_file paths


class EdgeAgent:
    def __init__(self, bootstrap: SiteConfig, options: AgentOptions) -> None:
        self.options = options
        options.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = EdgeStore(options.data_dir / "edge.db")
        self.public_key, secret = ensure_keypair(options.data_dir / "keys", "agent")
        self.config = self._stored_config() or bootstrap
        # The site file on this disk is the trust anchor for network changes (approval keys,
        # VLAN owners, switch access); a config pushed by the controller never replaces it there.
        self.trusted = bootstrap
        self.started = time.monotonic()
        self._stop = threading.Event()
        self.link = ControllerLink(
            options.endpoint or bootstrap.controller.endpoint,
            load_public_key(options.controller_key_file), self.public_key, secret, self.store,
            site=bootstrap.site.id, config_hash=lambda: self.config.config_hash(),
            heartbeat_s=options.heartbeat_s, ack_timeout_s=options.ack_timeout_s,
        )

    def _stored_config(self) -> SiteConfig | None:
        raw = self.store.get(CONFIG_KEY)
        if raw is None:
            return None
        try:
            return SiteConfig.model_validate_json(raw)
        except ValidationError:
            log.warning("stored site config is unreadable; using the site file")
            return None

    # --- loop --------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        self.store.append(EventKind.AGENT_STARTED, P.AgentStarted(site=self.config.site.id,
                                                                  config_hash=self.config.config_hash()))
        log.info("edge agent for site %s started; its public key (CurveZMQ, as enrolled at the controller) %s",
                 self.config.site.id, self.public_key.decode())
        self._start_video()
        self._start_gates()
        self._link_gate_cameras()
        self._start_network()
        self._start_vpn()
        try:
            while not self._stop.is_set():
                self.link.poll(50, self._on_message, self.status)
        finally:
            if self.video is not None:
                self.video.stop()
            if self.gates is not None:
                self.gates.stop()
            if self.network is not None:
                self.network.stop()
            if self.vpn is not None:
                self.vpn.stop()
            self.link.close()
            self.store.close()

    def _start_gates(self) -> None:
        self.gates = None
        if self.options.gates and self.config.gates:
            from edge_agent.gates import GateService

            keys = self.options.osdp_keys_dir or self.options.data_dir / "osdp-keys"
            try:
                self.gates = GateService(self.config, self.store, keys)
            except ValueError as exc:  # e.g. a gate without its key: say so, keep the rest running
                log.error("gates not started: %s", exc)
                self.store.append(AlarmKind.GATES_NOT_STARTED.event, P.AlarmBody(
                    source="gates", severity="critical", message=f"gates not started: {exc}"[:P.MAX_TEXT]))
                return
            self.gates.start()

    def _link_gate_cameras(self) -> None:
        """Gates whose camera and lane are in the site file count people on camera per grant."""
        watched = {g.id: g for g in self.config.gates if g.camera and g.lane}
        if not watched or self.gates is None or self.video is None:
            return
        lanes = self.video.lane_watcher(self.gates.persons_seen)
        if lanes is None:
            return
        window = TailgateConfig("").window_s

        def on_grant(gate_id: str) -> None:
            g = watched.get(gate_id)
            if g is not None:
                lanes.watch(g.id, g.camera, g.lane, window)

        self.gates.on_grant = on_grant

    def _start_network(self) -> None:
        self.network = None
        if self.options.network and any(s.svis for s in self.trusted.switches):
            # Netmiko only where switches are
            from edge_agent.network import NetworkService

            self.network = NetworkService(self.trusted, self.store, site_dir=self.options.site_dir)
            self.network.start(self.trusted.network.drift_check_minutes * 60.0)

    def _start_vpn(self) -> None:
        self.vpn = None
        conf = self.trusted.network.vpn
        if not self.options.vpn or conf is None:
            return
        from edge_agent.vpn import VpnService, gateway_key, make_gateway

        try:
            routes = [c.remote.range for c in self.trusted.customers if c.remote is not None]
            service = VpnService(self.trusted, self.store,
                                 make_gateway(conf, gateway_key(conf, self.options.site_dir), routes))
            service.start()
        except Exception as exc:  # noqa: BLE001 - no wireguard-go, no tun, a bad key: say so, keep the rest
            log.error("VPN gateway not started: %s", exc)
            self.store.append(AlarmKind.VPN_NOT_STARTED.event, P.AlarmBody(
                source="vpn", severity="critical", message=f"VPN gateway not started: {exc}"[:P.MAX_TEXT]))
            return
        self.vpn = service

    def _start_video(self) -> None:
        self.video = None
        if self.options.video and self.config.cameras:
            # OpenCV and ffmpeg only where video runs
            from edge_agent.video import VideoService

            self.video = VideoService(self.config, self.options.data_dir, self.store, site_dir=self.options.site_dir)
            if self.video.seats is not None:  # a seat's new verdict goes to the controller at once
                self.video.seats.on_change = self.link.beat_now
            self.video.start()

    def status(self) -> dict[str, Any]:
        s = self.link.state
        video = getattr(self, "video", None)
        gates = getattr(self, "gates", None)
        seats = video.seats.status() if video is not None and video.seats is not None else {}
        return {"video": video.status() if video else {}, "gate_states": gates.status() if gates else {},
                "seats": seats, "uptime_s": round(time.monotonic() - self.started, 1), "site": self.config.site.id,
                "cameras": len(self.config.cameras), "gates": len(self.config.gates),
                "switches": len(self.config.switches), "sent_events": s.sent_events,
                "acked_events": s.acked_events}

    # --- commands from the controller ---------------------------------------------------------

    def _command_handlers(self) -> dict[CommandName, Callable[[Any], BaseModel | dict[str, Any]]]:
        """One handler per command name; each takes the command's args (its model from
        edge_agent.wire.payloads) and returns its result, which must fit the result model."""
        C = CommandName
        return {
            C.PING: lambda a: P.PingResult(pong=iso_now()),
            C.STATUS: lambda a: P.StatusResult(**self.status(), pending_events=self.store.pending_count(),
                                               config_hash=self.config.config_hash()),
            C.RELOAD_CONFIG: self._reload_config,
            C.SET_CREDENTIALS: lambda a: self._running("gates").set_credentials(P.body_dict(a)),
            C.RESET_PASSBACK: lambda a: self._running("gates").reset_passback(a.person),
            C.RELEASE_GATES: lambda a: self._running("gates").release(a.on, a.reset_passback),
            C.NETWORK_APPLY: lambda a: self._running("network").submit(P.body_dict(a)),
            C.NETWORK_DRIFT_CHECK: self._drift_check_now,
            C.VPN_APPLY: lambda a: self._running("vpn").submit(P.body_dict(a)),
            C.VPN_REVOKE: lambda a: P.VpnRevokeResult.of(a.public_key,
                                                         self._running("vpn").revoke(a.public_key, a.officer, a.reason)),
            C.VPN_STATUS: lambda a: P.VpnStatusResult(peers=self._running("vpn").status()),
            C.SEAT_FRAME: lambda a: self._running("video").seat_frame(a.seat, a.customer),
            C.SNAPSHOT: lambda a: self._running("video").snapshot(a.camera),
            C.SEGMENT_CHUNK: lambda a: self._running("video").segment_chunk(a.camera, a.seq, a.offset, a.length),
            C.LEGAL_HOLD: lambda a: self._running("video").legal_hold(a),
            C.AUDIT_RECORDINGS: lambda a: self._running("video").audit(),
        }

    def _running(self, service: str) -> Any:
        """The service a command needs, or the reason it cannot run here."""
        found = getattr(self, service, None)
        if found is None:
            raise RuntimeError(_NOT_RUNNING[service])
        return found

    def _reload_config(self, args: P.NoArgs) -> P.ReloadResult:
        self.link.state.connected = False  # the next hello fetches the config again
        return P.ReloadResult(reloading=True)

    def _drift_check_now(self, args: P.NoArgs) -> P.DriftCheckResult:
        network = self._running("network")
        threading.Thread(target=network.check_drift, daemon=True, name="drift-now").start()
        return P.DriftCheckResult(started=True)

    # --- messages from the controller --------------------------------------------------------

    def _on_message(self, msg: Any) -> None:
        if isinstance(msg, (m.Welcome, m.ConfigPush)) and msg.config is not None:
            self._adopt_config(msg.config, msg.config_hash)
        elif isinstance(msg, m.Command):
            self._run_command(msg)

    def _adopt_config(self, doc: dict[str, Any], expected_hash: str | None) -> None:
        try:
            config = SiteConfig.model_validate(doc)
        except ValidationError as exc:
            self._config_rejected(f"site config from controller is invalid: {exc.error_count()} problem(s)")
            return
        if expected_hash and config.config_hash() != expected_hash:
            self._config_rejected("site config from controller does not match its hash")
            return
        if config.site.id != self.config.site.id:
            self._config_rejected(f"controller sent config of site {config.site.id}")
            return
        self.store.put(CONFIG_KEY, config.canonical_json())
        self.config = config
        video = getattr(self, "video", None)
        if video is not None and video.seats is not None:
            video.seats.update_config(config)  # new seat polygons from a calibration
        self.store.append(EventKind.CONFIG_APPLIED, P.ConfigApplied(config_hash=config.config_hash()))
        log.info("applied site config %s", config.config_hash()[:12])

    def _config_rejected(self, message: str) -> None:
        self.store.append(AlarmKind.CONFIG_REJECTED.event, P.AlarmBody(
            severity="critical", source="site-config", message=message[:P.MAX_TEXT]))

    def _run_command(self, cmd: m.Command) -> None:
        try:
            handler = self._command_handlers().get(cmd.name)
            if handler is None:  # the codec refuses unknown names; a name without handler is a bug
                raise ValueError(f"unknown command {cmd.name!r}")
            args = P.read_command_args(cmd.name, cmd.args)
            result = P.build_command_result(cmd.name, handler(args))
            reply = m.Reply(id=cmd.id, ok=True, result=result)
        except m.WireError as exc:  # arguments (or our own answer) that do not fit the contract
            log.warning("command %s refused (%s): %s", cmd.name, exc.reason, exc)
            reply = m.Reply(id=cmd.id, ok=False, error=f"{exc.reason}: {exc}"[:2000])
        except Exception as exc:  # a failing command answers with its error, the agent goes on
            reply = m.Reply(id=cmd.id, ok=False, error=str(exc)[:2000])
        self.link.send(reply)
