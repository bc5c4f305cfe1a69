"""Reading the site file as the simulators do: plain YAML, read on their own (a simulator shares
no code with what it stands in front of), with errors that name the file."""
from __future__ import annotations

import os
from pathlib import Path

import yaml


def read_site(path: str | Path) -> dict:
    """The site file's top-level mapping; ValueError names the file and what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read site file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a site file must be a mapping at the top level")
    return raw


def section(raw: dict, path: str | Path, key: str) -> list:
    """A top-level list (absent or empty: []); ValueError when it is something else."""
    items = raw.get(key) or []
    if not isinstance(items, list):
        raise ValueError(f"{path}: '{key}' must be a list")
    return items


def login_password(entry: dict, where: str, site_path: str | Path) -> str:
    """A device's own password as the site file gives it: inline (`password`), in the environment
    (`password_env`) or in a file (`password_file`, relative to the site file's folder)."""
    if entry.get("password") is not None:
        return str(entry["password"])
    env, file = entry.get("password_env"), entry.get("password_file")
    if env is not None:
        if not isinstance(env, str) or not os.environ.get(env):
            raise ValueError(f"{where}: environment variable {env} (password_env) is not set")
        return os.environ[env]
    if file is not None:
        path = Path(site_path).parent / str(file)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"{where}: cannot read {path} (password_file): {exc}") from exc
        if not value:
            raise ValueError(f"{where}: {path} (password_file) is empty")
        return value
    raise ValueError(f"{where}: give 'password', 'password_env' or 'password_file'")
