"""REST routes, auth, rate limiting and the one error shape."""
