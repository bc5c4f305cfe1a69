"""The API docs work without internet (Swagger UI from the controller's own files) and, outside
the demo, only for a logged-in user."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from controller.app import create_app
from controller.models import Role
from controller.services.users import create_user
from controller.settings import Settings
from tests.conftest import free_port


def make_client(tmp_path, public_docs: bool) -> TestClient:
    app = create_app(Settings(data_dir=tmp_path / "ctl", database_url=f"sqlite:///{tmp_path / 'c.db'}",
                              wire_bind=f"tcp://127.0.0.1:{free_port()}", public_docs=public_docs))
    core = app.state.core
    with core.sessions() as s:
        create_user(s, core.ledger, "ann", "ann-pass", Role.annotator, None, "test")
    return TestClient(app)


def test_docs_need_a_login_and_load_nothing_from_outside(tmp_path):
    with make_client(tmp_path, public_docs=False) as client:
        r = client.get("/docs", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        r = client.get("/openapi.json")
        assert r.status_code == 401 and "paths" not in r.text
        token = client.post("/api/auth/token", json={"username": "ann", "password": "ann-pass"}).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        assert "/api/sites/{site_id}" in client.get("/openapi.json", headers=bearer).json()["paths"]
        page = client.get("/docs", headers=bearer)
        assert page.status_code == 200
        assert not re.search(r"https?://|//cdn", page.text), page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sorted(assets) == ["/static/swagger/favicon-32x32.png", "/static/swagger/swagger-ui-bundle.js",
                                  "/static/swagger/swagger-ui.css"]
        for url in assets:  # served by the controller itself, no login needed for static files
            r = client.get(url)
            assert r.status_code == 200 and len(r.content) > 500, url
        assert "SwaggerUIBundle" in client.get("/static/swagger/swagger-ui-bundle.js").text
        assert "Apache License" in client.get("/static/swagger/LICENSE").text


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_the_demo_serves_the_docs_without_a_login(tmp_path, path):
    with make_client(tmp_path, public_docs=True) as client:
        assert client.get(path).status_code == 200
