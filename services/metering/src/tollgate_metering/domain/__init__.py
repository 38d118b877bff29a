"""Pure metering rules: pricing, budget arithmetic, errors. No I/O; time and ids come in as arguments."""
