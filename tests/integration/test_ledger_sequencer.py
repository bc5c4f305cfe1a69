"""A fact and its ledger leaf are one transaction; the sequencer integrates every committed leaf
exactly once, in queue order, however many sequencers race and whoever is killed mid-write."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import func, select

from controller.app import open_core
from controller.ledger import Ledger, load_or_create_signing_key
from controller.models import LedgerEntry, LedgerQueued, Role, User
from controller.services.users import create_user
from controller.settings import Settings
from retention.ledger import verify_export
from tests.conftest import ROOT


def core_for(tmp_path, database_url):
    return open_core(Settings(data_dir=tmp_path / "ctl", database_url=database_url))


def another_sequencer(core) -> Ledger:
    """A second ledger over the same database, as another process would hold it."""
    key = load_or_create_signing_key(core.settings.keys_dir / "ledger.ed25519")
    return Ledger(core.sessions, key, core.ledger.origin)


def leaves(core, kind):
    with core.sessions() as s:
        rows = s.scalars(select(LedgerEntry.leaf).where(LedgerEntry.kind == kind).order_by(LedgerEntry.index))
        return [json.loads(leaf)["data"] for leaf in rows]


def test_a_rolled_back_fact_leaves_no_leaf_and_a_committed_one_waits_for_its_index(tmp_path, database_url):
    core = core_for(tmp_path, database_url)
    with core.sessions() as s:
        s.add(User(username="ghost", password_hash="x", role="officer", active=True))
        core.ledger.record(s, "user.created", {"username": "ghost"})
        s.rollback()
    create_user_in = core.sessions()
    with create_user_in as s:
        create_user(s, core.ledger, "real", "real-pass-1", Role.officer, None, "test")
    assert core.ledger.queued() == 1 and core.ledger.size == 0  # committed, not yet integrated
    assert core.ledger.integrate() == 1
    assert [d["username"] for d in leaves(core, "user.created")] == ["real"]
    assert core.ledger.queued() == 0
    core.engine.dispose()


def test_a_leaf_that_could_never_be_integrated_fails_with_its_fact(tmp_path, database_url):
    core = core_for(tmp_path, database_url)
    with core.sessions() as s:
        try:
            core.ledger.record(s, "bad", {"x": float("nan")})
        except ValueError:
            pass
        else:
            raise AssertionError("a NaN was queued")
    assert core.ledger.queued() == 0
    core.engine.dispose()


def test_racing_sequencers_integrate_every_leaf_exactly_once(tmp_path, database_url):
    core = core_for(tmp_path, database_url)
    # Three sequencers as three processes would have them: each its own in-memory tree.
    sequencers = [another_sequencer(core) for _ in range(3)]
    writers_done = threading.Event()
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for i in range(150):
                with core.sessions() as s:
                    core.ledger.record(s, "test.fact", {"writer": w, "i": i})
                    s.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def sequence(ledger: Ledger) -> None:
        try:
            while not writers_done.is_set():
                ledger.integrate(batch=50)
            ledger.integrate_all()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    seqs = [threading.Thread(target=sequence, args=(lg,)) for lg in sequencers]
    for t in writers + seqs:
        t.start()
    for t in writers:
        t.join()
    writers_done.set()
    for t in seqs:
        t.join()
    assert not errors, errors
    core.ledger.integrate_all()
    with core.sessions() as s:
        indexes = list(s.scalars(select(LedgerEntry.index).order_by(LedgerEntry.index)))
        assert s.scalar(select(func.count()).select_from(LedgerQueued)) == 0
    assert indexes == list(range(600))
    facts = sorted((d["writer"], d["i"]) for d in leaves(core, "test.fact"))
    assert facts == sorted((w, i) for w in range(4) for i in range(150))
    # Each writer's facts keep their order: a leaf is integrated after every leaf queued before it.
    for w in range(4):
        mine = [d["i"] for d in leaves(core, "test.fact") if d["writer"] == w]
        assert mine == sorted(mine)
    report = verify_export(core.ledger.export(), trusted_public_key=core.ledger.public_key)
    assert report.ok, report.problems[:5]
    core.engine.dispose()


WRITER = """
import sys
from controller.app import open_core
from controller.models import Role
from controller.services.users import create_user
from controller.settings import Settings
core = open_core(Settings(data_dir=sys.argv[1], database_url=sys.argv[2]))
n = int(sys.argv[3])
while True:
    with core.sessions() as s:
        create_user(s, core.ledger, f"u{n}", "password-123", Role.officer, None, "test")
    print(n, flush=True)
    n += 1
"""


def test_kill_9_of_writers_and_sequencer_leaves_every_fact_with_exactly_one_leaf(tmp_path, database_url):
    core = core_for(tmp_path, database_url)
    rng = random.Random(7)
    seq_stop = threading.Event()

    def sequencer() -> None:  # a sequencer that also dies and comes back, as a process would
        while not seq_stop.is_set():
            lg = another_sequencer(core)
            end = time.monotonic() + rng.uniform(0.1, 0.5)
            while time.monotonic() < end and not seq_stop.is_set():
                lg.integrate(batch=7)

    seq = threading.Thread(target=sequencer)
    seq.start()
    next_n = 0
    try:
        for _ in range(6):  # a writer process killed with SIGKILL at a random moment, six times
            p = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "ctl"), database_url, str(next_n)],
                                 cwd=ROOT, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
            seen = 0
            deadline = time.monotonic() + 60
            target = rng.randint(3, 12)
            while seen < target and time.monotonic() < deadline:
                if p.stdout.readline():
                    seen += 1
            time.sleep(rng.uniform(0, 0.05))  # kill somewhere inside the next write
            p.send_signal(signal.SIGKILL)
            p.wait(10)
            next_n += 1000
    finally:
        seq_stop.set()
        seq.join()
    core.ledger.integrate_all()
    with core.sessions() as s:
        users = set(s.scalars(select(User.username)))
        assert s.scalar(select(func.count()).select_from(LedgerQueued)) == 0
    created = [d["username"] for d in leaves(core, "user.created")]
    assert len(users) >= 6 * 3
    assert sorted(created) == sorted(users)  # every committed fact has one leaf, no leaf lacks its fact
    report = verify_export(core.ledger.export(), trusted_public_key=core.ledger.public_key)
    assert report.ok, report.problems[:5]
    core.engine.dispose()
