"""Where a simulated gate gets its secure channel base key (SCBK), 16 bytes per device.

Order: the environment variable named by the gate's `osdp.scbk_env` (32 hex digits), else the
key file `<keys dir>/<gate id>.scbk` (hex), else a fresh `secrets.token_bytes(16)` written to
that file (0600) so the control panel can be given the same key. The OSDP default install key
(SCBK-D) is refused wherever it comes from: a device on it has no secret at all.
"""
from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("simulators.turnstile.keys")

SCBK_D = bytes(range(0x30, 0x40))  # the well-known install-mode key
DEFAULT_KEYS_DIR = Path("var/osdp-keys")


@dataclass(frozen=True)
class GateKey:
    key: bytes
    source: str  # "env", "file" or "generated"
    where: str  # the variable name or the file path

    def describe(self) -> str:
        return f"{self.source}:{self.where}"


def parse_key(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"{where}: an SCBK must be 32 hex digits") from None
    if len(key) != 16:
        raise ValueError(f"{where}: an SCBK must be 16 bytes (32 hex digits), not {len(key)}")
    if key == SCBK_D:
        raise ValueError(f"{where}: that is the OSDP default install key; use a secret one")
    return key


def key_file(keys_dir: str | Path, gate_id: str) -> Path:
    return Path(keys_dir) / f"{gate_id}.scbk"


def resolve_key(gate_id: str, scbk_env: str | None, keys_dir: str | Path | None) -> GateKey:
    if scbk_env and os.environ.get(scbk_env):
        return GateKey(parse_key(os.environ[scbk_env], f"${scbk_env}"), "env", scbk_env)
    path = key_file(keys_dir if keys_dir is not None else DEFAULT_KEYS_DIR, gate_id)
    if path.exists():
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read key file: {exc}") from exc
        return GateKey(parse_key(text, str(path)), "file", str(path))
    key = secrets.token_bytes(16)
    write_key(path, key)
    return GateKey(key, "generated", str(path))


def write_key(path: Path, key: bytes) -> None:
    """Write a key file readable by its owner only (also used when a panel sends osdp_KEYSET)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key.hex() + "\n")
    os.replace(tmp, path)
