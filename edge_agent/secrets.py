"""Reading a credential where it is used: inline in the site file, from the environment
(``<name>_env``) or from a file (``<name>_file``, relative to the site file's folder).

Read at each connection, so a rotated file or variable takes effect on the next one. Errors
name the device and the field, never the value.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

MAX_SECRET_BYTES = 64 * 1024  # a password file, not whatever a wrong path points at


class SecretError(ValueError):
    """A credential the site file names but that cannot be read."""


def read_secret(owner: str, name: str, inline: str | None, env: str | None, file: str | None,
                base_dir: Path, environ: Mapping[str, str] = os.environ) -> str | None:
    """The secret from whichever source is given; None when none is (an optional secret)."""
    if inline is not None:
        return inline
    if env is not None:
        value = environ.get(env)
        if value is None:
            raise SecretError(f"{owner}: {name}_env: environment variable {env} is not set")
        if not value:
            raise SecretError(f"{owner}: {name}_env: environment variable {env} is empty")
        return value
    if file is not None:
        return _read_file(owner, f"{name}_file", base_dir / Path(file).expanduser())
    return None


def _read_file(owner: str, field: str, path: Path) -> str:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_SECRET_BYTES + 1)
    except FileNotFoundError:
        raise SecretError(f"{owner}: {field}: {path} does not exist") from None
    except OSError as exc:
        raise SecretError(f"{owner}: {field}: cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SECRET_BYTES:
        raise SecretError(f"{owner}: {field}: {path} is over {MAX_SECRET_BYTES} bytes; not a secret file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretError(f"{owner}: {field}: {path} is not UTF-8 text") from None
    value = text.rstrip("\r\n")  # editors end files with a newline; it is not part of the secret
    if not value:
        raise SecretError(f"{owner}: {field}: {path} is empty")
    return value


def secret_of(item: BaseModel, name: str, base_dir: Path, environ: Mapping[str, str] = os.environ) -> str | None:
    """``item``'s secret ``name`` (e.g. a camera's ``password``, a switch's enable ``secret``)."""
    owner = f"{type(item).__name__.lower()} {getattr(item, 'id', '?')}"
    return read_secret(owner, name, getattr(item, name), getattr(item, f"{name}_env"),
                       getattr(item, f"{name}_file"), base_dir, environ)
