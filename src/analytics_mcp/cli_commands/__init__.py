"""Command groups of the `analytics-mcp` CLI; each module registers its subcommands."""
