"""The edge's seat watcher over the demo site: camera states and frames in, seat states, alarms
and the site's coverage figure out, reported only when they change. The cameras here are a
stand-in that hands over states and frames (the watcher's face to the video service); the
simulator end to end comes with the detector."""
from __future__ import annotations

import datetime as dt
import threading
import time

import cv2
import numpy as np

from edge_agent.seats import CONFIRM_ROUNDS, LAST_ROUND_KEY, RECENT, SeatWatcher
from edge_agent.store import EdgeStore
from edge_agent.wire.site import load_site_file
from tests.conftest import DEMO_SITE, wait_for

SITE = load_site_file(DEMO_SITE)
SUB_WIDTH = 640


class Cameras:
    def __init__(self) -> None:
        self.states = {c.id: "recording" for c in SITE.cameras}
        self.blur: set[str] = set()
        rng = np.random.default_rng(7)
        self.frames = {}
        for cam in SITE.cameras:
            w, h = cam.resolution
            scale = SUB_WIDTH / w
            frame = np.full((round(h * scale), SUB_WIDTH, 3), 80, np.uint8)
            for seat in SITE.seats:
                for v in seat.views:
                    if v.camera == cam.id:  # text-like detail on every screen
                        mask = np.zeros(frame.shape[:2], np.uint8)
                        cv2.fillPoly(mask, [np.round(np.array(v.screen) * scale).astype(np.int32)], 1)
                        noise = rng.integers(0, 255, frame.shape, dtype=np.uint8)
                        frame[mask.astype(bool)] = noise[mask.astype(bool)]
            self.frames[cam.id] = frame

    def camera_state(self, camera: str) -> str:
        return self.states[camera]

    def camera_frame(self, camera: str):
        frame = self.frames[camera]
        return cv2.GaussianBlur(frame, (0, 0), 5) if camera in self.blur else frame


def events(store: EdgeStore, kind: str) -> list[dict]:
    return [e.data for e in store.pending(100_000) if e.kind == kind]


