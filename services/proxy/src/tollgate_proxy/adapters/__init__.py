"""The proxy's edges: the bus (policy follower, sealed keys, usage), the upstream HTTP hop."""
