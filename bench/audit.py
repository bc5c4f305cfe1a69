"""Offline audit-bundle verification at inspection scale.

Builds a manifests-only audit bundle (metadata only: chains, heads, proofs, a signed checkpoint)
for CAMERAS x DAYS of one-minute segments, written front to back through temporary files, and
times ``verify_bundle`` on it (index_s; the manifests are checked in one process per CPU, see
``--workers``). Then hashes a sample of real-size segment files with
the verifier's hashing and with ``sha256sum``. Last line::

    audit: segments=... index_s=... hash_mb_s=... sha256sum_mb_s=...
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from retention.audit_bundle import (
    BUNDLE_FORMAT,
    COVERED_FILES,
    add_member,
    readme,
    verify_bundle,
)
from retention.chain import _GENESIS_DOMAIN, _RECORD_DOMAIN
from retention.checkpoint import Checkpoint, NoteSigner, public_key_raw
from retention.ledger import entry_leaf_bytes
from retention.merkle import MerkleTree, leaf_hash
from retention.tlog_proof import TlogProof

ORIGIN = "bench.siteguard.example/ledger"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
SEGMENT_BYTES = 3_750_000  # one minute at 500 kbit/s


def write_manifest(path: Path, camera: str, days: int) -> tuple[int, str, str]:
    """One camera's chain of one-minute segments; returns (segments, head link, file sha256)."""
    minutes = [f"T{h:02d}:{m:02d}:00.000000Z" for h in range(24) for m in range(60)]
    cam = camera.encode()
    prev = hashlib.sha256(_GENESIS_DOMAIN + cam).hexdigest()
    sha256 = hashlib.sha256
    domain = _RECORD_DOMAIN
    seq = 0
    whole = sha256()
    with path.open("wb", buffering=1 << 22) as f:
        for day in range(days):
            date = (T0 + timedelta(days=day)).strftime("%Y-%m-%d")
            next_date = (T0 + timedelta(days=day + 1)).strftime("%Y-%m-%d")
            starts = [date + t for t in minutes]
            ends = starts[1:] + [next_date + minutes[0]]
            out = []
            for i in range(1440):
                seq += 1
                line = (f'{{"bytes":{SEGMENT_BYTES},"camera":"{camera}","end":"{ends[i]}","prev":"{prev}",'
                        f'"seq":{seq},"sha256":"{seq:064x}","start":"{starts[i]}"}}').encode()
                prev = sha256(domain + line).hexdigest()
                out.append(line)
            chunk = b"\n".join(out) + b"\n"
            whole.update(chunk)
            f.write(chunk)
    return seq, prev, whole.hexdigest()


