"""Alembic environment of the lendscore audit store.

Run programmatically by :func:`lendscore.service.audit_sql.upgrade` (a connection is passed in
``config.attributes["connection"]``) or from the command line with ``sqlalchemy.url`` set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

config = context.config
connection = config.attributes.get("connection")


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no audit store to migrate: set sqlalchemy.url (in alembic.ini) to the store's URL")
    return url


def _run(conn: sa.Connection) -> None:
    context.configure(connection=conn, target_metadata=None, render_as_batch=conn.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif connection is not None:
    _run(connection)
else:
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()
