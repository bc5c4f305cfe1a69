"""The agent's end of the edge link: a CurveZMQ DEALER that drains the outbox to the controller.

Delivery is at-least-once with idempotent ingest on the other side: batches stay in the outbox
until acked, and anything unacked after `ack_timeout_s` is sent again. libzmq reconnects by
itself; the socket monitor tells us when the controller refused our key.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import zmq
from zmq.utils.monitor import recv_monitor_message

from edge_agent.store import EdgeStore, iso_now
from edge_agent.wire import messages as m

log = logging.getLogger("siteguard.edge.link")

_AUTH_FAILED = getattr(zmq, "EVENT_HANDSHAKE_FAILED_AUTH", 0)
_HANDSHAKE_OK = getattr(zmq, "EVENT_HANDSHAKE_SUCCEEDED", 0)


@dataclass
class LinkState:
    connected: bool = False  # a CURVE handshake completed and the controller answered
    refused: str = ""        # last refusal reason, empty when none
    welcomed_at: float = 0.0
    last_rx: float = 0.0
    sent_events: int = 0
    acked_events: int = 0
    inflight: dict[int, float] = field(default_factory=dict)  # batch's last seq -> sent at


class ControllerLink:
    def __init__(
        self, endpoint: str, server_key: bytes, public_key: bytes, secret_key: bytes,
        store: EdgeStore, site: str, config_hash: Callable[[], str | None],
        batch_size: int = 500, window: int = 4, ack_timeout_s: float = 5.0,
        heartbeat_s: float = 2.0,
    ) -> None:
        self.endpoint, self.store, self.site = endpoint, store, site
        self.config_hash = config_hash
        self.batch_size, self.window = batch_size, window
        self.ack_timeout_s, self.heartbeat_s = ack_timeout_s, heartbeat_s
        self.state = LinkState()
        self._ctx = zmq.Context()
        self.sock = self._ctx.socket(zmq.DEALER)
        self.sock.curve_serverkey = server_key
        self.sock.curve_publickey = public_key
        self.sock.curve_secretkey = secret_key
        self.sock.setsockopt(zmq.IMMEDIATE, 1)   # never queue for a peer not yet authenticated
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, m.SOCKET_MAX_MESSAGE_BYTES)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 200)
        self.sock.setsockopt(zmq.RECONNECT_IVL_MAX, 5000)
        self.monitor = self.sock.get_monitor_socket()
        self.sock.connect(endpoint)
        self._high_sent = 0  # highest seq handed to the socket since the last reset
        self._next_hello = 0.0
        self._next_heartbeat = 0.0
        self._beat_now = threading.Event()

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(linger=0)
        self.sock.close(linger=0)
        self._ctx.term()

    def beat_now(self) -> None:
        """Send the heartbeat (and the status in it) at the next turn rather than when due; any
        thread may ask."""
        self._beat_now.set()

    def send(self, msg) -> bool:
        try:
            self.sock.send(m.encode(msg), zmq.NOBLOCK)
            return True
        except zmq.Again:  # no authenticated connection right now
            return False

    # --- one turn of the agent loop ----------------------------------------------------------

    def poll(self, timeout_ms: int, on_message: Callable[[object], None], status: Callable[[], dict]) -> None:
        poller = zmq.Poller()
        poller.register(self.sock, zmq.POLLIN)
        poller.register(self.monitor, zmq.POLLIN)
        for sock, _ in poller.poll(timeout_ms):
            if sock is self.monitor:
                self._on_monitor()
            else:
                self._drain(on_message)
        now = time.monotonic()
        if self.state.connected and now - self.state.last_rx > 3 * self.heartbeat_s + self.ack_timeout_s:
            log.warning("controller silent for %.0f s; saying hello again", now - self.state.last_rx)
            self._reset()
        if not self.state.connected and now >= self._next_hello:
            self._next_hello = now + 1.0
            self.send(m.Hello(site=self.site, config_hash=self.config_hash(),
                              pending=self.store.pending_count(), software="siteguard-0.1"))
        if self.state.connected:
            if now >= self._next_heartbeat or self._beat_now.is_set():
                self._beat_now.clear()
                self._next_heartbeat = now + self.heartbeat_s
                self.send(m.Heartbeat(ts=iso_now(), pending=self.store.pending_count(),
                                      config_hash=self.config_hash(), status=status()))
            self._pump(now)

    def _reset(self) -> None:
        self.state.connected = False
        self.state.inflight.clear()
        self._high_sent = 0

    def _on_monitor(self) -> None:
        try:
            evt = recv_monitor_message(self.monitor, zmq.NOBLOCK)
        except zmq.Again:
            return
        if evt["event"] == _AUTH_FAILED:
            if not self.state.refused:
                log.error("controller refused this agent's key (not enrolled or revoked)")
            self.state.refused = "controller refused this agent's key"
            self._reset()
        elif evt["event"] == _HANDSHAKE_OK:
            self.state.refused = ""
            self._next_hello = 0.0
        elif evt["event"] == zmq.EVENT_DISCONNECTED:
            log.info("disconnected from controller; will resend what is unacked")
            self._reset()

    def _drain(self, on_message: Callable[[object], None]) -> None:
        for _ in range(100):
            try:
                raw = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                msg = m.decode_from_controller(raw)
            except m.WireError as exc:
                log.warning("ignored a malformed message from the controller: %s", exc)
                continue
            self.state.last_rx = time.monotonic()
            if isinstance(msg, m.Welcome):
                self.state.connected, self.state.refused = True, ""
                self.state.welcomed_at = time.monotonic()
                self.state.inflight.clear()
                self._high_sent = 0  # resend everything unacked from the start
            elif isinstance(msg, m.Ack):
                self.store.ack(msg.seqs)
                self.state.acked_events += len(msg.seqs)
                if msg.seqs:
                    self.state.inflight.pop(max(msg.seqs), None)
            elif isinstance(msg, m.Refused):
                log.error("controller refused a message: %s", msg.reason)
                self.state.refused = msg.reason
            on_message(msg)

    def _pump(self, now: float) -> None:
        inflight = self.state.inflight
        if any(now - sent > self.ack_timeout_s for sent in inflight.values()):
            log.info("no ack within %.0f s; resending unacked events", self.ack_timeout_s)
            inflight.clear()
            self._high_sent = 0
        while len(inflight) < self.window:
            batch = self.store.pending(self.batch_size, after_seq=self._high_sent)
            if not batch:
                return
            if not self.send(m.Events(events=batch)):
                return
            self._high_sent = batch[-1].seq
            inflight[batch[-1].seq] = now
            self.state.sent_events += len(batch)
