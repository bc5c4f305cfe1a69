"""The Device face over Netmiko (cisco_ios, huawei, hp_comware).

A session is only trusted where it can be seen to be: after login IOS enters enable mode with the
switch's secret, and every read runs at the privileged exec prompt and must not be refused.
Configuration lines go one at a time, not through ``send_config_set``: each line must be echoed
(only then is it counted as sent), draw no refusal, and leave the session in the mode it should
(``replies.py``), so a line the device ignored without a word stops the run as surely as one it
rejected. Anything Netmiko or paramiko raise (Netmiko raises bare ``ValueError`` for "Failed to
enter configuration mode") becomes a ``DeviceError`` naming the device.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from netmiko import ConnectHandler

from .apply import DeviceError
from .replies import is_config_prompt, is_exec_prompt, refusal, wrong_mode

SHOW_RUNNING = {"cisco_ios": "show running-config", "huawei": "display current-configuration",
                "hp_comware": "display current-configuration"}
ENABLE_VENDORS = {"cisco_ios"}  # VRP and Comware log in with their role: no enable step
LEAVE_CONFIG = {"cisco_ios": ("end", "exit"), "huawei": ("return", "quit"), "hp_comware": ("return", "quit")}


@dataclass(frozen=True)
class SwitchAccess:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    vendor: str
    timeout: float = 20.0
    secret: str = field(default="", repr=False)  # enable secret (IOS); empty where there is none


class NetmikoDevice:
    def __init__(self, access: SwitchAccess) -> None:
        self.vendor = access.vendor
        self.name = f"{access.host}:{access.port}"
        self._timeout = access.timeout
        self._conn = self._run("cannot connect", ConnectHandler, device_type=access.vendor, host=access.host,
                               port=access.port, username=access.username, password=access.password,
                               secret=access.secret, conn_timeout=access.timeout, auth_timeout=access.timeout,
                               banner_timeout=access.timeout)
        try:
            if self.vendor in ENABLE_VENDORS:
                self._run("entering enable mode", self._conn.enable)
            self._at_exec("after login")
        except DeviceError:
            self.close()
            raise

    def _fail(self, reason: str, line: str | None = None) -> DeviceError:
        return DeviceError(reason, device=self.name, line=line)

    def _run(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DeviceError:
            raise
        except Exception as exc:  # noqa: BLE001 - Netmiko's ValueErrors, its own and paramiko's errors, OSError
            raise self._fail(f"{what}: {type(exc).__name__}: {exc}") from None

    def _prompt(self) -> str:
        return self._run("reading the prompt", self._conn.find_prompt).strip()

    def _at_exec(self, what: str) -> None:
        prompt = self._prompt()
        if not is_exec_prompt(self.vendor, prompt):
            raise self._fail(f"{what}: not at the privileged exec prompt (prompt {prompt!r}); "
                             "is the enable secret right?")

    def _show(self, command: str) -> str:
        out = self._run(command, self._conn.send_command, command, read_timeout=self._timeout)
        refused = refusal(out)
        if refused:
            raise self._fail(f"the device refused {command!r}: {refused}", command)
        return out

    def read_config(self) -> tuple[str, str]:
        self._at_exec("reading the configuration")
        running = self._show(SHOW_RUNNING[self.vendor])
        listing = self._show("show ip access-lists") if self.vendor == "cisco_ios" else ""
        return running, listing

    def _prompt_pattern(self) -> str:
        base = re.escape(self._conn.base_prompt)
        if self.vendor == "cisco_ios":
            return rf"^{base}[^\n]*[>#][ \t]*$"
        return rf"^[<\[][~*]?{base}[^\n]*[>\]][ \t]*$"

    def _line(self, line: str) -> tuple[str, str]:
        """Send one line; (what the device answered, the prompt it ended at)."""
        conn = self._conn

        def exchange() -> str:
            conn.write_channel(conn.normalize_cmd(line))
            conn.read_until_pattern(pattern=re.escape(line.strip()), read_timeout=self._timeout)
            return conn.read_until_pattern(pattern=self._prompt_pattern(), read_timeout=self._timeout,
                                           re_flags=re.MULTILINE)
        answer = [ln for ln in self._run(f"sending {line.strip()!r}", exchange).splitlines() if ln.strip()]
        return "\n".join(answer[:-1]), (answer[-1].strip() if answer else "")

    def send_config(self, lines: list[str], sent: list[str] | None = None) -> str:
        sent = [] if sent is None else sent
        self._at_exec("before configuring")
        output = self._run("entering configuration mode", self._conn.config_mode)
        top = self._prompt()
        if not is_config_prompt(self.vendor, top):
            raise self._fail(f"entering configuration mode: prompt {top!r} is not configuration mode")
        prompt = top
        for line in lines:
            answer, after = self._line(line)
            sent.append(line)
            output += answer + "\n"
            problem = refusal(answer) or wrong_mode(self.vendor, line, top, prompt, after)
            if problem:
                raise self._fail(f"the device refused {line.strip()!r}: {problem}", line)
            prompt = after
        self._leave_config()
        return output

    def _leave_config(self) -> None:
        """Back to the exec prompt; a switch that lacks ``end`` (or ``return``) leaves level by level."""
        leave, up = LEAVE_CONFIG[self.vendor]
        prompt = ""
        for command in (leave, up, up, up):
            _, prompt = self._line(command)
            if is_exec_prompt(self.vendor, prompt):
                return
        raise self._fail(f"cannot leave configuration mode (prompt {prompt!r})")

    def save(self) -> None:
        self._at_exec("saving")
        out = self._run("saving", self._conn.save_config)
        refused = refusal(out or "")
        if refused:
            raise self._fail(f"the device refused to save: {refused}")

    def close(self) -> None:
        try:
            self._conn.disconnect()
        except Exception:  # noqa: BLE001 - a dropped session may not close cleanly
            pass
