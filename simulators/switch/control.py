"""JSON control endpoint of the simulated switches (stdlib http.server, loopback only).

  GET    /switches                         every switch: vendor, port, hostname, faults, sessions
  GET    /switches/{id}                    one switch
  GET    /switches/{id}/log[?clear=1]      command log entries (clear=1: and empty it)
  DELETE /switches/{id}/log                empty the command log
  GET    /switches/{id}/running-config     {"text": ...} as `show running-config` prints it
  PUT    /switches/{id}/running-config     {"text": CONFIG} or {"state": {...}}, "save": bool
  GET    /switches/{id}/saved-config       {"text": ...} the startup / saved configuration
  GET    /switches/{id}/state              {"running": {...}, "saved": {...}} as data
  POST   /switches/{id}/reload             running config := saved config (a power cycle)
  GET    /switches/{id}/faults             the faults in force
  POST   /switches/{id}/faults             {"fault": "slow", "seconds": 2} |
                                           {"fault": "drop_after", "lines": 3, "sticky": false} |
                                           {"fault": "reject", "match": "REGEX"} |
                                           {"fault": "clear"}
  DELETE /switches/{id}/faults             clear every fault
  GET    /switches/{id}/nft[?if=110:eth1,120:eth2]   the SVI ACLs as an nftables ruleset
Errors come back as {"error": "..."} with 400, 404, 405, 413 or 500.
"""
from __future__ import annotations

import logging
from urllib.parse import parse_qs, unquote, urlsplit

from simulators.control_http import ControlServer as BaseControlServer
from simulators.control_http import JsonHandler, RequestError

from .nft import ruleset

log = logging.getLogger("simulators.switch.control")



def _ifmap(text: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for part in filter(None, text.split(",")):
        vid, sep, name = part.partition(":")
        if not sep or not vid.isdigit() or not name:
            raise RequestError("'if' must look like 110:eth1,120:eth2")
        out[int(vid)] = name
    return out


class _Handler(JsonHandler):
    server_version = "SimSwitchControl/1.0"
    timeout = 30
    max_body = 1024 * 1024  # a whole running configuration may come in

    def _switch(self, sid: str):
        switches = self.server.fleet.switches
        if sid not in switches:
            raise RequestError(f"no switch {sid!r}; switches: {', '.join(switches)}", 404)
        return switches[sid]

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.strip("/").split("/") if p]
        if parts == ["switches"] and method == "GET":
            return self._reply(200, {"switches": [s.snapshot() for s in
                                                  self.server.fleet.switches.values()]})
        if len(parts) == 2 and parts[0] == "switches" and method == "GET":
            return self._reply(200, self._switch(parts[1]).snapshot())
        if len(parts) == 3 and parts[0] == "switches":
            return self._switch_route(method, self._switch(parts[1]), parts[2], query)
        known = parts[:1] == ["switches"] and len(parts) <= 3
        raise RequestError(f"{method} /{'/'.join(parts)} is not supported",
                           405 if known else 404)

    def _switch_route(self, method: str, sw, what: str, query: dict) -> None:
        key = (method, what)
        if key == ("GET", "log"):
            entries = sw.command_log
            if query.get("clear") in ("1", "true", "yes"):
                sw.clear_log()
            return self._reply(200, {"switch": sw.id, "entries": entries})
        if key == ("DELETE", "log"):
            sw.clear_log()
            return self._reply(200, {"switch": sw.id, "cleared": True})
        if key == ("GET", "running-config"):
            return self._reply(200, {"switch": sw.id, "text": sw.running_config()})
        if key == ("PUT", "running-config"):
            body = self._json_body()
            text, state = body.get("text"), body.get("state")
            if (text is None) == (state is None):
                raise RequestError("give either 'text' (config as the switch prints it) or "
                                   "'state' (as GET /state returns it)")
            if text is not None and not isinstance(text, str):
                raise RequestError("'text' must be a string")
            if state is not None and not isinstance(state, dict):
                raise RequestError("'state' must be an object")
            try:
                refused = sw.set_running(text=text, state=state, save=bool(body.get("save")))
            except (ValueError, KeyError, TypeError) as exc:
                raise RequestError(f"unusable state: {exc}") from None
            return self._reply(200, {"switch": sw.id, "refused": refused,
                                     "text": sw.running_config()})
        if key == ("GET", "saved-config"):
            return self._reply(200, {"switch": sw.id, "text": sw.saved_config()})
        if key == ("GET", "state"):
            with sw.lock:
                running, saved = sw.running.to_dict(), sw.saved.to_dict()
            return self._reply(200, {"switch": sw.id, "running": running, "saved": saved})
        if key == ("POST", "reload"):
            sw.reload()
            return self._reply(200, {"switch": sw.id, "reloaded": True})
        if key == ("GET", "faults"):
            return self._reply(200, {"switch": sw.id, **sw.faults.to_dict()})
        if key == ("POST", "faults"):
            body = self._json_body()
            kind = body.pop("fault", None)
            if not isinstance(kind, str):
                raise RequestError("'fault' must be one of slow, drop_after, reject, clear")
            try:
                sw.faults.set(kind, body)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            return self._reply(200, {"switch": sw.id, **sw.faults.to_dict()})
        if key == ("DELETE", "faults"):
            sw.faults.set("clear", {})
            return self._reply(200, {"switch": sw.id, **sw.faults.to_dict()})
        if key == ("GET", "nft"):
            with sw.lock:
                st = sw.running.copy()
            text = ruleset(st, _ifmap(query.get("if", "")) or None)
            return self._reply(200, {"switch": sw.id, "text": text})
        known = what in ("log", "running-config", "saved-config", "state", "reload", "faults",
                         "nft")
        raise RequestError(f"{method} /switches/{sw.id}/{what} is not supported",
                           405 if known else 404)


class ControlServer(BaseControlServer):
    """Serves a fleet (anything with `.switches`)."""

    handler = _Handler
    thread_name = "switch-control"
