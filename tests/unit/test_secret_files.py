"""Secrets made once per installation: processes starting together all get the same one."""
from __future__ import annotations

import multiprocessing as mp
import os
import stat

from controller.secret_files import create_once, secret_text


def _race(path: str, start, out) -> None:
    start.wait()
    out.put(secret_text(__import__("pathlib").Path(path)))


def test_processes_starting_at_once_read_one_secret(tmp_path):
    ctx = mp.get_context("fork")
    path = tmp_path / "keys" / "session.secret"
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_race, args=(str(path), start, out)) for _ in range(12)]
    for p in procs:
        p.start()
    start.set()
    got = {out.get(timeout=30) for _ in procs}
    for p in procs:
        p.join(10)
    assert len(got) == 1 and got == {path.read_text()}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["session.secret"]  # nothing left aside


def test_an_existing_file_is_kept_and_make_is_not_called(tmp_path):
    path = tmp_path / "ledger.key"
    path.write_bytes(b"old")

    def never() -> bytes:
        raise AssertionError("made again")
    assert create_once(path, never) == b"old"
