"""Keyvault's HTTP API: admin-key protected credential routes (health and errors are servicekit's)."""
