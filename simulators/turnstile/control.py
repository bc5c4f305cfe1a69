"""JSON control endpoint of the simulated gates (stdlib http.server, loopback only).

  GET  /gates                  every gate: lines, mechanism, OSDP link, counters, reader LED/buzzer
  GET  /gates/{id}             one gate
  POST /gates/{id}/{action}    an action from actions.py with its fields as the JSON body, e.g.
       badge {"person": "p-001"} or {"card": {"format": "wiegand26", "facility": 12, "number": 345}}
       pass {"direction": "entry", "people": 2}   force {}   hold {"seconds": 20}
       power {"on": false}   fire {"on": true}   tamper {"on": true}   garbage {"bytes": 64}
       enter / exit / tailgate / passback {"person": "p-003"} (answer once the person is through)
  GET  /scenario               the running scenario's steps and what each did
Errors come back as {"error": "..."} with 400 (bad request), 404 (no such gate, action or
route), 405 (wrong method), 413 (body too large) or 500.
"""
from __future__ import annotations

import logging
from urllib.parse import unquote, urlsplit

from .actions import ACTIONS, RequestError, prepare

from simulators.control_http import ControlServer as BaseControlServer
from simulators.control_http import JsonHandler

log = logging.getLogger("simulators.turnstile.control")



class _Handler(JsonHandler):
    server_version = "SimGateControl/1.0"
    timeout = 30

    def _gate(self, gate_id: str):
        gates = self.server.fleet.gates
        if gate_id not in gates:
            raise RequestError(f"no gate {gate_id!r}; gates: {', '.join(gates)}", 404)
        return gates[gate_id]

    def _route(self, method: str) -> None:
        fleet = self.server.fleet
        parts = [unquote(p) for p in urlsplit(self.path).path.strip("/").split("/") if p]
        if parts == ["gates"] and method == "GET":
            return self._reply(200, {"gates": [g.snapshot() for g in fleet.gates.values()]})
        if parts == ["scenario"] and method == "GET":
            runner = fleet.scenario_runner
            records = runner.records() if runner else []
            return self._reply(200, {"steps": records,
                                     "finished": runner.finished if runner else True})
        if len(parts) == 2 and parts[0] == "gates" and method == "GET":
            return self._reply(200, self._gate(parts[1]).snapshot())
        if len(parts) == 3 and parts[0] == "gates" and method == "POST":
            gate = self._gate(parts[1])
            if parts[2] not in ACTIONS:
                raise RequestError(f"no action {parts[2]!r}; actions: {', '.join(ACTIONS)}",
                                   404)
            action = prepare(parts[2], self._json_body(), fleet.site)
            try:
                result = action(gate)
            except ValueError as exc:
                raise RequestError(str(exc)) from None
            return self._reply(200, {"gate": gate.id, "action": parts[2], **result})
        known = (parts[:1] == ["gates"] and len(parts) <= 3) or parts == ["scenario"]
        raise RequestError(f"{method} /{'/'.join(parts)} is not supported",
                           405 if known else 404)


class ControlServer(BaseControlServer):
    """Serves a fleet (anything with `.gates`, `.site` and `.scenario_runner`)."""

    handler = _Handler
    thread_name = "turnstile-control"
