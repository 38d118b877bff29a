"""Pure rules of the proxy: no I/O, `now` passed in, mypy-strict."""
