"""A sync endpoint's database session is closed as the endpoint returns (or raises), before the
answer is built, so a flood of requests cannot hold every connection while waiting for threads."""
from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from controller.session_release import end_sessions_with_endpoints


@pytest.fixture()
def app_and_pool(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    sessions = sessionmaker(engine)
    seen: dict[str, object] = {}

    def get_db():
        with sessions() as s:
            yield s

    router = APIRouter()

    @router.get("/read")
    def read(db: Session = Depends(get_db)) -> dict:
        db.execute(text("SELECT 1"))
        seen["session"] = db
        seen["held"] = engine.pool.checkedout()
        return {"ok": True}

    @router.get("/fail")
    def fail(db: Session = Depends(get_db)) -> dict:
        db.execute(text("SELECT 1"))
        seen["session"] = db
        raise RuntimeError("boom")

    @router.get("/async")
    async def asynchronous() -> dict:
        return {"ok": True}

    app = FastAPI()

    @app.middleware("http")
    async def after(request, call_next):  # what the pool holds once the endpoint is done
        response = await call_next(request)
        seen["after"] = engine.pool.checkedout()
        return response

    app.include_router(end_sessions_with_endpoints(router))
    seen["router"] = router
    return app, engine, seen


def test_the_connection_is_back_in_the_pool_when_the_endpoint_returns(app_and_pool):
    app, engine, seen = app_and_pool
    with TestClient(app) as c:
        assert c.get("/read").json() == {"ok": True}
    assert seen["held"] == 1 and seen["after"] == 0
    assert not seen["session"].in_transaction()


def test_a_failing_endpoint_gives_its_connection_back_too(app_and_pool):
    app, engine, seen = app_and_pool
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/fail").status_code == 500
    assert engine.pool.checkedout() == 0 and not seen["session"].in_transaction()


def test_async_endpoints_are_left_as_they_are(app_and_pool):
    app, _, seen = app_and_pool
    closing = {r.path: getattr(r.endpoint, "__siteguard_closing__", False) for r in seen["router"].routes}
    assert closing == {"/read": True, "/fail": True, "/async": False}
    with TestClient(app) as c:
        assert c.get("/async").json() == {"ok": True}
