"""Controller settings, from the environment (SITEGUARD_*) with embedded defaults."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from controller.secret_files import secret_text


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SITEGUARD_{name}", default)


@dataclass
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("DATA_DIR", "var/controller")))
    database_url: str = field(default_factory=lambda: _env("DATABASE_URL", ""))
    wire_bind: str = field(default_factory=lambda: _env("WIRE_BIND", "tcp://127.0.0.1:7700"))
    # Where the link process answers the HTTP workers (loopback only: requests carry a secret).
    link_rpc: str = field(default_factory=lambda: _env("LINK_RPC", "tcp://127.0.0.1:7701"))
    http_host: str = field(default_factory=lambda: _env("HTTP_HOST", "127.0.0.1"))
    http_port: int = field(default_factory=lambda: int(_env("HTTP_PORT", "8000")))
    ledger_origin: str = field(default_factory=lambda: _env("LEDGER_ORIGIN", "siteguard.local/ledger"))
    # An agent silent for this long is shown offline and raises an alarm.
    agent_offline_after_s: float = field(
        default_factory=lambda: float(_env("AGENT_OFFLINE_AFTER_S", "15"))
    )
    checkpoint_every_s: float = field(default_factory=lambda: float(_env("CHECKPOINT_EVERY_S", "10")))
    command_timeout_s: float = field(default_factory=lambda: float(_env("COMMAND_TIMEOUT_S", "5")))
    # How often each project's quality figures are recorded for the quality page's line over time.
    quality_snapshot_every_s: float = field(default_factory=lambda: float(_env("QUALITY_SNAPSHOT_EVERY_S", "300")))
    # The hour (site time, 0-23) from which each site's daily report of the day before is made;
    # -1: never by schedule (on demand only).
    report_hour: int = field(default_factory=lambda: int(_env("REPORT_HOUR", "6")))
    token_ttl_hours: int = field(default_factory=lambda: int(_env("TOKEN_TTL_HOURS", "12")))
    session_ttl_hours: int = field(default_factory=lambda: int(_env("SESSION_TTL_HOURS", "12")))
    secure_cookies: bool = field(default_factory=lambda: _env("SECURE_COOKIES", "0") == "1")
    # /docs and /openapi.json without a login: for the demo only.
    public_docs: bool = field(default_factory=lambda: _env("PUBLIC_DOCS", "0") == "1")
    # Reverse proxies whose X-Forwarded-For is believed (addresses or CIDRs, comma-separated);
    # none by default: a request's address is the peer that connected.
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: tuple(p.strip() for p in _env("TRUSTED_PROXIES", "").split(",") if p.strip()))
    # Which served tasks are gold: drawn from the system's random source, or, when this is set,
    # from an HMAC of it over (project, annotator, tasks served so far): the same work in the same
    # order gets the same gold, for simulations and tests. Never set it in production.
    gold_seed: str = field(default_factory=lambda: _env("GOLD_SEED", ""))

    # Database connections one process keeps (and at most the overflow more, briefly); an HTTP
    # worker also runs no more request threads than it keeps connections. `siteguard controller
    # --workers N` shares SITEGUARD_DB_CONNECTIONS among its workers.
    db_pool_size: int = field(default_factory=lambda: int(_env("DB_POOL_SIZE", "10")))
    db_max_overflow: int = field(default_factory=lambda: int(_env("DB_MAX_OVERFLOW", "10")))

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        self.trusted_proxies = tuple(self.trusted_proxies)
        for p in self.trusted_proxies:
            ipaddress.ip_network(p, strict=False)  # a typo must stop the start, not trust everyone
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'controller.db'}"

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def session_secret(self) -> str:
        """Stable across restarts so logins survive them; made once per installation, the same
        for every HTTP worker (a worker with its own would refuse the others' sessions)."""
        return secret_text(self.data_dir / "session.secret", 48)
