"""Packets sent from inside a host's namespace: ICMP echo, TCP connect, UDP echo, listeners.

Everything runs in this process on sockets created inside the namespace (see nsexec), so a probe
costs no process start-up and a crashed test leaves no listener behind.
"""
from __future__ import annotations

import itertools
import os
import selectors
import socket
import struct
import threading
import time

from . import nsexec

_ids = itertools.count(os.getpid() & 0xFFFF)
ICMP_ECHO_REPLY, ICMP_UNREACH, ICMP_ECHO = 0, 3, 8


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo(ident: int, seq: int) -> bytes:
    payload = b"siteguard-netlab"
    head = struct.pack("!BBHHH", ICMP_ECHO, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ICMP_ECHO, 0, _checksum(head + payload), ident, seq) + payload


def _classify(packet: bytes, dst: str, ident: int, seq: int) -> bool | None:
    """True: our echo reply; False: an ICMP error about our echo; None: someone else's."""
    ihl = (packet[0] & 0x0F) * 4
    icmp = packet[ihl:]
    if len(icmp) < 8:
        return None
    kind = icmp[0]
    if kind == ICMP_ECHO_REPLY:
        _, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
        src = socket.inet_ntoa(packet[12:16])
        return True if (rid, rseq, src) == (ident, seq, dst) else None
    if kind == ICMP_UNREACH and len(icmp) >= 8 + 20 + 8:
        inner = icmp[8:]  # the IP header + first 8 bytes of the packet that failed
        inner_ihl = (inner[0] & 0x0F) * 4
        echo = inner[inner_ihl:inner_ihl + 8]
        if len(echo) == 8 and echo[0] == ICMP_ECHO:
            _, _, _, rid, rseq = struct.unpack("!BBHHH", echo)
            if (rid, rseq) == (ident, seq):
                return False
    return None


def ping(nsname: str, dst: str, count: int = 1, timeout: float = 1.0) -> bool:
    """Like `ping -c count -W timeout`: True once any echo is answered. A raw socket sees every
    ICMP packet of the namespace, so replies are matched by id, sequence and source."""
    ident = next(_ids) & 0xFFFF
    with nsexec.socket_in(nsname, socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        for seq in range(1, count + 1):
            try:
                s.sendto(_echo(ident, seq), (dst, 0))
            except OSError:
                continue  # e.g. no route: this echo is lost
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                try:
                    packet = s.recv(2048)
                except (socket.timeout, TimeoutError):
                    break
                verdict = _classify(packet, dst, ident, seq)
                if verdict is True:
                    return True
                if verdict is False:
                    break
    return False


def tcp_connect(nsname: str, dst: str, port: int, timeout: float = 1.0) -> bool:
    """True when the three-way handshake completes; refused, dropped or unreachable: False."""
    with nsexec.socket_in(nsname, socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((dst, port))
        except OSError:
            return False
        return True


def udp_probe(nsname: str, dst: str, port: int, timeout: float = 1.0) -> bool:
    """True when a UDP listener (see Listener, proto "udp") echoes the datagram back."""
    token = os.urandom(8)
    with nsexec.socket_in(nsname, socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((dst, port))
            s.send(token)
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                s.settimeout(left)
                if s.recv(64) == token:
                    return True
        except OSError:  # timeout, or ICMP port unreachable surfacing as ECONNREFUSED
            return False
    return False


class Listener:
    """A TCP server that accepts and closes, or a UDP server that echoes, bound to 0.0.0.0:port
    inside a namespace; `stop()` closes it."""

    POLL_S = 0.1  # how quickly stop() is noticed

    def __init__(self, nsname: str, port: int, proto: str = "tcp") -> None:
        if proto not in ("tcp", "udp"):
            raise ValueError(f"proto {proto!r}: tcp or udp")
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        self.nsname, self.port, self.proto = nsname, port, proto
        self._sock = nsexec.socket_in(nsname, socket.AF_INET, kind)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind(("0.0.0.0", port))
            if proto == "tcp":
                self._sock.listen(64)
        except OSError:
            self._sock.close()
            raise
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True,
                                        name=f"listen-{nsname}-{proto}{port}")
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self._sock, selectors.EVENT_READ)
            while not self._stop.is_set():
                if not sel.select(self.POLL_S):
                    continue
                try:
                    if self.proto == "tcp":
                        conn, _ = self._sock.accept()
                        conn.close()
                    else:
                        data, peer = self._sock.recvfrom(2048)
                        self._sock.sendto(data, peer)
                except OSError:
                    continue  # a peer that gave up, or stop() closing under us

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
