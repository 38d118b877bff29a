"""Keyvault's pure rules: the credential model, envelope encryption at rest, and the sealed box for proxies."""
