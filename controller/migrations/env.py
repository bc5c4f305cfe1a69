"""Alembic environment: runs on the connection the controller hands over (controller.db.upgrade)."""
from alembic import context

import controller.models  # noqa: F401  (registers the tables on Base.metadata)
from controller.db import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # `alembic` CLI use: URL from the environment like the controller
    import os

    from sqlalchemy import create_engine

    url = os.environ.get("SITEGUARD_DATABASE_URL", "sqlite:///var/siteguard.db")
    connection = create_engine(url).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
