"""Auth's HTTP API: FastAPI routers, the admin-key dependency and the error handlers."""
