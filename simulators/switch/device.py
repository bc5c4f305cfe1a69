"""One simulated switch: its running and saved configuration, command log, faults and SSH
listener. `SwitchSimulator(SwitchSpec.make(...))` is the library face for tests."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
from pathlib import Path

import paramiko

from . import render_comware, render_ios, render_vrp
from .comware import ComwareDialect
from .dialect import Dialect, Workspace
from .faults import Faults
from .ios import IosDialect
from .site_view import SwitchSpec
from .ssh_server import SshServer
from .state import SwitchState
from .vrp import VrpDialect

log = logging.getLogger("simulators.switch.device")

DIALECTS: dict[str, type[Dialect]] = {"cisco_ios": IosDialect, "huawei": VrpDialect,
                                      "hp_comware": ComwareDialect}
RENDER = {"cisco_ios": render_ios, "huawei": render_vrp, "hp_comware": render_comware}


class SwitchSimulator(Workspace):
    def __init__(self, spec: SwitchSpec, *, port: int | None = None,
                 state_file: str | Path | None = None, command_log_file: str | Path | None = None,
                 host_key: paramiko.PKey | None = None) -> None:
        self.spec = spec
        self.id, self.vendor, self.username = spec.id, spec.vendor, spec.username
        self.factory = SwitchState.factory(spec.vendor, spec.hostname, list(spec.ports))
        self.state_file = Path(state_file) if state_file else None
        saved = self._load_saved() or self.factory.copy()
        # Power-on: the switch runs what was saved.
        super().__init__(saved.copy(), saved)
        self.faults = Faults()
        self._log: list[dict] = []
        self._log_lock = threading.Lock()
        self._log_file = Path(command_log_file) if command_log_file else None
        self._sessions = 0
        self.server = SshServer(self, spec.host, spec.port if port is None else port,
                                host_key or paramiko.ECDSAKey.generate())

    # ---- life cycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.server.port

    @property
    def host(self) -> str:
        return self.spec.host

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "SwitchSimulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def netmiko_params(self) -> dict:
        """Keyword arguments for netmiko's ConnectHandler."""
        return {"device_type": self.vendor, "host": self.host, "port": self.port,
                "username": self.spec.username, "password": self.spec.password}

    # ---- sessions --------------------------------------------------------------------------
    def new_session(self, username: str) -> Dialect:
        with self._log_lock:
            self._sessions += 1
            sid = self._sessions
        return DIALECTS[self.vendor](self, session=sid, username=username)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no SSH session is open (a client's last line has been logged)."""
        deadline = time.monotonic() + timeout
        while self.server.active_sessions():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def check_login(self, username: str, password: str) -> bool:
        return (username, password) == (self.spec.username, self.spec.password)

    def record(self, dialect: Dialect, line: str) -> None:
        entry = {"ts": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
                 "switch": self.id, "session": dialect.session, "user": dialect.username,
                 "mode": dialect.mode, "config": dialect.in_config(), "line": line}
        with self._log_lock:
            self._log.append(entry)
            if self._log_file is not None:
                with self._log_file.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(entry) + "\n")

    @property
    def command_log(self) -> list[dict]:
        with self._log_lock:
            return [dict(e) for e in self._log]

    def lines(self, config_only: bool = False) -> list[str]:
        """The non-empty lines received, in order (what a test usually compares)."""
        return [e["line"] for e in self.command_log
                if e["line"].strip() and (e["config"] or not config_only)]

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    # ---- configuration ---------------------------------------------------------------------
    def save(self, state: SwitchState) -> None:
        self.saved = state.copy()
        if self.state_file is not None:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"saved": self.saved.to_dict()}, indent=1),
                           encoding="utf-8")
            os.replace(tmp, self.state_file)

    def _load_saved(self) -> SwitchState | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            st = SwitchState.from_dict(data["saved"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.state_file}: unusable state file: {exc}") from exc
        if st.vendor != self.vendor:
            raise ValueError(f"{self.state_file}: saved for {st.vendor}, switch is {self.vendor}")
        return st

    def running_config(self) -> str:
        with self.lock:
            st = self.running.copy()
        return "\n".join(RENDER[self.vendor].running_config(st, self.username)) + "\n"

    def saved_config(self) -> str:
        with self.lock:
            st = self.saved.copy()
        return "\n".join(RENDER[self.vendor].startup_config(st, self.username)) + "\n"

    def set_running(self, text: str | None = None, state: dict | None = None,
                    save: bool = False) -> list[str]:
        """Replace the running config (test setup): from config text as the device prints
        it, applied on top of factory state, or from a state dict. Returns refused lines."""
        problems: list[str] = []
        if state is not None:
            new = SwitchState.from_dict(state)
            if new.vendor != self.vendor:
                raise ValueError(f"state is for {new.vendor}, this switch is {self.vendor}")
        else:
            scratch = Workspace(self.factory.copy())
            problems = DIALECTS[self.vendor](scratch).load(text or "")
            new = scratch.running
        with self.lock:
            self.running = new
            if save:
                self.save(new)
        return problems

    def reload(self) -> None:
        """Power cycle: the running config becomes the saved one."""
        with self.lock:
            self.running = self.saved.copy()

    def snapshot(self) -> dict:
        return {"id": self.id, "vendor": self.vendor, "host": self.host, "port": self.port,
                "hostname": self.running.hostname, "username": self.spec.username,
                "sessions": self.server.active_sessions(), "faults": self.faults.to_dict(),
                "log_entries": len(self._log)}
