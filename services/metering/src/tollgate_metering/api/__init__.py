"""The HTTP API: health, readiness and the admin usage API."""
