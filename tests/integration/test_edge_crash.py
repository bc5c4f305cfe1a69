"""The edge loses no report: killed right after a segment is indexed or a recording is deleted,
the restarted edge still reports it to the controller, once; and an alarm raised before a
restart is neither raised again nor left standing after it.

The crash lands at a chosen point through SITEGUARD_TEST_CRASH_AT (the edge exits as under
kill -9 there); other restarts are plain kill -9.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from sqlalchemy import text

from edge_agent.store import EdgeStore
from retention.policy import RetentionPolicy
from retention.segments import SegmentIndex, SegmentStore
from tests.camera_site import CAMERAS, Fleet, small_site
from tests.conftest import ControllerRig, Proc, make_agent, wait_for

pytestmark = pytest.mark.slow

OLD = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=800)  # past any retention maximum


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("crash")
    site_file = small_site(tmp)
    fleet = Fleet(tmp, site_file)
    rig = ControllerRig(tmp, f"sqlite:///{tmp / 'controller.db'}", site=site_file).start()
    rig.seed_users({"off": ("officer", None)})
    agent = make_agent(tmp, rig, video=True, site=site_file)
    _seed_an_expired_recording(tmp)
    ctx = {"tmp": tmp, "fleet": fleet, "rig": rig, "agent": agent, "runs": 0,
           "officer": rig.client("off", "off-pass")}
    yield ctx
    ctx["agent"].stop()
    rig.proc.stop()
    fleet.stop()


def _seed_an_expired_recording(tmp) -> None:
    """cam-01 seq 1, recorded 800 days ago and already reported, in a data folder of the layout
    from before (the index in segments.db): the first retention round deletes it."""
    data = tmp / "edge-1"
    src = tmp / "old.mp4"
    src.write_bytes(b"an old recording")
    store = SegmentStore(tmp / "recordings", SegmentIndex(data / "segments.db"), RetentionPolicy(),
                         lambda: OLD)
    rec = store.ingest("cam-01", OLD, OLD + dt.timedelta(seconds=4), src)
    store.index.close()
    outbox = EdgeStore(data / "edge.db")
    outbox.append("segment.recorded", {"camera": "cam-01", "seq": rec.seq, "start": rec.start.isoformat(),
                                       "end": rec.end.isoformat(), "bytes": rec.bytes,
                                       "sha256": rec.sha256.hex(), "link": rec.link.hex()})
    outbox.close()


def start_agent(ctx, crash_at: str | None = None) -> Proc:
    ctx["agent"].stop()  # one edge at a time, whatever an earlier test left running
    env = {k: v for k, v in ctx["agent"].env.items() if k != "SITEGUARD_TEST_CRASH_AT"}
    if crash_at:
        env["SITEGUARD_TEST_CRASH_AT"] = crash_at
    ctx["runs"] += 1
    ctx["agent"] = Proc(ctx["agent"].args, env, ctx["agent"].log_path).start()
    return ctx["agent"]


def crashed(proc: Proc) -> bool:
    code = proc.p.poll()
    assert code in (None, 137), f"edge exited with {code}:\n{proc.log()}"
    return code == 137


def events(ctx, kind: str) -> list[tuple[int, dict]]:
    """(edge seq, data) of every event of `kind` the controller stored, in edge order."""
    with ctx["rig"].db().connect() as c:
        rows = c.execute(text("SELECT seq, data FROM events WHERE kind = :k ORDER BY seq"), {"k": kind}).all()
    return [(seq, json.loads(data) if isinstance(data, str) else data) for seq, data in rows]


def started(ctx) -> int:
    """The edge seq of the last 'agent.started' the controller has (0 for none)."""
    return max((seq for seq, _ in events(ctx, "agent.started")), default=0)


def wait_restarted(ctx) -> int:
    """Wait until the controller has the current run's 'agent.started'; its edge seq."""
    return wait_for(lambda: len(events(ctx, "agent.started")) >= ctx["runs"] and started(ctx),
                    timeout=60, what="the restarted edge reporting")


