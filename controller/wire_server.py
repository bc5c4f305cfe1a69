"""The controller's end of the edge link: a CurveZMQ ROUTER socket in its own thread.

Only enrolled, unrevoked agent keys pass the ZAP handshake; every message is attributed to the
agent by the key libzmq authenticated (the frame's User-Id), never by what the message claims.
Events are committed before they are acked, so an ack always means "stored".
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Mapping

import zmq
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from zmq.auth.thread import ThreadAuthenticator

from controller import metrics
from controller.alarms import clear_alarms, ledger_record, raise_alarm
from controller.credentials import credentials_document
from controller.ingest import access_batch, customer_ids, store_events
from controller.ledger import Ledger
from controller.models import Agent, Alarm, Site, utcnow
from controller.refusals import RefusalCounter
from controller.services import floorplan
from edge_agent.wire import messages as m
from edge_agent.wire import payloads as P
from edge_agent.wire.kinds import CommandName

log = logging.getLogger("siteguard.controller.wire")


class CommandError(RuntimeError):
    pass


class AgentNotConnected(CommandError):
    pass


class BadCommand(CommandError):
    """Arguments that do not fit the command's model (never sent), or a result from the agent
    that does not fit its model (refused and counted like a malformed frame)."""


def command_args(name: CommandName | str, args: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON arguments of a command, checked against its args model; a model or a mapping."""
    try:
        return P.build_command_args(name, args)
    except m.WireError as exc:
        raise BadCommand(str(exc)) from None


def command_result(name: CommandName | str, result: Any) -> dict[str, Any]:
    """An agent's answer read through the command's result model, as the JSON it was."""
    try:
        return P.body_dict(P.read_command_result(name, result))
    except m.WireError as exc:
        metrics.WIRE_REJECTED.labels(exc.reason).inc()
        log.warning("agent answered %s with a malformed result: %s", name, exc)
        raise BadCommand(f"the agent's answer does not fit: {exc}") from None


@dataclass
class _Conn:
    identity: bytes
    agent_id: int
    site_id: int | None


class _KeyCheck:
    """ZAP credentials provider: consulted by libzmq's handshake for every connecting key."""

    def __init__(self, server: "WireServer", auth: "_Authenticator") -> None:
        self.server = server
        self.auth = auth

    def callback(self, domain: str, key: bytes) -> bool:
        try:
            ok = self.server.key_allowed(key.decode())
        except Exception:  # the database away: refuse this handshake, the agent retries
            log.exception("checking an agent key failed")
            metrics.LINK_ERRORS.labels("key_check").inc()
            return False
        if not ok:
            self.server.note_refused(key.decode(), self.auth.last_address)
        return ok


class _Authenticator(ThreadAuthenticator):
    """pyzmq's ZAP handler, remembering the peer address of the request it is deciding, so
    refusals are counted per source (its thread handles one request at a time)."""

    last_address = ""

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        self.last_address = msg[3].decode("utf-8", "replace")[:64] if len(msg) > 3 else ""
        await super().handle_zap_message(msg)


