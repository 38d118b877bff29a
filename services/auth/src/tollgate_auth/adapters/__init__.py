"""Adapters: the database, the bus, the token signer."""
