"""The HTTP edge: raw ASGI routes, credential extraction, error rendering in the route's dialect."""
