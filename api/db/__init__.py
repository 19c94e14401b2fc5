"""The store: SQLAlchemy models and sessions."""