def test_states_alarms_and_coverage_follow_the_cameras(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    cams = Cameras()
    watcher = SeatWatcher(SITE, cams, store)
    first = watcher.judge()
    assert all(s.covered for s in first), [(s.seat, s.reasons) for s in first if not s.covered]
    assert events(store, "site.coverage")[-1] == {"percent": 100.0, "seats": len(SITE.seats), "covered": len(SITE.seats)}
    assert not events(store, "alarm.seat_uncovered")
    watcher.judge()
    assert len(events(store, "seat.state")) == len(SITE.seats)  # nothing changed: nothing reported

    # The camera watching A1 goes offline; seats seen only by it lose coverage, with the reason.
    cam = next(v.camera for v in next(s for s in SITE.seats if s.id == "A1").views)
    only_there = {s.id for s in SITE.seats if [v.camera for v in s.views] == [cam]}
    cams.states[cam] = "offline"
    watcher.judge()
    lost = {e["seat"]: e for e in events(store, "seat.state")[len(SITE.seats):]}
    assert set(lost) == only_there and all(e["reasons"] == ["camera_offline"] for e in lost.values())
    alarms = events(store, "alarm.seat_uncovered")
    assert {a["seat"] for a in alarms} == only_there and all(a["severity"] == "critical" for a in alarms)
    assert events(store, "site.coverage")[-1]["covered"] == len(SITE.seats) - len(only_there)

    # Back online but out of focus for a whole look-back window: the reason changes; then sharp
    # again: covered, alarms cleared.
    cams.states[cam] = "recording"
    cams.blur.add(cam)
    watcher.judge()
    assert all(watcher.latest[s].covered for s in only_there)  # one blurred look is not enough...
    for _ in range(RECENT):
        watcher.judge()
    assert {s: watcher.latest[s].reasons for s in only_there} == {s: ("out_of_focus",) for s in only_there}
    cams.blur.clear()
    reported = len(events(store, "seat.state"))
    watcher.judge()
    assert all(watcher.latest[s].covered for s in only_there)
    # A verdict from the picture is reported once it holds for CONFIRM_ROUNDS rounds.
    assert len(events(store, "seat.state")) == reported
    for _ in range(CONFIRM_ROUNDS - 1):
        watcher.judge()
    assert {e["seat"] for e in events(store, "seat.state")[reported:]} == only_there
    cleared = [a for a in events(store, "alarm.seat_uncovered") if a.get("state") == "cleared"]
    assert {a["source"] for a in cleared} == {f"seat:{s}" for s in only_there}
    assert events(store, "site.coverage")[-1]["percent"] == 100.0
    store.close()


def test_the_first_round_after_the_edge_was_down_reports_the_silence_first(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    SeatWatcher(SITE, Cameras(), store).judge()
    assert not events(store, "coverage.gap")  # a first start ever: nothing was missed
    down_at = time.time() - 3600
    store.put(LAST_ROUND_KEY, repr(down_at))  # the appliance was off for an hour
    restarted = SeatWatcher(SITE, Cameras(), store, gap_after_s=60)
    restarted.judge()
    (gap,) = events(store, "coverage.gap")
    assert abs(dt.datetime.fromisoformat(gap["since"]).timestamp() - down_at) < 0.01
    assert dt.datetime.fromisoformat(gap["until"]).timestamp() > down_at + 3590
    assert gap["seats"] == [s.id for s in SITE.seats]
    kinds = [e.kind for e in store.pending(100_000)]
    gap_at = kinds.index("coverage.gap")
    assert "seat.state" in kinds[gap_at + 1:]  # the fresh verdicts come after the silence
    restarted.judge()
    SeatWatcher(SITE, Cameras(), store, gap_after_s=60).judge()  # a quick restart: no gap
    store.put(LAST_ROUND_KEY, "garbage")  # an unreadable mark is no gap, and no crash
    SeatWatcher(SITE, Cameras(), store, gap_after_s=60).judge()
    assert len(events(store, "coverage.gap")) == 1
    store.close()


def test_a_camera_still_starting_gives_no_verdict_and_no_alarm(tmp_path):
    store = EdgeStore(tmp_path / "edge.db")
    cams = Cameras()
    late = SITE.cameras[0].id
    seats = {s.id for s in SITE.seats if [v.camera for v in s.views] == [late]}
    ready = cams.frames.pop(late)
    cams.camera_frame = lambda camera: cams.frames.get(camera)  # connected, no frame decoded yet
    watcher = SeatWatcher(SITE, cams, store)
    watcher.judge()
    assert {watcher.latest[s].reasons for s in seats} == {("not_analysed",)}  # live status says so
    reported = {e["seat"] for e in events(store, "seat.state")}
    assert reported == {s.id for s in SITE.seats} - seats  # but nothing is reported for them
    cams.frames[late] = ready
    watcher.judge()
    assert {e["seat"] for e in events(store, "seat.state")} == {s.id for s in SITE.seats}
    assert all(e["covered"] for e in events(store, "seat.state"))
    assert not events(store, "alarm.seat_uncovered")
    store.close()


def test_a_camera_change_is_judged_on_wake_and_a_changed_verdict_is_announced(tmp_path):
    """The video service wakes the watcher when a camera's state changes; the watcher does not
    wait for its poll, and tells the agent (which sends its status at once) only when a seat's
    verdict differs from the last round's."""
    store = EdgeStore(tmp_path / "edge.db")
    cams = Cameras()
    watcher = SeatWatcher(SITE, cams, store)
    announced, rounds = [], []
    watcher.on_change = lambda: announced.append(watcher.status()["A1"])

    def judge():
        watcher.__class__.judge(watcher)
        rounds.append(time.monotonic())

    watcher.judge = judge
    cam = next(v.camera for v in next(s for s in SITE.seats if s.id == "A1").views)
    runner = threading.Thread(target=watcher.run, args=(3600.0,), kwargs={"poll_s": 3600.0, "grace_s": 0.0})
    runner.start()
    try:
        wait_for(lambda: len(rounds) == 1, timeout=10, what="the first round")
        assert announced == [{"covered": True, "reasons": [], "occupied": None}]
        cams.states[cam] = "tampered"
        woken = time.monotonic()
        watcher.wake()
        wait_for(lambda: len(rounds) == 2, timeout=10, what="a round on wake")
        assert rounds[1] - woken < 2  # not the hour-long poll
        assert announced[1:] == [{"covered": False, "reasons": ["camera_tampered"], "occupied": None}]
    finally:
        watcher.stop()
        runner.join(10)
    assert not runner.is_alive()
    judge()  # the same verdicts again: nothing announced
    assert len(rounds) == 3 and len(announced) == 2
    store.close()
