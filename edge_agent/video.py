"""The edge's video service: camera workers, the segment store, and the one retention loop."""
from __future__ import annotations

import base64
import datetime as dt
import itertools
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

from camera.coverage import CoverageRules
from camera.detector import DetectorError, OnnxDetector, config_for
from camera.discovery import PORT as DISCOVERY_PORT
from camera.discovery import discover, unregistered
from edge_agent.cameras import CameraWorker, iso
from edge_agent.crash import crash_point
from edge_agent.lanes import LaneWatcher
from edge_agent.seats import Detect, SeatWatcher
from edge_agent.store import EdgeStore, Tx
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import AlarmKind, EventKind
from edge_agent.wire.site import SiteConfig
from retention.capacity import Pressure, disk_pressure, forecast, startup_check
from retention.evidence import EvidenceFrame, evidence_to_delete, parse_evidence_name
from retention.policy import LegalHold, RetentionPolicy
from retention.segments import SegmentIndex, SegmentStore

log = logging.getLogger("siteguard.edge.video")

MAX_CHUNK = 512 * 1024
EVIDENCE_NAMES_PER_EVENT = 500  # about 15 kB of names, well inside an event's size limit


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def hold_view(h: LegalHold) -> P.HoldView:
    return P.HoldView(id=h.id, camera=h.camera, start=iso(h.start), end=iso(h.end),
                      reason=h.reason, placed_at=iso(h.placed_at) if h.placed_at else None,
                      released_at=iso(h.released_at) if h.released_at else None)


def hold_changed(h: LegalHold, by: str) -> P.HoldChanged:
    return P.HoldChanged(**P.body_dict(hold_view(h)), by=by)


