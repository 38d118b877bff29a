"""Keyvault's edges: SQL storage, the NATS bus, and key files."""