def test_a_deletion_committed_just_before_a_crash_is_reported_once(site):
    # first: any uninterrupted run would delete the expired recording itself
    agent = start_agent(site, crash_at="segment_deleted")
    wait_for(lambda: crashed(agent), timeout=120, what="the edge to die after a retention deletion")
    start_agent(site)
    wait_restarted(site)
    wait_for(lambda: events(site, "segment.deleted"), timeout=60, what="the deletion reported")
    # The restarted edge's own retention round has run (its capacity check comes just before)
    # and a few segments later there is still exactly one report of the deletion.
    wait_for(lambda: len(events(site, "retention.capacity")) >= 2, timeout=90, what="a second retention round")
    capacity = events(site, "retention.capacity")[-1][0]
    wait_for(lambda: sum(seq > capacity for seq, _ in events(site, "segment.recorded")) >= 2 * len(CAMERAS),
             timeout=60, what="segments after the retention round", interval=1)
    deleted = Counter((d["camera"], d["seq"]) for _, d in events(site, "segment.deleted"))
    assert deleted == {("cam-01", 1): 1}
    assert not list((site["tmp"] / "recordings" / "cam-01").rglob(f"{OLD:%Y%m%dT}*.mp4"))
    site["agent"].stop()


def test_a_segment_indexed_just_before_a_crash_is_reported_once(site):
    agent = start_agent(site, crash_at="segment_indexed")
    wait_for(lambda: crashed(agent), timeout=90, what="the edge to die after indexing a segment")
    start_agent(site)
    wait_restarted(site)

    def contiguous() -> dict | None:
        seqs: dict[str, list[int]] = {c: [] for c in CAMERAS}
        for _, d in events(site, "segment.recorded"):
            seqs[d["camera"]].append(d["seq"])
        return seqs if all(len(s) >= 3 for s in seqs.values()) else None

    seqs = wait_for(contiguous, timeout=90, what="segments after the restart", interval=1)
    for camera, got in seqs.items():
        # the segment indexed when the edge died is there, and no segment is reported twice
        assert sorted(got) == list(range(1, max(got) + 1)), (camera, got)
    site["agent"].stop()


def _offline(site) -> list[dict]:
    return [a for a in site["officer"].get("/api/alarms", params={"limit": 500}).json()
            if a["kind"] == "camera_offline" and a["source"] == "camera:cam-01"]


def _raised(site) -> list[int]:
    return [seq for seq, d in events(site, "alarm.camera_offline")
            if d.get("source") == "camera:cam-01" and d.get("state") != "cleared"]


def test_an_alarm_raised_before_a_restart_is_not_raised_again_and_clears_after_it(site):
    if site["agent"].p is None or site["agent"].p.poll() is not None:
        start_agent(site)
        wait_restarted(site)
    site["fleet"].fault("cam-01", "offline")
    try:
        wait_for(lambda: [a for a in _offline(site) if a["state"] == "active"], timeout=60,
                 what="camera_offline raised")
        assert len(_raised(site)) == 1
        site["agent"].kill9()
        start_agent(site)  # the camera is still offline
        since = wait_restarted(site)

        def states_after_restart() -> int:
            return sum(seq > since and d["camera"] == "cam-01" and d["state"] == "offline"
                       for seq, d in events(site, "camera.state"))

        # two offline reports of the restarted edge: its first failed probe and what came of it
        wait_for(lambda: states_after_restart() >= 2, timeout=60, what="the restarted edge probing cam-01")
        assert len(_raised(site)) == 1  # the edge knew the alarm was up and did not raise it again
        site["agent"].kill9()
    finally:
        site["fleet"].fault("cam-01", None)
    start_agent(site)  # the camera is back
    wait_for(lambda: _offline(site) and all(a["state"] == "cleared" for a in _offline(site)), timeout=60,
             what="camera_offline cleared after the restart")
    assert len(_raised(site)) == 1 and len(_offline(site)) == 1
