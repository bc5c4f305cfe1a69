"""Secrets made once per installation (session signing, ledger key, link RPC), safe when several
controller processes start at the same moment: each writes its candidate aside and links it into
place; linking fails when the name exists, so the first complete file wins and every process
reads that one. A reader never sees a half-written file."""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; made by ``make`` (mode 0600) by whichever process gets there first."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process won; its file is complete
    finally:
        os.unlink(aside)
    return path.read_bytes()


def secret_text(path: Path, nbytes: int = 48) -> str:
    """A random URL-safe secret kept in ``path``."""
    return create_once(path, lambda: secrets.token_urlsafe(nbytes).encode()).decode().strip()
