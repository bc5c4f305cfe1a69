"""SSH side of a simulated switch: paramiko server, password login, an interactive shell that
behaves like a terminal line (echo, CRLF, backspace, Ctrl+Z) in front of the vendor CLI.

One thread per connection. Faults are applied here, line by line: every received line is
logged first, then a drop closes the TCP connection without an SSH goodbye (a cable pulled
mid-change), a slow switch waits before answering, a rejected line gets the CLI's error.
"""
from __future__ import annotations

import logging
import socket
import threading
import time

import paramiko

log = logging.getLogger("simulators.switch.ssh")


class _Auth(paramiko.ServerInterface):
    def __init__(self, device) -> None:
        self.device = device
        self.username = ""
        self.shell = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.device.check_login(username, password):
            self.username = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight,
                                  modes) -> bool:
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth,
                                            pixelheight) -> bool:
        return True

    def check_channel_shell_request(self, channel) -> bool:
        self.shell.set()
        return True


class SshServer:
    def __init__(self, device, host: str, port: int, host_key: paramiko.PKey) -> None:
        self.device, self.host, self.port, self.host_key = device, host, port, host_key
        self._sock: socket.socket | None = None
        self._transports: set[paramiko.Transport] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
            sock.listen(16)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._stopping.clear()
        threading.Thread(target=self._accept_loop, name=f"ssh-{self.device.id}",
                         daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
            self._sock = None
        with self._lock:
            transports = list(self._transports)
        for t in transports:
            t.close()

    def active_sessions(self) -> int:
        with self._lock:
            return sum(1 for t in self._transports if t.is_active())

    def _accept_loop(self) -> None:
        sock = self._sock
        while not self._stopping.is_set() and sock is not None:
            try:
                client, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True,
                             name=f"ssh-{self.device.id}-session").start()

    def _serve(self, client: socket.socket) -> None:
        transport = paramiko.Transport(client)
        transport.add_server_key(self.host_key)
        auth = _Auth(self.device)
        with self._lock:
            self._transports.add(transport)
        try:
            transport.start_server(server=auth)
            chan = transport.accept(20)
            if chan is None or not auth.shell.wait(20):
                return
            Terminal(self.device, chan, transport, client, auth.username).run()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            log.debug("session ended: %s", exc)
        finally:
            transport.close()
            with self._lock:
                self._transports.discard(transport)


class Terminal:
    """The line discipline: what a terminal server / the switch's vty does with keystrokes."""

    def __init__(self, device, chan: paramiko.Channel, transport: paramiko.Transport,
                 sock: socket.socket, username: str) -> None:
        self.device, self.chan, self.transport, self.sock = device, chan, transport, sock
        self.cli = device.new_session(username)
        self._last_cr = False

    def send(self, text: str) -> None:
        if text:
            self.chan.sendall(text.encode("utf-8"))

    def run(self) -> None:
        banner = self.cli.banner()
        self.send("".join(line + "\r\n" for line in banner) + self.cli.prompt())
        line: list[str] = []
        while True:
            data = self.chan.recv(4096)
            if not data:
                return
            echo: list[str] = []
            for ch in data.decode("utf-8", "replace"):
                if ch in "\r\n":
                    if ch == "\n" and self._last_cr:
                        self._last_cr = False
                        continue
                    self._last_cr = ch == "\r"
                    self.send("".join(echo))
                    echo = []
                    text, line = "".join(line), []
                    if not self.on_line(text):
                        return
                    continue
                self._last_cr = False
                if ch in "\x08\x7f":
                    if line:
                        line.pop()
                        echo.append("\b \b")
                elif ch == "\x1a":  # Ctrl+Z
                    self.send("".join(echo) + "^Z")
                    echo, line = [], []
                    self.cli.ctrl_z()
                    self.send("\r\n" + self.cli.prompt())
                elif ch == "\t" or ch >= " ":
                    line.append(ch)
                    echo.append(ch)
                # other control characters (netmiko's keep-alive NUL among them) are ignored
            self.send("".join(echo))

    def on_line(self, text: str) -> bool:
        """Run one received line; False when the session is over."""
        device, cli = self.device, self.cli
        device.record(cli, text)
        counted = cli.in_config() and bool(text.strip()) and cli.pending is None
        if counted and device.faults.count_config_line():
            log.info("%s: dropping session %s on config line %r", device.id, cli.session, text)
            self.drop()
            return False
        if device.faults.slow:
            time.sleep(device.faults.slow)
        try:
            if device.faults.rejects(text):
                lines, prompt, close = cli.reject_lines(text), cli.prompt(), False
            else:
                reply = cli.handle(text)
                lines, prompt, close = reply.lines, reply.prompt, reply.close
        except Exception:  # a simulator bug must not look like a dropped session
            log.exception("%s: command %r failed", device.id, text)
            lines, prompt, close = ["% Internal error in the simulator"], cli.prompt(), False
        self.send("\r\n" + "".join(ln + "\r\n" for ln in lines) + prompt)
        if close:
            self.chan.close()
            return False
        return True

    def drop(self) -> None:
        # No SSH disconnect message and no channel close: the peer just loses the TCP stream.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.transport.close()
