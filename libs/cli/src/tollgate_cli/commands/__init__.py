"""The command groups of `tollgate`, one module each."""
