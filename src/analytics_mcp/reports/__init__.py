"""Weekly email reports: the weekly-report numbers (what the MCP weekly-report prompt asks the
tools for) rendered as an email and sent through ANALYTICS_SMTP_URL, on a schedule inside `serve`
and on demand from the CLI."""
