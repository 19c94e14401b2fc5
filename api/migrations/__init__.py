"""Alembic migrations of the store (configured in code by :func:`api.db.session.migrate`)."""
