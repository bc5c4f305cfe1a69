"""The Device face over Netmiko (cisco_ios, huawei, hp_comware).

Netmiko only raises on a device error when given an error pattern; without it a switch's
"% Invalid input" scrolls by and the change looks applied. The pattern below covers the three
dialects' error lines.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoBaseException
from paramiko.ssh_exception import SSHException

from .apply import DeviceError

ERROR_PATTERN = r"% ?Invalid|% ?Incomplete|% ?Ambiguous|% ?Unrecognized|% ?Wrong|% ?Too many|Error:"
SHOW_RUNNING = {"cisco_ios": "show running-config", "huawei": "display current-configuration",
                "hp_comware": "display current-configuration"}


@dataclass(frozen=True)
class SwitchAccess:
    host: str
    port: int
    username: str
    password: str
    vendor: str
    timeout: float = 20.0
    secret: str = field(default="", repr=False)


class NetmikoDevice:
    def __init__(self, access: SwitchAccess) -> None:
        self.vendor = access.vendor
        self._timeout = access.timeout
        try:
            self._conn = ConnectHandler(device_type=access.vendor, host=access.host, port=access.port,
                                        username=access.username, password=access.password,
                                        conn_timeout=access.timeout, auth_timeout=access.timeout,
                                        banner_timeout=access.timeout)
        except (NetmikoBaseException, SSHException, OSError, EOFError) as exc:
            raise DeviceError(f"cannot connect to {access.host}:{access.port}: {exc}") from None

    def _run(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (NetmikoBaseException, SSHException, OSError, EOFError) as exc:
            raise DeviceError(f"{what}: {type(exc).__name__}: {exc}") from None

    def read_config(self) -> tuple[str, str]:
        running = self._run("reading the configuration", self._conn.send_command, SHOW_RUNNING[self.vendor],
                            read_timeout=self._timeout)
        listing = ""
        if self.vendor == "cisco_ios":
            listing = self._run("reading the ACLs", self._conn.send_command, "show ip access-lists",
                                read_timeout=self._timeout)
        return running, listing

    def send_config(self, lines: list[str]) -> str:
        return self._run("sending the change", self._conn.send_config_set, lines, error_pattern=ERROR_PATTERN,
                         read_timeout=self._timeout)

    def save(self) -> None:
        self._run("saving", self._conn.save_config)

    def close(self) -> None:
        try:
            self._conn.disconnect()
        except Exception:  # noqa: BLE001 - a dropped session may not close cleanly
            pass
