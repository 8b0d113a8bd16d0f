"""analytics-mcp: privacy-friendly web analytics that AI assistants can query."""

__version__ = "0.1.0"
