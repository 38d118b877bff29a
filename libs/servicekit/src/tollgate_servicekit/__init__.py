"""Tollgate's shared infrastructure: plumbing every service needs, and no domain rule.

Import the modules themselves (`tollgate_servicekit.nats`, `.sql`, `.http`, …); this package imports nothing at
import time, so a service that needs only the base pays for no optional dependency. The extras `nats`, `sql` and
`http` bring in what their modules need; `testing` the nats-server binary and asyncpg of the test servers
(`natsserver`, `postgres`) and of the pytest plugin `pytest_fixtures`. See README.md for the API.
"""