class VideoService:
    def __init__(self, config: SiteConfig, data_dir: Path, outbox: EdgeStore,
                 clock: Callable[[], dt.datetime] = utcnow, purge_every_s: float = 3600.0,
                 discovery_port: int = DISCOVERY_PORT, site_dir: Path = Path(".")) -> None:
        self.config, self.outbox, self.clock = config, outbox, clock
        r = config.retention
        root = Path(r.storage_path)
        self.root = root if root.is_absolute() else data_dir / root
        self.policy = RetentionPolicy(min_months=r.min_months, max_months=r.max_months,
                                      timezone=config.site.timezone)
        # The index shares the outbox's file, so a record and its report are one transaction;
        # a data folder from before, with the index in segments.db, is taken in once.
        self.index = SegmentIndex(outbox.path)
        self.index.adopt(data_dir / "segments.db")
        self.store = SegmentStore(self.root, self.index, self.policy, clock)
        self.reserve_percent = r.reserve_percent
        self.purge_every_s = purge_every_s
        self.discovery_port = discovery_port  # 0: no WS-Discovery
        self.evidence_root = data_dir / "evidence"  # <camera>/<stamp>_<what>.jpg, kept like video
        self.workers = {
            cam.id: CameraWorker(cam, r.segment_seconds, self.store, outbox,
                                 # beside the store (same disk: segments move in by rename),
                                 # not inside it, where the audit would see them as strays
                                 work_root=self.root.with_name(self.root.name + ".incoming"),
                                 evidence_root=self.evidence_root, site_dir=site_dir)
            for cam in config.cameras
        }
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self.detect = self._detector(config)
        self.seats = self._seat_watcher(config) if config.seats else None
        if self.seats is not None:
            for w in self.workers.values():
                w.on_change = self.seats.wake  # a camera's change is judged at once, not at the next poll
        self.lanes: LaneWatcher | None = None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for w in self.workers.values():
            w.start()
        self._thread = threading.Thread(target=self._retention_loop, name="retention", daemon=True)
        self._thread.start()
        if self.discovery_port:
            threading.Thread(target=self._discovery_loop, name="discovery", daemon=True).start()
        if self.seats is not None:
            self.seats.start(float(self.config.coverage.check_seconds))

    def stop(self) -> None:
        self._halt.set()
        if self.seats is not None:
            self.seats.stop()
        if self.lanes is not None:
            self.lanes.stop()
        for w in self.workers.values():
            w.stop()
        if self._thread:
            self._thread.join(10)

    def _detector(self, config: SiteConfig) -> Detect | None:
        """The person and screen detector, when the site has seats or gate lanes to watch."""
        d = config.coverage.detector
        if d is None or not (config.seats or any(g.camera and g.lane for g in config.gates)):
            return None
        try:
            detector = OnnxDetector(config_for(d.weights, d.names, d.classes, d.input_size, d.min_score))
        except DetectorError as exc:  # coverage goes on from camera health and focus alone
            log.error("detector not started: %s", exc)
            self.outbox.append(AlarmKind.DETECTOR_UNAVAILABLE.event, P.AlarmBody(
                source="coverage:detector", severity="critical",
                message=f"detector not started, persons and occlusion are not checked: {exc}"[:P.MAX_TEXT]))
            return None
        width = {c.id: c.resolution[0] for c in config.cameras}
        return lambda camera, frame: detector.detect(frame, to_width=width[camera])

    def _seat_watcher(self, config: SiteConfig) -> SeatWatcher:
        cov = config.coverage
        rules = CoverageRules(min_focus_ratio=cov.min_focus_ratio, max_occlusion=cov.max_occlusion,
                              # without detections a screen cannot be required to be seen
                              require_screen_detection=cov.require_screen_detection and self.detect is not None)
        return SeatWatcher(config, self, self.outbox, rules, self.detect,
                           evidence_dir=self.evidence_root,
                           # three missed rounds (and a restart's settling time) make a gap
                           gap_after_s=max(60.0, 3.0 * cov.check_seconds))

    def lane_watcher(self, report: Callable[[str, int], None]) -> LaneWatcher | None:
        """Counts people in gate lanes for the gate service (None without a detector)."""
        if self.detect is None:
            return None
        self.lanes = LaneWatcher(self, self.detect, report)
        return self.lanes

    # --- retention ---------------------------------------------------------------------------

    def bitrates(self) -> dict[str, float]:
        measured = {cid: w.health.bitrate_bps for cid, w in self.workers.items() if w.health.bitrate_bps}
        default = max(measured.values(), default=4_000_000.0)  # until measured: a typical 1080p
        return {cid: measured.get(cid, default) for cid in self.workers}

    def _retention_loop(self) -> None:
        # The capacity check needs real bitrates: wait for a first segment of every camera
        # (or a quarter of an hour), then check, then purge on schedule.
        started = time.monotonic()
        while not self._halt.wait(5):
            if all(w.health.bitrate_bps for w in self.workers.values()) or time.monotonic() - started > 900:
                break
        if not self._halt.is_set():
            try:
                self._capacity_check()
            except Exception:  # a failed check must not stop the purge
                log.exception("retention capacity check failed")
        while not self._halt.is_set():
            try:
                self.run_retention()
            except Exception:  # keep the loop; the next round tries again
                log.exception("retention round failed")
            self._halt.wait(self.purge_every_s)

    def _discovery_loop(self) -> None:
        """WS-Discovery now and then: a camera on the network that the site file does not
        name is reported (it may be a rogue or forgotten device)."""
        registered = {(c.host, c.onvif_port) for c in self.config.cameras}
        reported: set[str] = set()
        while not self._halt.is_set():
            try:
                found = discover(timeout=3.0, port=self.discovery_port)
            except OSError as exc:
                log.warning("WS-Discovery probe failed: %s", exc)
                found = []
            for dev in unregistered(found, registered):
                if dev.endpoint in reported:
                    continue
                reported.add(dev.endpoint)
                host, port = dev.host_port or ("?", 0)
                xaddrs = [x[:400] for x in dev.xaddrs][:20]
                self.outbox.append(EventKind.CAMERA_DISCOVERED, P.CameraDiscovered(
                    endpoint=dev.endpoint[:400], xaddrs=xaddrs, scopes=[x[:400] for x in dev.scopes][:50]))
                self.outbox.append(AlarmKind.CAMERA_UNREGISTERED.event, P.DiscoveryAlarm(
                    source=f"discovery:{dev.endpoint}"[:120], severity="warning", xaddrs=xaddrs,
                    message=(f"ONVIF device {dev.scope('name') or dev.endpoint} at {host}:{port} "
                             "answers on the network but is not in the site file")[:P.MAX_TEXT]))
            self._halt.wait(600)

    def _capacity_check(self) -> None:
        du = shutil.disk_usage(self.root)
        report = startup_check(du.total, du.used - self.store.usage(), self.reserve_percent,
                               self.policy, self.bitrates(), self.clock())
        self.outbox.append(EventKind.RETENTION_CAPACITY, P.RetentionCapacity(
            ok=report.ok, message=report.message[:P.MAX_TEXT], needed_bytes=report.needed_bytes,
            available_bytes=report.available_bytes))
        if not report.ok:
            self.outbox.append(AlarmKind.RETENTION_CAPACITY.event, P.RetentionAlarm(
                source="retention:capacity", severity="warning", message=report.message[:P.MAX_TEXT]))

    def run_retention(self) -> list[Any]:
        now = self.clock()

        def report(db, rec) -> None:  # in the tombstone's transaction
            Tx(db).append(EventKind.SEGMENT_DELETED, P.SegmentDeleted(
                camera=rec.camera, seq=rec.seq, deleted_at=iso(rec.deleted_at or now),
                reason=rec.deletion_reason or "retention"))

        deleted = self.store.purge(now, then=report)
        if deleted:
            crash_point("segment_deleted")
        self.prune_evidence(now)
        du = shutil.disk_usage(self.root)
        reserve = int(du.total * self.reserve_percent / 100)
        fc = forecast(du.free, reserve, self.bitrates())
        decision = disk_pressure(du.free, reserve, 0, fc)  # purge above already took what it may
        if decision.level == Pressure.CRITICAL:
            self.outbox.raise_alarm(AlarmKind.RETENTION_DISK_CRITICAL, P.RetentionAlarm(
                source="retention:disk", severity="critical",
                days_left=round(decision.days_left, 1), message=decision.message[:P.MAX_TEXT]))
        else:
            self.outbox.clear_alarm(AlarmKind.RETENTION_DISK_CRITICAL, P.RetentionAlarm(source="retention:disk",
                                                                                        state="cleared"))
        return deleted

    # --- commands ----------------------------------------------------------------------------

    def prune_evidence(self, now: dt.datetime) -> list[EvidenceFrame]:
        """Delete alarm frames whose retention is over, as for the recordings they belong to. Each
        batch is recorded and reported in one transaction before its files go, so no deletion is
        unrecorded and none is reported twice."""
        frames = []
        for folder in sorted(p for p in self.evidence_root.glob("*") if p.is_dir()):
            for f in folder.glob("*.jpg"):
                frame = parse_evidence_name(folder.name, f.name, f.stat().st_size)
                if frame is not None:
                    frames.append(frame)
        gone = sorted(evidence_to_delete(frames, self.policy, self.index.list_holds(), now),
                      key=lambda f: (f.camera, f.name))
        for camera, batch in itertools.groupby(gone, key=lambda f: f.camera):
            batch = list(batch)
            for i in range(0, len(batch), EVIDENCE_NAMES_PER_EVENT):  # an event's size is bounded
                chunk = batch[i:i + EVIDENCE_NAMES_PER_EVENT]
                with self.outbox.transaction() as tx:
                    names = tx.evidence_deleted(camera, [f.name for f in chunk], iso(now))
                    if names:
                        tx.append(EventKind.EVIDENCE_DELETED, P.EvidenceDeleted(
                            camera=camera, names=names, deleted_at=iso(now), reason="retention"))
                for f in chunk:
                    (self.evidence_root / camera / f.name).unlink(missing_ok=True)
        return gone

    def snapshot(self, camera: str) -> P.SnapshotResult:
        worker = self._worker(camera)
        return P.SnapshotResult(jpeg_b64=base64.b64encode(worker.snapshot()).decode())

    def segment_chunk(self, camera: str, seq: int, offset: int, length: int) -> P.SegmentChunkResult:
        self._worker(camera)
        rel = self.index.paths(camera).get(int(seq))
        path = self.root / rel if rel else None
        if path is None or not path.exists():
            raise FileNotFoundError(f"{camera} segment {seq} is not on this appliance")
        length = max(0, min(int(length), MAX_CHUNK))
        with open(path, "rb") as f:
            f.seek(max(0, int(offset)))
            data = f.read(length)
        return P.SegmentChunkResult(data_b64=base64.b64encode(data).decode(), size=path.stat().st_size)

    def legal_hold(self, args: P.LegalHoldArgs) -> P.HoldList | P.HoldView:
        """Place, release or list legal holds; every change is also an event (and so ledgered)."""
        if args.action == "list":
            return P.HoldList(holds=[hold_view(h) for h in self.index.list_holds()])
        now = self.clock()
        if args.action == "place":
            camera = args.camera or None
            if camera is not None:
                self._worker(camera)
            hold = LegalHold(id=str(args.id), camera=camera, start=P.when(str(args.start)),
                             end=P.when(str(args.end)), reason=args.reason or "", placed_at=now)
            self.index.add_hold(hold)
            self.outbox.append(EventKind.RETENTION_HOLD_PLACED, hold_changed(hold, args.by or ""))
        else:
            hold = self.index.release_hold(str(args.id), now)
            self.outbox.append(EventKind.RETENTION_HOLD_RELEASED, hold_changed(hold, args.by or ""))
        return hold_view(hold)

    def audit(self) -> P.AuditResult:
        report = self.store.audit(self.clock())
        return P.AuditResult(ok=report.ok, records_checked=report.records_checked,
                             problems=[p[:P.MAX_TEXT] for p in report.messages()])

    def status(self) -> dict[str, Any]:
        return {cid: {"state": w.health.state, **w.health.as_dict()} for cid, w in self.workers.items()}

    # the seat watcher's view of the cameras
    def camera_state(self, camera: str) -> str:
        worker = self.workers.get(camera)
        return worker.judged_state if worker is not None else "unknown"

    def camera_frame(self, camera: str):
        worker = self.workers.get(camera)
        return worker.latest_frame if worker is not None else None

    def seat_frame(self, seat: str, customer: str | None = None) -> dict[str, Any]:
        if self.seats is None:
            raise RuntimeError("no seats on this site")
        return self.seats.seat_frame(seat, customer)

    def _worker(self, camera: str) -> CameraWorker:
        worker = self.workers.get(camera)
        if worker is None:
            raise KeyError(f"no camera {camera!r} on this site")
        return worker
