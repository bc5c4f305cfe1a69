"""What every controller process runs on: settings, database, ledger."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from controller import db as dbmod
from controller.ledger import Ledger, load_or_create_signing_key
from controller.settings import Settings


@dataclass
class Core:
    """What the controller runs on, shared by the HTTP app and the CLI."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    ledger: Ledger


def open_core(settings: Settings) -> Core:
    settings.prepare()
    engine = dbmod.make_engine(settings.database_url, settings.db_pool_size, settings.db_max_overflow)
    dbmod.upgrade(engine)
    sessions = dbmod.make_sessionmaker(engine)
    key = load_or_create_signing_key(settings.keys_dir / "ledger.ed25519")
    return Core(settings, engine, sessions, Ledger(sessions, key, settings.ledger_origin))
