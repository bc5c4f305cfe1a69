"""The controller application: database, ledger, edge link and HTTP API in one process."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from starlette.middleware.sessions import SessionMiddleware

from controller import db as dbmod
from controller import errors, metrics
from controller.auth import STAFF, require
from controller.ledger import Ledger, load_or_create_signing_key
from controller.limits import BodyLimit
from controller.link_watch import LinkWatch, link_health
from controller.login import report_failed_logins
from controller.routers import (
    access,
    agents,
    auth_api,
    cameras,
    customers,
    docs,
    events,
    ledger_api,
    network,
    pages,
    seats,
    sites,
    users,
)
from controller.settings import Settings
from controller.wire_server import WireServer
from edge_agent.wire.keys import ensure_keypair

log = logging.getLogger("siteguard.controller")


@dataclass
class Core:
    """What the controller runs on, shared by the HTTP app and the CLI."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    ledger: Ledger


def open_core(settings: Settings) -> Core:
    settings.prepare()
    engine = dbmod.make_engine(settings.database_url)
    dbmod.upgrade(engine)
    sessions = dbmod.make_sessionmaker(engine)
    key = load_or_create_signing_key(settings.keys_dir / "ledger.ed25519")
    return Core(settings, engine, sessions, Ledger(sessions, key, settings.ledger_origin))


def server_public_key_file(settings: Settings) -> Path:
    return settings.keys_dir / "controller.key"


def _sequencer_loop(core: Core, stop: threading.Event, every_s: float = 0.2) -> None:
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


def _housekeeping_loop(core: Core, stop: threading.Event) -> None:
    """Writes the ledger's aggregated failed-login entries."""
    while not stop.wait(core.settings.checkpoint_every_s):
        try:
            report_failed_logins(core.sessions, core.ledger)
        except Exception:  # the database may be briefly away; try again next round
            log.exception("failed-login report failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    core = open_core(settings)
    public, secret = ensure_keypair(settings.keys_dir, "controller")

    def make_wire() -> WireServer:
        return WireServer(settings.wire_bind, core.sessions, core.ledger, public, secret,
                          settings.agent_offline_after_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        wire = make_wire()
        wire.start()
        wire.wait_ready()
        app.state.wire = wire
        watch = LinkWatch(make_wire, wire, core.sessions, core.ledger, settings.agent_offline_after_s,
                          on_restart=lambda w: setattr(app.state, "wire", w))
        watch.start()
        app.state.link_watch = watch
        stop = threading.Event()
        threading.Thread(target=_housekeeping_loop, args=(core, stop), daemon=True,
                         name="housekeeping").start()
        threading.Thread(target=_sequencer_loop, args=(core, stop), daemon=True, name="sequencer").start()
        core.ledger.append("controller.started", {"wire": settings.wire_bind})
        try:
            yield
        finally:
            stop.set()
            watch.stop()
            app.state.wire.stop()
            app.state.wire.join(timeout=5)
            report_failed_logins(core.sessions, core.ledger, flush_all=True)
            core.ledger.integrate_all()
            core.ledger.checkpoint()
            core.engine.dispose()

    app = FastAPI(title="SiteGuard controller", version="0.1.0", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)  # served by routers/docs.py
    app.state.settings = settings
    app.state.sessions = core.sessions
    app.state.ledger = core.ledger
    app.state.core = core
    app.add_middleware(BodyLimit)  # innermost of ours: its answers get the headers below
    app.add_middleware(
        SessionMiddleware, secret_key=settings.session_secret(), session_cookie="siteguard_session",
        same_site="strict", https_only=settings.secure_cookies, max_age=settings.session_ttl_hours * 3600,
    )

    @app.middleware("http")
    async def headers_and_metrics(request: Request, call_next):
        response = await call_next(request)
        metrics.HTTP_REQUESTS.labels(request.method, str(response.status_code)).inc()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    errors.install(app)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    for r in (auth_api, agents, events, customers, sites, users, ledger_api, cameras, access, network, seats, pages,
              docs):
        errors.document_common_errors(r.router.routes)
        app.include_router(r.router)
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.get("/healthz", tags=["health"], responses={503: {"description": "the edge link is down or stuck"}})
    def healthz(request: Request) -> JSONResponse:
        wire = getattr(request.app.state, "wire", None)
        if wire is None:  # no lifespan (an app used without serving): nothing to report
            return JSONResponse({"ok": True, "link": "not started"})
        health = link_health(wire)
        return JSONResponse({"ok": health.ok, "link": health.state, "detail": health.detail},
                            status_code=200 if health.ok else 503)

    @app.get("/metrics", tags=["health"], dependencies=[require(*STAFF)])
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    errors.document_common_errors(app.router.routes)  # the app's own: /metrics
    return app
