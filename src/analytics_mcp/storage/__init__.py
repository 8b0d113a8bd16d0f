"""Storage: schema, engines, migrations, accounts and the event store."""
