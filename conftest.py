"""The repository's test infrastructure lives in servicekit's pytest plugin, `tollgate_servicekit.pytest_fixtures`:
a real nats-server (locked, with the test harness user), a real PostgreSQL, fresh schemas and SQLite files, and the
test tiers (server-using tests are marked `integration`; under `TOLLGATE_TEST_TIER=unit` an unmarked test that
starts a server fails). Loaded here, in the rootdir conftest, the only place pytest accepts `pytest_plugins`.
"""

pytest_plugins = ["tollgate_servicekit.pytest_fixtures"]
