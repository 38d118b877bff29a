"""Runs Tollgate as local processes: the embedded default (`make run`) and the harness the tests start."""
