"""The controller's HTTP app, with the link and the sequencer beside it or in processes of their own."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware.sessions import SessionMiddleware

from controller import errors, metrics
from controller.auth import STAFF, require
from controller.core import Core, open_core  # noqa: F401 - the CLI and tests open the core from here
from controller.limits import BodyLimit
from controller.link_rpc import LinkClient, rpc_secret
from controller.link_watch import link_health
from controller.login import report_failed_logins
from controller.parent_death import die_with_parent
from controller.roles import housekeeping_loop, sequencer_loop, start_link, stop_link
from controller.routers import (
    access,
    agents,
    audit_bundles,
    auth_api,
    cameras,
    customers,
    docs,
    drills,
    events,
    exports,
    floorplan,
    ledger_api,
    network,
    pages,
    projects,
    reports,
    role_pages,
    seats,
    sites,
    synthesis,
    users,
    vpn,
)
from controller.routers import gold as gold_router
from controller.routers import quality as quality_router
from controller.routers import releases as releases_router
from controller.routers import reviews as reviews_router
from controller.routers import work as work_router
from controller.session_release import end_sessions_with_endpoints
from controller.settings import Settings

log = logging.getLogger("siteguard.controller")


def server_public_key_file(settings: Settings) -> Path:
    return settings.keys_dir / "controller.key"


def close_quality_board(app: FastAPI) -> None:
    """Ends the quality board's scoring process, if it started one."""
    board = getattr(app.state, "quality_board", None)
    if board is not None:
        board.close()


def create_app(settings: Settings | None = None, role: str = "all") -> FastAPI:
    """role "all": the link and the sequencer run in this process beside the HTTP app (one
    worker, the embedded default). role "http": one of N stateless HTTP workers; it reaches the
    edges through the link process and leaves the ledger's indexes to the sequencer process."""
    settings = settings or Settings()
    core = open_core(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if role == "http":
            # No more request threads than kept connections: a request beyond them waits in the
            # event loop, cheaply, instead of in a thread for a connection.
            anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, settings.db_pool_size)
            app.state.wire = LinkClient(settings.link_rpc, rpc_secret(settings.keys_dir))
            # Each worker counts its own refused logins in memory; its housekeeping folds them in.
            stop = threading.Event()
            threading.Thread(target=housekeeping_loop, args=(core, stop, False), daemon=True,
                             name="housekeeping").start()  # the link process records quality snapshots
            try:
                yield
            finally:
                stop.set()
                close_quality_board(app)
                report_failed_logins(core.sessions, core.ledger, flush_all=True)
                core.engine.dispose()
            return
        watch = start_link(core, on_restart=lambda w: setattr(app.state, "wire", w))
        app.state.wire = watch.wire
        app.state.link_watch = watch
        stop = threading.Event()
        threading.Thread(target=housekeeping_loop, args=(core, stop), daemon=True,
                         name="housekeeping").start()
        threading.Thread(target=sequencer_loop, args=(core, stop), daemon=True, name="sequencer").start()
        core.ledger.append("controller.started", {"wire": settings.wire_bind})
        try:
            yield
        finally:
            stop.set()
            close_quality_board(app)
            stop_link(watch)
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

    for r in (auth_api, agents, events, customers, sites, users, ledger_api, cameras, access, network, seats, projects,
              work_router, reviews_router, gold_router, releases_router, quality_router, exports, synthesis, floorplan,
              reports, audit_bundles, drills, vpn, pages, role_pages, docs):
        errors.document_common_errors(r.router.routes)
        app.include_router(end_sessions_with_endpoints(r.router))
    app.mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static")

    @app.get("/healthz", tags=["health"], responses={503: {"description": "the edge link is down or stuck"}})
    def healthz(request: Request) -> JSONResponse:
        wire = getattr(request.app.state, "wire", None)
        if wire is None:  # no lifespan (an app used without serving): nothing to report
            return JSONResponse({"ok": True, "link": "not started"})
        if isinstance(wire, LinkClient):  # an HTTP worker: the link process answers for itself
            h = wire.health()
            state, detail = h.get("state", "unreachable"), h.get("detail", "")
        else:
            health = link_health(wire)
            state, detail = health.state, health.detail
        return JSONResponse({"ok": state == "up", "link": state, "detail": detail},
                            status_code=200 if state == "up" else 503)

    @app.get("/metrics", tags=["health"], dependencies=[require(*STAFF)])
    def prometheus_metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    errors.document_common_errors(app.router.routes)  # the app's own: /metrics
    return app


def http_worker_app() -> FastAPI:
    """The app of one HTTP worker process (`uvicorn --factory`), settings from the environment;
    the worker ends with the supervisor that started it."""
    die_with_parent()
    return create_app(Settings(), role="http")
