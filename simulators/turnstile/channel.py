"""The gate's end of the OSDP line: a TCP listener standing in for an RS-485 drop.

One control panel at a time, as on a bus with one master: a new connection replaces the old one
(the panel restarted or lost its link). Everything is non-blocking because libosdp calls
read/write from its refresh loop and must never stall there.

Line noise can be injected in either direction: bytes queued "to the device" are handed to
libosdp ahead of whatever the panel sends next; bytes queued "to the panel" go out on the socket
before the device's next write, so they never split one of its frames.
"""
from __future__ import annotations

import logging
import socket
import threading

import osdp

log = logging.getLogger("simulators.turnstile.channel")


class TcpListenChannel(osdp.Channel):
    def __init__(self, host: str, port: int, name: str) -> None:
        super().__init__()
        self.name = name
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._listener.bind((host, port))
        except OSError:
            self._listener.close()
            raise
        self._listener.listen(2)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._conn: socket.socket | None = None
        self._lock = threading.Lock()
        self._noise_in = bytearray()
        self._noise_out = bytearray()
        self.connections = 0  # how many panels have connected so far
        self.bytes_in = self.bytes_out = 0

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def noise_pending(self) -> int:
        """Injected bytes not yet on the line (panel-bound noise waits for the next reply)."""
        with self._lock:
            return len(self._noise_in) + len(self._noise_out)

    def _accept(self) -> None:
        while True:
            try:
                conn, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: accept failed: %s", self.name, exc)
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._conn is not None:
                log.info("%s: a new panel connection from %s replaces the old one", self.name, peer)
                self._drop()
            self._conn = conn
            self.connections += 1
            log.info("%s: panel connected from %s:%s", self.name, *peer[:2])

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None

    # ---- libosdp's side -----------------------------------------------------------------------

    def read(self, max_bytes: int) -> bytes:
        self._accept()
        with self._lock:
            if self._noise_in:
                chunk = bytes(self._noise_in[:max_bytes])
                del self._noise_in[:max_bytes]
                return chunk
        if self._conn is None:
            return b""
        try:
            data = self._conn.recv(max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            log.info("%s: panel link lost: %s", self.name, exc)
            self._drop()
            return b""
        if not data:
            log.info("%s: panel closed the connection", self.name)
            self._drop()
            return b""
        self.bytes_in += len(data)
        return data

    def write(self, buf: bytes) -> int:
        if self._conn is None:
            return len(buf)  # nobody listening on the line; the bytes are simply gone
        with self._lock:
            noise, self._noise_out = bytes(self._noise_out), bytearray()
        try:
            if noise:
                self._conn.sendall(noise)
            sent = self._conn.send(buf)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            log.info("%s: panel link lost while sending: %s", self.name, exc)
            self._drop()
            return len(buf)
        self.bytes_out += sent
        return sent

    def flush(self) -> None:
        # Like flushing a UART's receive FIFO: drop whatever already arrived.
        if self._conn is None:
            return
        try:
            while self._conn.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._drop()

    # ---- the simulator's side ---------------------------------------------------------------

    def inject_noise(self, to_device: bytes = b"", to_panel: bytes = b"") -> None:
        with self._lock:
            self._noise_in += to_device
            self._noise_out += to_panel

    def close(self) -> None:
        self._drop()
        try:
            self._listener.close()
        except OSError:
            pass
