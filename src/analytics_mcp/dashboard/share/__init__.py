"""Read-only share links: one site's dashboard for whoever holds the link, no session needed."""
