"""How an HTTP worker reaches the edges when the link runs as a process of its own.

The link process serves a small request/reply socket on loopback; each HTTP worker holds a
`LinkClient` with the same face the routers use on the in-process link (`connected`,
`agent_for_site`, `send_command`, `push_config`, `reload_keys`, `health`). Requests carry a
secret from the controller's data folder, readable only by the controller's user, so another
local account cannot drive the edges through this socket.
"""
from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Mapping

import zmq
from pydantic import BaseModel

from controller import metrics
from controller.link_watch import LinkWatch, link_health
from controller.secret_files import secret_text
from controller.wire_server import (
    AgentNotConnected,
    CommandError,
    command_args,
    command_result,
)
from edge_agent.wire.kinds import CommandName

log = logging.getLogger("siteguard.controller.link_rpc")

MAX_REQUEST_BYTES = 8 << 20  # a config push carries a whole site file


def rpc_secret(keys_dir: Path) -> str:
    """Made once per installation, like the session secret."""
    return secret_text(keys_dir / "link-rpc.secret", 32)


class LinkRpcServer(threading.Thread):
    """In the link process: answers HTTP workers' requests against the live link. Commands that
    wait on an edge run in a pool, so one slow edge holds up no other request."""

    def __init__(self, bind: str, secret: str, watch: LinkWatch) -> None:
        super().__init__(name="link-rpc", daemon=True)
        self.bind, self._secret, self.watch = bind, secret, watch
        self._halt = threading.Event()
        self._ready = threading.Event()
        self._replies: queue.Queue[tuple[list[bytes], bytes]] = queue.Queue()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="link-rpc-cmd")
        self.error: BaseException | None = None

    def stop(self) -> None:
        self._halt.set()

    def wait_ready(self, timeout: float = 10) -> None:
        if not self._ready.wait(timeout) or self.error:
            raise RuntimeError(f"link RPC did not start: {self.error}")

    def run(self) -> None:
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST_BYTES)
        try:
            sock.bind(self.bind)
        except zmq.ZMQError as exc:
            self.error = exc
            self._ready.set()
            sock.close()
            return
        self._ready.set()
        try:
            while not self._halt.is_set():
                if sock.poll(20):
                    frames = sock.recv_multipart()
                    try:
                        self._dispatch(frames[:-1], frames[-1])
                    except Exception:  # a bad request must not stop the link's RPC
                        log.exception("link RPC request failed")
                        metrics.LINK_ERRORS.labels("rpc").inc()
                while True:
                    try:
                        envelope, raw = self._replies.get_nowait()
                    except queue.Empty:
                        break
                    sock.send_multipart([*envelope, raw])
        finally:
            sock.close()
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _dispatch(self, envelope: list[bytes], raw: bytes) -> None:
        try:
            req = json.loads(raw)
            if not isinstance(req, dict) or not secrets.compare_digest(str(req.get("secret", "")), self._secret):
                raise PermissionError("bad link RPC secret")
            op, args = str(req["op"]), dict(req.get("args") or {})
        except Exception as exc:  # noqa: BLE001 - anything malformed is refused, not fatal
            self._reply(envelope, {"ok": False, "error": f"refused: {type(exc).__name__}", "type": "refused"})
            return
        if op == "send_command":
            self._pool.submit(self._run_command, envelope, args)
            return
        self._reply(envelope, self._answer(op, args))

    def _answer(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        wire = self.watch.wire
        try:
            if op == "connected":
                return {"ok": True, "result": wire.connected(int(args["agent_id"]))}
            if op == "agent_for_site":
                return {"ok": True, "result": wire.agent_for_site(int(args["site_id"]))}
            if op == "push_config":
                return {"ok": True, "result": wire.push_config(int(args["site_id"]), str(args["config_json"]),
                                                               str(args["config_hash"]))}
            if op == "reload_keys":
                wire.reload_keys()
                return {"ok": True, "result": None}
            if op == "health":
                h = link_health(wire)
                return {"ok": True, "result": {"state": h.state, "detail": h.detail}}
        except (KeyError, TypeError, ValueError) as exc:
            return {"ok": False, "error": f"bad arguments for {op}: {exc}", "type": "refused"}
        return {"ok": False, "error": f"unknown operation {op!r}", "type": "refused"}

    def _run_command(self, envelope: list[bytes], args: dict[str, Any]) -> None:
        try:
            result = self.watch.wire.send_command(int(args["agent_id"]), CommandName(args["name"]),
                                                  dict(args.get("args") or {}), float(args["timeout"]))
            answer: dict[str, Any] = {"ok": True, "result": result}
        except AgentNotConnected as exc:
            answer = {"ok": False, "error": str(exc), "type": "not_connected"}
        except CommandError as exc:
            answer = {"ok": False, "error": str(exc), "type": "command"}
        except Exception as exc:  # noqa: BLE001
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "type": "command"}
        self._reply(envelope, answer)

    def _reply(self, envelope: list[bytes], answer: dict[str, Any]) -> None:
        self._replies.put((envelope, json.dumps(answer).encode()))


class LinkClient:
    """In an HTTP worker: the link's face, over the RPC socket. A link that does not answer is
    an edge that is not connected (503), never a hung request."""

    def __init__(self, endpoint: str, secret: str, timeout_s: float = 3.0) -> None:
        self.endpoint, self._secret, self.timeout_s = endpoint, secret, timeout_s

    def _call(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        ctx = zmq.Context.instance()
        sock = ctx.socket(zmq.DEALER)  # one per call: HTTP workers call from many threads
        sock.setsockopt(zmq.LINGER, 0)
        try:
            sock.connect(self.endpoint)
            sock.send_multipart([b"", json.dumps({"op": op, "args": args, "secret": self._secret}).encode()])
            if not sock.poll(int((timeout_s or self.timeout_s) * 1000)):
                raise AgentNotConnected("the edge link does not answer")
            answer = json.loads(sock.recv_multipart()[-1])
        finally:
            sock.close()
        if answer.get("ok"):
            return answer.get("result")
        kind, error = answer.get("type"), str(answer.get("error", "link error"))
        if kind == "not_connected":
            raise AgentNotConnected(error)
        raise CommandError(error)

    def connected(self, agent_id: int) -> bool:
        try:
            return bool(self._call("connected", agent_id=agent_id))
        except CommandError:
            return False

    def agent_for_site(self, site_id: int) -> int | None:
        try:
            return self._call("agent_for_site", site_id=site_id)
        except CommandError:
            return None

    def send_command(self, agent_id: int, name: CommandName, args: BaseModel | Mapping[str, Any] | None,
                     timeout: float) -> dict:
        """As the link's own: arguments checked against the command's model before they leave
        this worker, the result read through its result model."""
        result = self._call("send_command", timeout_s=timeout + 2.0, agent_id=agent_id, name=str(name),
                            args=command_args(name, args), timeout=timeout)
        return command_result(name, result)

    def push_config(self, site_id: int, config_json: str, config_hash: str) -> int:
        try:
            return int(self._call("push_config", site_id=site_id, config_json=config_json,
                                  config_hash=config_hash))
        except CommandError:
            return 0  # the agent gets the config at its next hello anyway

    def reload_keys(self) -> None:
        try:
            self._call("reload_keys")
        except CommandError:
            pass  # the link reloads keys by itself every few seconds

    def health(self) -> dict[str, str]:
        try:
            return self._call("health")
        except CommandError as exc:
            return {"state": "unreachable", "detail": str(exc)}
