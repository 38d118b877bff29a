"""Tollgate metering: counts every usage record exactly once, prices it, and publishes budget state.

Usage records arrive on the `TG_USAGE` stream through one shared durable consumer; per-grant totals live in
the database and change only through atomic SQL updates, so any number of replicas count correctly.
"""
