"""The dashboard's admin side: sites, goals, API tokens, users, share links and weekly email
reports, managed by a tenant's owners and admins through the same account code as the CLI."""
