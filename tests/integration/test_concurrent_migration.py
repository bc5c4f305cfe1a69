"""Every process of a controller migrates its database as it starts. On a new PostgreSQL
database they must not race to create the same tables: six processes started at once all come
up, and the schema ends at the newest revision once."""
from __future__ import annotations

import subprocess
import sys

from sqlalchemy import create_engine, text

from tests.conftest import fresh_postgres

MIGRATE = """
import sys
from controller.db import make_engine, upgrade
engine = make_engine(sys.argv[1])
upgrade(engine)
engine.dispose()
"""


def test_processes_migrating_a_new_database_at_once_all_succeed():
    with fresh_postgres() as url:
        procs = [subprocess.Popen([sys.executable, "-c", MIGRATE, url], stderr=subprocess.PIPE, text=True)
                 for _ in range(6)]
        errors = [p.communicate(timeout=240)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, "\n".join(e[-800:] for e in errors if e)
        engine = create_engine(url)
        with engine.connect() as c:
            versions = c.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = c.execute(text("SELECT count(*) FROM pg_tables WHERE tablename = 'task_slots'")).scalar()
        engine.dispose()
        from controller.db import MIGRATIONS
        heads = sorted(p.name.split("_")[0] for p in (MIGRATIONS / "versions").glob("0*.py"))
        assert versions == [heads[-1]] and tables == 1
