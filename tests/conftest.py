"""Shared fixtures: databases (SQLite and the PostgreSQL on loopback), free ports, processes."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from siteguard_cli import demo_environment

ROOT = Path(__file__).resolve().parent.parent
DEMO_SITE = ROOT / "simulators" / "sites" / "demo.yaml"
# The demo site names its passwords' environment variables; set them for every process the tests
# start (simulators, edge agents), as `siteguard demo` does.
os.environ.update(demo_environment())
PG_ADMIN_URL = os.environ.get(
    "SITEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# On PostgreSQL the API and page tests talk to the controller as production runs it: this many
# stateless HTTP worker processes, with the link and the sequencer in processes of their own.
SERVED_WORKERS = int(os.environ.get("SITEGUARD_TEST_HTTP_WORKERS", "4"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Nothing listens on (or holds) the port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _postgres_available() -> bool:
    try:
        eng = create_engine(PG_ADMIN_URL)
        with eng.connect():
            pass
        eng.dispose()
        return True
    except Exception:
        return False


@contextmanager
def fresh_postgres():
    """A throwaway PostgreSQL database on the suite's server, dropped afterwards; yields its URL."""
    if not _postgres_available():
        if os.environ.get("SITEGUARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL not reachable")
    name = f"sg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database of each kind; PostgreSQL gets its own throwaway database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'controller.db'}"
        return
    with fresh_postgres() as url:
        yield url


@pytest.fixture(scope="module")
def served_database():
    """A module's own PostgreSQL database for a controller run as production runs it (see
    SERVED_WORKERS); yields (database URL, HTTP workers)."""
    with fresh_postgres() as url:
        yield url, SERVED_WORKERS


def app_with_demo_site(tmp_path: Path, database_url: str, agent_name: str = "edge"):
    """An in-process controller app with the demo site registered and one enrolled agent row;
    returns (app, site id, agent id)."""
    from controller.app import create_app
    from controller.models import Agent
    from controller.settings import Settings
    from controller.sites import apply_site_config
    from edge_agent.wire.site import load_site_file

    app = create_app(Settings(data_dir=tmp_path / "ctl", database_url=database_url,
                              wire_bind=f"tcp://127.0.0.1:{free_port()}"))
    with app.state.core.sessions() as s:
        site, _ = apply_site_config(s, load_site_file(DEMO_SITE))
        s.commit()
        agent = Agent(name=agent_name, site_id=site.id, public_key=agent_name[0] * 40, status={})
        s.add(agent)
        s.commit()
        return app, site.id, agent.id


@contextmanager
def serve(app, database_url: str, **testclient_args) -> Iterator[httpx.Client]:
    """A client of ``app``: in-process on SQLite; on PostgreSQL the same data folder and database
    served by ``siteguard controller --workers SERVED_WORKERS`` (separate link and sequencer
    processes), so a route that kept state in one process would fail here."""
    from fastapi.testclient import TestClient

    if not database_url.startswith("postgresql") or SERVED_WORKERS < 2:
        with TestClient(app, **testclient_args) as client:
            client.address = "testclient"  # the peer address the app sees
            yield client
        return
    settings = app.state.core.settings
    tmp = Path(settings.data_dir).parent
    rig = ControllerRig(tmp, database_url, site=None, workers=SERVED_WORKERS, data=Path(settings.data_dir))
    rig.env["SITEGUARD_WIRE_BIND"] = settings.wire_bind
    rig.start()
    try:
        with httpx.Client(base_url=rig.url, timeout=60) as client:
            client.app = app  # the tests' view of the same database and ledger
            client.address = "127.0.0.1"
            yield client
    finally:
        rig.proc.stop()


def cli(*args: str, env: dict | None = None, check: bool = True, timeout: float = 60):
    """Run `siteguard ARGS` as a separate process, like an operator would."""
    res = subprocess.run([sys.executable, "-m", "siteguard_cli", *args], cwd=ROOT,
                         env={**os.environ, **(env or {})}, capture_output=True, text=True,
                         timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"siteguard {' '.join(args)} failed ({res.returncode}):\n"
                             f"{res.stdout}\n{res.stderr}")
    return res


class Proc:
    """A SiteGuard process under test, with its log kept for failure messages."""

    def __init__(self, args: list[str], env: dict, log: Path) -> None:
        self.args, self.env, self.log_path = args, env, log
        self.p: subprocess.Popen | None = None

    def start(self) -> "Proc":
        self._log = open(self.log_path, "ab")
        self.p = subprocess.Popen([sys.executable, "-m", "siteguard_cli", *self.args], cwd=ROOT,
                                  env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def kill9(self) -> None:
        assert self.p is not None
        self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)

    def stop(self) -> None:
        if self.p and self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]