class WireServer(threading.Thread):
    def __init__(
        self, bind: str, sessions: sessionmaker, ledger: Ledger,
        public_key: bytes, secret_key: bytes, offline_after_s: float = 15.0,
    ) -> None:
        super().__init__(name="wire-server", daemon=True)
        self.bind = bind
        self.sessions = sessions
        self.ledger = ledger
        self.public_key = public_key
        self._secret_key = secret_key
        self.offline_after_s = offline_after_s
        self._halt = threading.Event()
        self._ready = threading.Event()
        self._outbox: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self._pending: dict[str, Future] = {}
        self._conns: dict[int, _Conn] = {}  # agent id -> latest connection
        self._refusals = RefusalCounter()
        self._refusals_lock = threading.Lock()
        self.last_loop = time.monotonic()  # the watchdog's view of a live, unstuck loop
        self._keys: dict[str, int] = {}
        self._keys_loaded = 0.0
        self._keys_lock = threading.Lock()
        self.error: BaseException | None = None

    # --- key checks (called from the authenticator thread) -----------------------------------

    def reload_keys(self) -> None:
        with self.sessions() as s:
            rows = s.execute(select(Agent.public_key, Agent.id).where(Agent.revoked.is_(False)))
            keys = {k: i for k, i in rows}
        with self._keys_lock:
            self._keys, self._keys_loaded = keys, time.monotonic()

    def key_allowed(self, key: str) -> bool:
        age = time.monotonic() - self._keys_loaded
        # Enrolment or revocation takes effect at the next handshake, but a stream of random
        # keys reloads the table at most twice a second.
        if age > 5 or (key not in self._keys and age > 0.5):
            self.reload_keys()
        return key in self._keys

    def note_refused(self, key: str, source: str) -> None:
        """Counted in memory only; `_report_refusals` raises one alarm per source and window."""
        metrics.AGENTS_REFUSED.inc()
        with self._refusals_lock:
            self._refusals.note(source or "unknown", key, time.monotonic())
            metrics.AGENTS_REFUSED_SOURCES.set(len(self._refusals))

    def _report_refusals(self) -> None:
        with self._refusals_lock:
            fresh = self._refusals.to_alarm()
            closed = self._refusals.closed(time.monotonic())
            metrics.AGENTS_REFUSED_SOURCES.set(len(self._refusals))
        if not fresh and not closed:
            return
        with self.sessions() as s:
            for w in fresh:
                log.warning("refused connection from %s: key %s is not enrolled", w.source, w.sample[0])
                alarm = raise_alarm(
                    s, "agent.refused",
                    f"connection refused from {w.source}: key {w.sample[0][:12]}… is not enrolled",
                    source=f"addr:{w.source}", severity="warning", details=w.record(),
                )
                if alarm is not None:
                    self.ledger.record(s, "alarm.raised", ledger_record(alarm))
            for w in closed:  # the alarm shows the latest window's count
                for alarm in s.scalars(select(Alarm).where(Alarm.kind == "agent.refused",
                                                           Alarm.source == f"addr:{w.source}",
                                                           Alarm.state == "active")):
                    alarm.details = {**w.record(), "total": int((alarm.details or {}).get("total", 0)) + w.count}
                self.ledger.record(s, "agent.refused", w.record())
            s.commit()

    # --- API for other threads ---------------------------------------------------------------

    def wait_ready(self, timeout: float = 10) -> None:
        if not self._ready.wait(timeout):
            raise RuntimeError("wire server did not start")
        if self.error:
            raise RuntimeError(f"wire server failed: {self.error}")

    def connected(self, agent_id: int) -> bool:
        return agent_id in self._conns

    def agent_for_site(self, site_id: int) -> int | None:
        """A connected agent of that site (the most recently heard one), or None."""
        for agent_id, conn in reversed(list(self._conns.items())):
            if conn.site_id == site_id:
                return agent_id
        return None

    def send_command(self, agent_id: int, name: CommandName, args: BaseModel | Mapping[str, Any] | None,
                     timeout: float) -> dict:
        """Run a command on an agent and wait for its reply, its result read through the
        command's result model; raises CommandError (BadCommand: arguments or result that do not
        fit the contract)."""
        raw_args = command_args(name, args)  # refused here, before it ever reaches an agent
        if agent_id not in self._conns:
            raise AgentNotConnected("agent is not connected")
        cid = uuid.uuid4().hex
        fut: Future = Future()
        self._pending[cid] = fut
        self._outbox.put((agent_id, m.encode(m.Command(id=cid, name=name, args=raw_args))))
        try:
            reply: m.Reply = fut.result(timeout=timeout)
        except TimeoutError:
            raise CommandError(f"no reply within {timeout:g} s") from None
        finally:
            self._pending.pop(cid, None)
        if not reply.ok:
            raise CommandError(reply.error or "command failed")
        return command_result(name, reply.result)

    def push_config(self, site_id: int, config_json: str, config_hash: str) -> int:
        msg = m.encode(m.ConfigPush(config_hash=config_hash, config=json.loads(config_json)))
        agents = [a for a, c in list(self._conns.items()) if c.site_id == site_id]
        for a in agents:
            self._outbox.put((a, msg))
        return len(agents)

    def stop(self) -> None:
        self._halt.set()

    # --- the socket loop ---------------------------------------------------------------------

    def run(self) -> None:
        ctx = zmq.Context()
        auth = _Authenticator(ctx, log=logging.getLogger("siteguard.controller.zap"))
        sock = None
        try:
            auth.start()
            auth.configure_curve_callback(domain="*", credentials_provider=_KeyCheck(self, auth))
            sock = ctx.socket(zmq.ROUTER)
            sock.curve_server = True
            sock.curve_secretkey = self._secret_key
            sock.curve_publickey = self.public_key
            sock.setsockopt(zmq.MAXMSGSIZE, m.SOCKET_MAX_MESSAGE_BYTES)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.bind(self.bind)
            self.reload_keys()
        except BaseException as exc:  # reported through wait_ready
            self.error = exc
            self._ready.set()
            auth.stop()
            if sock is not None:
                sock.close()
            ctx.term()
            return
        self._ready.set()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        next_chores = 0.0
        try:
            while not self._halt.is_set():
                self.last_loop = time.monotonic()
                try:
                    self._turn(sock, poller)
                except Exception:  # whatever it was, the link stays up for every other site
                    log.exception("edge link loop failed; going on")
                    metrics.LINK_ERRORS.labels("loop").inc()
                    self._halt.wait(0.2)
                if time.monotonic() >= next_chores:
                    next_chores = time.monotonic() + 1.0
                    self._chores()
        finally:
            sock.close(linger=0)
            auth.stop()
            ctx.term()

    def _turn(self, sock: zmq.Socket, poller: zmq.Poller) -> None:
        for _s, _ in poller.poll(20):
            for _ in range(200):  # drain a burst, then look at the outbox again
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                except zmq.Again:
                    break
                self._on_frames(sock, frames)
        self._flush_outbox(sock)

    def _chores(self) -> None:
        """Once a second: liveness of agents and refused handshakes. Each may fail (the database
        away, a pool exhausted): counted, logged and tried again next second."""
        for where, chore in (("liveness", self._check_liveness), ("refusals", self._report_refusals),
                             ("blind area", self._blind_area_hour)):
            try:
                chore()
            except Exception:
                log.exception("edge link %s check failed; trying again", where)
                metrics.LINK_ERRORS.labels(where).inc()

    def _blind_area_hour(self) -> None:
        """Each site's blind-area figure for the daily report has a row for every hour, even one
        in which no camera changed state."""
        if time.monotonic() < getattr(self, "_blind_area_next", 0.0):
            return
        self._blind_area_next = time.monotonic() + 60.0
        with self.sessions() as s:
            for site_id in floorplan.hourly_due(s):
                raised, cleared = floorplan.recompute(s, site_id)
                for alarm in raised:
                    self.ledger.record(s, "alarm.raised", ledger_record(alarm))
                for alarm in cleared:
                    self.ledger.record(s, "alarm.cleared", ledger_record(alarm))
            s.commit()

    def _flush_outbox(self, sock: zmq.Socket) -> None:
        while True:
            try:
                agent_id, raw = self._outbox.get_nowait()
            except queue.Empty:
                return
            conn = self._conns.get(agent_id)
            if conn is None:
                continue
            self._send(sock, conn.identity, raw)

    def _send(self, sock: zmq.Socket, identity: bytes, raw: bytes) -> None:
        try:
            sock.send_multipart([identity, raw], zmq.NOBLOCK)
        except (zmq.Again, zmq.ZMQError) as exc:  # peer gone: it resends unacked events itself
            log.info("cannot send to agent connection: %s", exc)

    def _on_frames(self, sock: zmq.Socket, frames: list[zmq.Frame]) -> None:
        if len(frames) != 2:
            metrics.WIRE_REJECTED.labels("framing").inc()
            log.warning("dropped message with %d frames", len(frames))
            return
        identity, payload = frames[0].bytes, frames[1]
        key = payload.get("User-Id")
        agent_id = self._keys.get(key)
        if agent_id is None:  # revoked since the handshake
            self._send(sock, identity, m.encode(m.Refused(reason="agent key not enrolled")))
            return
        try:
            msg = m.decode_from_agent(payload.bytes)
        except Exception as exc:  # WireError, or anything hostile bytes found: a refused frame
            metrics.WIRE_REJECTED.labels(getattr(exc, "reason", "malformed")).inc()
            log.warning("agent %s sent a malformed message: %s", agent_id, exc)
            self._send(sock, identity, m.encode(m.Refused(reason=str(exc)[:2000])))
            return
        try:
            self._handle(sock, identity, agent_id, msg)
        except Exception:  # a bug or a database hiccup must not stop the link for everyone
            log.exception("handling %s from agent %s failed", msg.type, agent_id)
            metrics.WIRE_REJECTED.labels("error").inc()

    def _handle(self, sock: zmq.Socket, identity: bytes, agent_id: int, msg: Any) -> None:
        conn = self._conns.get(agent_id)
        if conn is None or conn.identity != identity:
            with self.sessions() as s:
                site_id = s.scalar(select(Agent.site_id).where(Agent.id == agent_id))
            conn = self._conns[agent_id] = _Conn(identity, agent_id, site_id)
        if isinstance(msg, m.Events):
            self._on_events(sock, conn, msg)
        elif isinstance(msg, m.Hello):
            self._on_hello(sock, conn, msg)
        elif isinstance(msg, m.Heartbeat):
            self._seen(agent_id, pending=msg.pending, status=msg.status, config_hash=msg.config_hash)
        elif isinstance(msg, m.Reply):
            fut = self._pending.get(msg.id)
            if fut is not None and not fut.done():
                fut.set_result(msg)

    def _on_hello(self, sock: zmq.Socket, conn: _Conn, msg: m.Hello) -> None:
        with self.sessions() as s:
            agent = s.get(Agent, conn.agent_id)
            site = s.get(Site, agent.site_id) if agent.site_id else None
        if site is not None and site.slug != msg.site:
            reason = f"agent {agent.name} is enrolled for site {site.slug}, not {msg.site}"
            self._send(sock, conn.identity, m.encode(m.Refused(reason=reason)))
            return
        config = None
        if site is not None and site.config_hash != msg.config_hash:
            config = json.loads(site.config_json)
        welcome = m.Welcome(agent=agent.name, config_hash=site.config_hash if site else None,
                            config=config)
        self._send(sock, conn.identity, m.encode(welcome))
        self._seen(conn.agent_id, pending=msg.pending, config_hash=msg.config_hash)
        if site is not None:  # the gates' credential cache, fresh at every (re)connection
            with self.sessions() as s:
                doc = credentials_document(s, s.get(Site, site.id))
            push = m.Command(id=uuid.uuid4().hex, name=CommandName.SET_CREDENTIALS,
                             args=command_args(CommandName.SET_CREDENTIALS, doc))
            self._send(sock, conn.identity, m.encode(push))

    def _on_events(self, sock: zmq.Socket, conn: _Conn, msg: m.Events) -> None:
        started = time.perf_counter()
        with self.sessions() as s:
            result = store_events(s, conn.agent_id, conn.site_id, list(msg.events), customer_ids(s))
            for alarm in result.alarms:  # each fact's leaf in the fact's own transaction
                self.ledger.record(s, "alarm.raised", ledger_record(alarm))
            for alarm in result.cleared:
                self.ledger.record(s, "alarm.cleared", ledger_record(alarm))
            for kind, data in result.ledger:
                self.ledger.record(s, kind, data)
            if result.access:  # who entered, provably: one entry per batch, like the batch's alarms
                self.ledger.record(s, "access.batch", access_batch(conn.site_id, conn.agent_id, result.access))
            s.commit()
        metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
        metrics.EVENTS_INGESTED.inc(len(result.stored))
        metrics.EVENTS_DUPLICATE.inc(len(result.duplicates))
        for refusal in result.refused:
            metrics.WIRE_REJECTED.labels(refusal.reason).inc()
        self._send(sock, conn.identity, m.encode(m.Ack(seqs=[e.seq for e in msg.events])))
        self._seen(conn.agent_id)

    def _seen(self, agent_id: int, **fields: Any) -> None:
        now = utcnow()
        with self.sessions() as s:
            agent = s.get(Agent, agent_id)
            agent.last_seen_at = now
            for k, v in fields.items():
                if v is not None:
                    setattr(agent, k, v)
            for alarm in clear_alarms(s, "agent.offline", f"agent:{agent_id}"):
                self.ledger.record(s, "alarm.cleared", ledger_record(alarm))
            s.commit()

    def _check_liveness(self) -> None:
        for agent_id in check_liveness(self.sessions, self.ledger, self.offline_after_s):
            self._conns.pop(agent_id, None)


def check_liveness(sessions: sessionmaker, ledger: Ledger, offline_after_s: float) -> list[int]:
    """Raise `agent.offline` for every agent silent too long; sets the online gauge. Returns the
    silent agents' ids. Run by the link each second, and by the watchdog while the link is down."""
    cutoff = utcnow() - dt.timedelta(seconds=offline_after_s)
    silent = []
    with sessions() as s:
        agents = s.scalars(select(Agent).where(Agent.revoked.is_(False))).all()
        online = 0
        for a in agents:
            seen = a.last_seen_at
            if seen is not None and seen.tzinfo is None:
                seen = seen.replace(tzinfo=dt.timezone.utc)
            if seen is not None and seen >= cutoff:
                online += 1
                continue
            if seen is None:
                continue  # never connected: not an outage
            silent.append(a.id)
            alarm = raise_alarm(
                s, "agent.offline", f"edge agent {a.name} silent since {seen:%Y-%m-%d %H:%M:%S} UTC",
                source=f"agent:{a.id}", severity="critical", site_id=a.site_id, agent_id=a.id,
            )
            if alarm is not None:
                ledger.record(s, "alarm.raised", ledger_record(alarm))
        s.commit()
    metrics.AGENTS_ONLINE.set(online)
    return silent
