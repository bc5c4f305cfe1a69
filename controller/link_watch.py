"""Keeps the edge link honest: a link thread that died is restarted, a loop that stopped turning
is reported, and either shows in /healthz, in /metrics and as a critical alarm. While the link is
down the watchdog runs the agents' liveness check itself, so silent sites still raise alarms."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from controller import metrics
from controller.alarms import clear_alarms, ledger_record, raise_alarm
from controller.ledger import Ledger
from controller.wire_server import WireServer, check_liveness

log = logging.getLogger("siteguard.controller.link")

STUCK_AFTER_S = 10.0  # a loop turns every ~20 ms; this long without a turn is a stuck link
ALARM_SOURCE = "controller:link"


@dataclass(frozen=True)
class LinkHealth:
    state: str  # up, stuck, down
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "up"


def link_health(wire: WireServer, now: float | None = None) -> LinkHealth:
    now = time.monotonic() if now is None else now
    if not wire.is_alive():
        return LinkHealth("down", f"link thread ended: {wire.error or 'unexpectedly'}")
    idle = now - wire.last_loop
    if idle > STUCK_AFTER_S:
        return LinkHealth("stuck", f"link loop has not turned for {idle:.0f} s")
    return LinkHealth("up")


class LinkWatch(threading.Thread):
    def __init__(self, make_wire: Callable[[], WireServer], wire: WireServer, sessions: sessionmaker,
                 ledger: Ledger, offline_after_s: float, every_s: float = 1.0,
                 on_restart: Callable[[WireServer], None] = lambda wire: None) -> None:
        super().__init__(name="link-watch", daemon=True)
        self.make_wire, self.wire, self.on_restart = make_wire, wire, on_restart
        self.sessions, self.ledger = sessions, ledger
        self.offline_after_s, self.every_s = offline_after_s, every_s
        self._halt = threading.Event()
        self._alarmed = False
        self.health = LinkHealth("up")

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.wait(self.every_s):
            try:
                self.check()
            except Exception:  # never let the watchdog itself die
                log.exception("link watchdog round failed")

    def check(self) -> LinkHealth:
        self.health = health = link_health(self.wire)
        metrics.LINK_UP.set(1 if health.ok else 0)
        if health.ok:
            if self._alarmed:
                self._clear()
            return health
        log.error("edge link %s: %s", health.state, health.detail)
        if not self._alarmed:
            self._raise(health)
        check_liveness(self.sessions, self.ledger, self.offline_after_s)
        if health.state == "down":
            self._restart()
        return health

    def _restart(self) -> None:
        wire = self.make_wire()
        wire.start()
        try:
            wire.wait_ready()
        except RuntimeError:
            log.exception("edge link restart failed; trying again")
            return
        metrics.LINK_RESTARTS.inc()
        self.wire = wire
        self.on_restart(wire)
        log.warning("edge link restarted")

    def _raise(self, health: LinkHealth) -> None:
        with self.sessions() as s:
            alarm = raise_alarm(s, "controller.link_down", f"edge link {health.state}: {health.detail}",
                                source=ALARM_SOURCE, severity="critical")
            if alarm is not None:
                self.ledger.record(s, "alarm.raised", ledger_record(alarm))
            s.commit()
        self._alarmed = True

    def _clear(self) -> None:
        with self.sessions() as s:
            for alarm in clear_alarms(s, "controller.link_down", ALARM_SOURCE):
                self.ledger.record(s, "alarm.cleared", ledger_record(alarm))
            s.commit()
        self._alarmed = False