class ControllerRig:
    """A controller process on free ports with the demo site registered and users made."""

    def __init__(self, tmp: Path, database_url: str, site: Path | None = DEMO_SITE, workers: int = 1,
                 data: Path | None = None) -> None:
        self.data = data or tmp / "controller"
        self.http_port, self.wire_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.wire = f"tcp://127.0.0.1:{self.wire_port}"
        self.env = {**os.environ, "SITEGUARD_DATA_DIR": str(self.data),
                    "SITEGUARD_DATABASE_URL": database_url,
                    "SITEGUARD_HTTP_PORT": str(self.http_port),
                    "SITEGUARD_WIRE_BIND": self.wire,
                    "SITEGUARD_AGENT_OFFLINE_AFTER_S": "6",
                    "SITEGUARD_CHECKPOINT_EVERY_S": "1"}
        args = ["controller", *(["--site", str(site)] if site else [])]
        if workers > 1:
            args += ["--workers", str(workers)]
            self.env["SITEGUARD_LINK_RPC"] = f"tcp://127.0.0.1:{free_port()}"
        self.workers = workers
        self.proc = Proc(args, self.env, tmp / "controller.log")
        self.key_file = self.data / "keys" / "controller.key"

    def start(self) -> "ControllerRig":
        """Start the controller and wait until it is healthy; one that never gets there is
        stopped before the failure is raised, so no fixture leaves it running."""
        self.proc.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.proc.stop()
            raise
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        def healthy() -> bool:
            if self.proc.p.poll() is not None:
                raise AssertionError(f"controller exited:\n{self.proc.log()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False
        try:
            wait_for(healthy, timeout=timeout, what="controller healthy")
        except AssertionError as exc:
            if str(exc).startswith("controller exited"):
                raise
            raise AssertionError(f"controller not healthy:\n{self.proc.log()}") from None

    def seed_users(self, users: dict[str, tuple[str, str | None]]) -> None:
        """Create users {username: (role, customer slug)} with password '<username>-pass'."""
        from sqlalchemy import select

        from controller.app import open_core
        from controller.models import Customer, Role
        from controller.services.users import create_user
        from controller.settings import Settings

        core = open_core(Settings(data_dir=self.data, database_url=self.env["SITEGUARD_DATABASE_URL"]))
        with core.sessions() as s:
            for username, (role, customer) in users.items():
                cid = s.scalar(select(Customer.id).where(Customer.slug == customer)) if customer else None
                create_user(s, core.ledger, username, f"{username}-pass", Role(role), cid, "test")
        core.engine.dispose()

    def db(self):
        from sqlalchemy import create_engine

        return create_engine(self.env["SITEGUARD_DATABASE_URL"])

    def siteguard(self, *args: str, check: bool = True):
        return cli(*args, "--data", str(self.data), env=self.env, check=check)

    def token(self, username: str, password: str) -> str:
        r = httpx.post(self.url + "/api/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def client(self, username: str, password: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token(username, password)}"})


def make_agent(tmp: Path, rig: ControllerRig, name: str = "edge-1", enroll: bool = True,
               extra_env: dict | None = None, video: bool = False, site: Path = DEMO_SITE,
               gates: bool = False, osdp_keys: Path | None = None, network: bool = False) -> Proc:
    data = tmp / name
    key = cli("agent-key", "--data", str(data)).stdout.strip()
    if enroll:
        (tmp / f"{name}.pub").write_text(key)
        rig.siteguard("enroll-agent", "--name", name, "--site", "demo-floor3",
                      "--public-key", str(tmp / f"{name}.pub"))
    env = {**os.environ, **(extra_env or {})}
    args = ["edge", "--site", str(site), "--data", str(data), "--controller-key",
            str(rig.key_file), "--endpoint", rig.wire]
    args += [] if video else ["--no-video"]
    args += ["--osdp-keys", str(osdp_keys)] if gates and osdp_keys else ([] if gates else ["--no-gates"])
    args += [] if network else ["--no-network"]
    return Proc(args, env, tmp / f"{name}.log")


class SimulatorProcess:
    """A hardware simulator run by its public CLI, driven through its JSON control endpoint."""

    def __init__(self, tmp: Path, module: str, args: list[str], ready_path: str, name: str,
                 timeout: float = 60) -> None:
        self.control = f"http://127.0.0.1:{free_port()}"
        self.log = open(tmp / f"{name}.log", "ab")
        self.name, self.ready_path = name, ready_path
        self.p = subprocess.Popen([sys.executable, "-m", module, *args, "--control-port",
                                   self.control.rsplit(":", 1)[1]],
                                  cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._up, timeout=timeout, what=f"{name} simulator ready")

    def _up(self) -> bool:
        assert self.p.poll() is None, f"{self.name} simulator exited"
        try:
            return httpx.get(self.control + self.ready_path, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def post(self, path: str, body: dict) -> dict:
        r = httpx.post(self.control + path, json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def wait_for(predicate, timeout: float = 30, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something true (returned); fail after `timeout` s.
    Tests wait on a condition like this, never on a fixed sleep."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)  # the poll's pace
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 30,
                  proc: subprocess.Popen | None = None, what: str = "") -> None:
    """Wait until something accepts TCP connections on host:port; fail at once if `proc`, the
    process that should listen there, exits first."""
    what = what or f"{host}:{port} accepting connections"

    def accepting() -> bool:
        assert proc is None or proc.poll() is None, f"{what}: the process exited"
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(accepting, timeout=timeout, interval=0.1, what=what)
