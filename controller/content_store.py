"""Annotation content as files named by their SHA-256: ``<data_dir>/content/<aa>/<sha256>``,
``aa`` the hash's first two hex digits. A file is written to a temporary name beside its final
one and renamed into place, so a reader never sees half of one; the same bytes are stored once."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

CHUNK = 1 << 20


class ContentStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "content"

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a SHA-256 in hex")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; returns (its SHA-256, its size)."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.has(sha):
            self._place(sha, lambda f: f.write(data))
        return sha, len(data)

    def put_file(self, src: Path) -> tuple[str, int]:
        """Store a copy of the file at ``src`` (read twice, in chunks: to hash, then to copy)."""
        h, size = hashlib.sha256(), 0
        with open(src, "rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        sha = h.hexdigest()
        if not self.has(sha):
            def copy(out) -> None:
                with open(src, "rb") as f:
                    shutil.copyfileobj(f, out, CHUNK)
            self._place(sha, copy)
        return sha, size

    def read_bytes(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def _place(self, sha: str, write) -> None:
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
