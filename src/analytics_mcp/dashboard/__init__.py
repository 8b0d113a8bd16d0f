"""The dashboard: sign-in with server-side sessions, the pages, and their static assets.

Kept import-light: `http_api.auth` imports `dashboard.principal`, and the routes import the API.
"""
