"""Adapters: the database (SQLModel over SQLAlchemy async) and the bus (nats-py JetStream)."""
