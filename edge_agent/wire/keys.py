"""CurveZMQ key files for agents and the controller.

Keys are stored in libzmq's own certificate format (`NAME.key` public, `NAME.key_secret`
private), so the files work with zmq tooling too.
"""
from __future__ import annotations

import os
from pathlib import Path

import zmq
import zmq.auth


class KeyFileError(ValueError):
    pass


def ensure_keypair(directory: str | Path, name: str) -> tuple[bytes, bytes]:
    """Load NAME's keypair from `directory`, creating it (private file mode 0600) if absent."""
    directory = Path(directory)
    secret_file = directory / f"{name}.key_secret"
    if not secret_file.exists():
        directory.mkdir(parents=True, exist_ok=True)
        zmq.auth.create_certificates(str(directory), name)
        os.chmod(secret_file, 0o600)
    return load_keypair(secret_file)


def load_keypair(secret_file: str | Path) -> tuple[bytes, bytes]:
    try:
        public, secret = zmq.auth.load_certificate(str(secret_file))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{secret_file}: cannot read CurveZMQ key: {exc}") from None
    if not secret:
        raise KeyFileError(f"{secret_file}: holds no secret key")
    return public, secret


def load_public_key(path: str | Path) -> bytes:
    """A public key from a certificate file, or a file holding just the 40-char Z85 text."""
    path = Path(path)
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"{path}: {exc}") from None
    if len(text) == 40 and "\n" not in text:
        return parse_public_key(text, str(path))
    try:
        public, _ = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: cannot read CurveZMQ public key: {exc}") from None
    return public


def parse_public_key(text: str, where: str = "key") -> bytes:
    key = text.strip().encode()
    try:
        if len(key) != 40 or len(zmq.utils.z85.decode(key)) != 32:
            raise ValueError
    except (ValueError, KeyError):  # KeyError: a character outside the Z85 alphabet
        raise KeyFileError(f"{where}: not a 40-character Z85 CurveZMQ public key") from None
    return key
