"""The simulated switches of a site (or of a list of specs), run together with one control
endpoint.

    fleet = SwitchFleet("simulators/sites/demo.yaml", control_port=0, ephemeral=True)
    fleet.start()
    sw = fleet.switches["sw-core"]        # a SwitchSimulator: .port, .command_log, .faults ...
    fleet.stop()
"""
from __future__ import annotations

import logging
from pathlib import Path

import paramiko

from .control import ControlServer
from .device import SwitchSimulator
from .site_view import SwitchSpec, load_switches

log = logging.getLogger("simulators.switch.fleet")

HOST_KEY_NAME = "ssh_host_ecdsa_key"


def load_host_key(path: str | Path) -> paramiko.PKey:
    """Read the SSH host key at `path`, creating it there first when it does not exist, so
    clients see the same fingerprint across restarts."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = paramiko.ECDSAKey.generate()
        key.write_private_key_file(str(path))
        return key
    try:
        return paramiko.PKey.from_path(path)
    except (paramiko.SSHException, OSError, ValueError) as exc:
        raise ValueError(f"{path}: unusable SSH host key: {exc}") from exc


class SwitchFleet:
    def __init__(self, site_path: str | Path | None = None, *,
                 specs: list[SwitchSpec] | None = None, switches: list[str] | None = None,
                 control_port: int | None = None, control_host: str = "127.0.0.1",
                 state_dir: str | Path | None = None, port_offset: int = 0,
                 ephemeral: bool = False, command_log: str | Path | None = None,
                 host_key: str | Path | paramiko.PKey | None = None) -> None:
        if (site_path is None) == (specs is None):
            raise ValueError("give either a site file or a list of switch specs")
        where = str(site_path) if site_path is not None else "the given specs"
        found = load_switches(site_path) if site_path is not None else {s.id: s for s in specs}
        if not found:
            raise ValueError(f"{where}: there are no switches")
        wanted = list(found) if switches is None else list(switches)
        unknown = [s for s in wanted if s not in found]
        if unknown or not wanted:
            raise ValueError(f"no switch(es) {', '.join(unknown) or '(none given)'} in {where}; "
                             f"switches: {', '.join(found)}")
        state_dir = Path(state_dir) if state_dir else None
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        if isinstance(host_key, paramiko.PKey):
            key = host_key
        elif host_key is not None:
            key = load_host_key(host_key)
        elif state_dir is not None:
            key = load_host_key(state_dir / HOST_KEY_NAME)
        else:
            key = paramiko.ECDSAKey.generate()
        self.switches: dict[str, SwitchSimulator] = {}
        for sid in wanted:
            spec = found[sid]
            port = 0 if ephemeral else spec.port + port_offset
            if not 0 <= port < 65536:
                raise ValueError(f"switch {sid}: port {spec.port} + offset {port_offset} is not "
                                 f"a TCP port")
            self.switches[sid] = SwitchSimulator(
                spec, port=port, host_key=key, command_log_file=command_log,
                state_file=state_dir / f"{sid}.json" if state_dir else None)
        self.control = (ControlServer(self, control_host, control_port)
                        if control_port is not None else None)

    def start(self) -> None:
        started: list[SwitchSimulator] = []
        try:
            for sw in self.switches.values():
                try:
                    sw.start()
                except OSError as exc:
                    raise OSError(f"switch {sw.id}: cannot listen on {sw.spec.host}:"
                                  f"{sw.server.port}: {exc.strerror or exc}") from exc
                started.append(sw)
            if self.control is not None:
                self.control.start()
        except BaseException:
            for sw in started:
                sw.stop()
            raise

    def stop(self) -> None:
        if self.control is not None:
            self.control.stop()
        for sw in self.switches.values():
            sw.stop()

    def __enter__(self) -> "SwitchFleet":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
