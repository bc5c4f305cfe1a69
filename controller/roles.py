"""The controller's processes: the link (the only one that talks to agents), the sequencer (the
only writer of ledger indexes) and the HTTP app. `siteguard controller` runs all three in one
process by default, or each alone (`--role`), or supervises them with N HTTP workers."""
from __future__ import annotations

import logging
import signal
import threading
import time

from controller.core import Core, open_core
from controller.link_rpc import LinkRpcServer, rpc_secret
from controller.link_watch import LinkWatch
from controller.login import report_failed_logins
from controller.services import daily_report, quality
from controller.settings import Settings
from controller.wire_server import WireServer
from edge_agent.wire.keys import ensure_keypair

log = logging.getLogger("siteguard.controller")


def sequencer_loop(core: Core, stop: threading.Event, every_s: float = 0.2) -> None:
    """Integrates queued ledger leaves and signs a checkpoint whenever the log grew."""
    next_checkpoint = 0.0
    while not stop.wait(every_s):
        try:
            core.ledger.integrate_all()
            if time.monotonic() >= next_checkpoint:  # signs only if the log grew
                core.ledger.checkpoint()
                next_checkpoint = time.monotonic() + core.settings.checkpoint_every_s
        except Exception:  # the database may be briefly away; facts wait in the queue meanwhile
            log.exception("ledger sequencer round failed")


def housekeeping_loop(core: Core, stop: threading.Event, snapshots: bool = True) -> None:
    """Writes the ledger's aggregated failed-login entries and, where ``snapshots`` (one process
    of a controller: not each HTTP worker), each project's quality figures and each site's daily
    report when they are due."""
    while not stop.wait(core.settings.checkpoint_every_s):
        try:
            report_failed_logins(core.sessions, core.ledger)
        except Exception:  # the database may be briefly away; try again next round
            log.exception("failed-login report failed")
        if snapshots:
            try:
                quality.snapshot_due(core.sessions, core.settings.quality_snapshot_every_s)
            except Exception:  # likewise: the next round takes the ones still due
                log.exception("quality snapshots failed")
            try:
                daily_report.generate_due(core.sessions, core.ledger, core.settings.report_hour)
            except Exception:  # likewise
                log.exception("daily reports failed")


def start_link(core: Core, on_restart=lambda wire: None) -> LinkWatch:
    """The edge link and its watchdog, running; `stop_link` ends them."""
    settings = core.settings
    public, secret = ensure_keypair(settings.keys_dir, "controller")

    def make_wire() -> WireServer:
        return WireServer(settings.wire_bind, core.sessions, core.ledger, public, secret,
                          settings.agent_offline_after_s)

    wire = make_wire()
    wire.start()
    wire.wait_ready()
    watch = LinkWatch(make_wire, wire, core.sessions, core.ledger, settings.agent_offline_after_s,
                      on_restart=on_restart)
    watch.start()
    return watch


def stop_link(watch: LinkWatch) -> None:
    watch.stop()
    watch.wire.stop()
    watch.wire.join(timeout=5)


def _until_signalled() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_link(settings: Settings) -> None:
    """The link process: the CurveZMQ server to the edges, its watchdog, the socket the HTTP
    workers reach it by, and the failed-login reports."""
    core = open_core(settings)
    stop = _until_signalled()
    watch = start_link(core)
    rpc = LinkRpcServer(settings.link_rpc, rpc_secret(settings.keys_dir), watch)
    rpc.start()
    rpc.wait_ready()
    threading.Thread(target=housekeeping_loop, args=(core, stop), daemon=True, name="housekeeping").start()
    core.ledger.append("controller.started", {"role": "link", "wire": settings.wire_bind})
    log.info("link serving edges on %s and HTTP workers on %s", settings.wire_bind, settings.link_rpc)
    stop.wait()
    rpc.stop()
    stop_link(watch)
    report_failed_logins(core.sessions, core.ledger, flush_all=True)
    core.engine.dispose()


def run_sequencer(settings: Settings) -> None:
    """The sequencer process: integrates queued ledger leaves and signs checkpoints."""
    core = open_core(settings)
    stop = _until_signalled()
    log.info("ledger sequencer running")
    sequencer_loop(core, stop)
    core.ledger.integrate_all()
    core.ledger.checkpoint()
    core.engine.dispose()
