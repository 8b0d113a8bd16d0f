"""The dashboard: the sign-in pages, the dashboard page, its static assets and its own data
routes. Sessions are authenticated by `http_api.auth`, like API tokens."""