def build_bundle(path: Path, cameras: int, days: int, work: Path) -> int:
    key = Ed25519PrivateKey.generate()
    signer = NoteSigner(ORIGIN, key)
    names = [f"cam-{i:02d}" for i in range(1, cameras + 1)]
    heads, entries, manifests, total = {}, [], {}, 0
    ts = "2026-07-01T00:00:00.000000Z"
    with ProcessPoolExecutor(len(os.sched_getaffinity(0))) as pool:  # one camera's manifest a process
        written = list(pool.map(write_manifest, [work / f"{c}.jsonl" for c in names], names, [days] * len(names)))
    for camera, (n, link, digest) in zip(names, written):
        mpath = work / f"{camera}.jsonl"
        total += n
        manifests[camera] = (mpath, digest)
        entries.append(("segment.recorded", {"agent": 1, "camera": camera, "seq": n, "link": link}))
        heads[camera] = {"seq": n, "link": link, "ledger_index": len(entries) - 1}
        print(f"... manifest of {camera}: {n} segments", flush=True)
    files = {"policy.json": json.dumps({"policy": {"min_months": 6, "max_months": 12, "timezone": "UTC"},
                                        "holds": []}).encode(),
             "heads.json": json.dumps(heads, sort_keys=True).encode(),
             "gaps.jsonl": b"", "deletions.jsonl": b"", "network.jsonl": b"", "access.jsonl": b"",
             "drills.jsonl": b""}
    hashes = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
    hashes.update({f"manifests/{c}.jsonl": d for c, (_p, d) in manifests.items()})
    creation = {"id": "bench", "site": "bench", "cameras": names, "by": "bench", "files": hashes}
    entries.append(("audit.bundle", creation))
    docs = [{"index": i, "ts": ts, "kind": k, "data": d} for i, (k, d) in enumerate(entries)]
    tree = MerkleTree([leaf_hash(entry_leaf_bytes(i, ts, k, d)) for i, (k, d) in enumerate(entries)])
    note = signer.sign(Checkpoint(ORIGIN, len(entries), tree.root()))
    bundle = {"format": BUNDLE_FORMAT, "origin": ORIGIN, "public_key": public_key_raw(key).hex(),
              "manifests_only": True, "creation": creation, "creation_index": len(entries) - 1}
    now = time.time()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        add_member(tar, "README.txt", readme("bench", ORIGIN, public_key_raw(key).hex(), True), now)
        add_member(tar, "bundle.json", json.dumps(bundle).encode(), now)
        for camera, (mpath, _d) in manifests.items():
            tar.add(mpath, f"manifests/{camera}.jsonl")
            mpath.unlink()
        for name in COVERED_FILES:
            add_member(tar, name, files[name], now)
        add_member(tar, "ledger/key.txt", f"origin {ORIGIN}\nkey {public_key_raw(key).hex()}\n".encode(), now)
        add_member(tar, "ledger/checkpoint.txt", note.encode(), now)
        add_member(tar, "ledger/entries.jsonl",
                   b"".join(json.dumps(d).encode() + b"\n" for d in docs), now)
        for i in range(len(entries)):
            add_member(tar, f"proofs/{i}.tlog-proof",
                       TlogProof(i, tuple(tree.inclusion_proof(i, len(entries))), note).encode().encode(), now)
    return total, public_key_raw(key)


def hash_rates(work: Path, files: int, size_mb: int) -> tuple[float, float]:
    paths = []
    for i in range(files):
        p = work / f"seg-{i}.mp4"
        with p.open("wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        paths.append(p)
    total = files * size_mb * (1 << 20) / 1e6
    subprocess.run(["sha256sum", *map(str, paths)], capture_output=True, check=True)  # warm the cache alike
    t = time.perf_counter()
    for p in paths:
        h = hashlib.sha256()
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    ours = total / (time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, paths)], capture_output=True, check=True)
    theirs = total / (time.perf_counter() - t)
    return ours, theirs


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the verifier's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=64)
    ap.add_argument("--days", type=int, default=182)
    ap.add_argument("--files", type=int, default=4, help="sample segment files to hash")
    ap.add_argument("--file-mb", type=int, default=32, help="size of each sample file")
    ap.add_argument("--dir", help="work folder (default a temporary one)")
    ap.add_argument("--workers", type=int, help="processes checking manifests (default: the verifier's choice)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="siteguard-audit-bench-", dir=args.dir))
    try:
        path = work / "bundle.tar"
        t = time.perf_counter()
        segments, key = build_bundle(path, args.cameras, args.days, work)
        print(f"built {path.stat().st_size / 1e9:.2f} GB bundle of {segments} segments in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        cpu = _cpu_s()
        t = time.perf_counter()
        report = verify_bundle(str(path), key, workers=args.workers)
        index_s = time.perf_counter() - t
        cpu = _cpu_s() - cpu
        if not report.ok or report.segments != segments:
            raise SystemExit(f"verification failed: {report.problems[:5]}")
        path.unlink()
        print(f"verified {report.segments} segments of {len(report.seconds)} cameras in {index_s:.1f} s "
              f"({cpu:.1f} s of CPU, load average {os.getloadavg()[0]:.1f})", flush=True)
        ours, theirs = hash_rates(work, args.files, args.file_mb)
        print(f"audit: segments={segments} index_s={index_s:.2f} hash_mb_s={ours:.0f} sha256sum_mb_s={theirs:.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
