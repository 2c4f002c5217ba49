"""Helpers of the CLI commands: HTTP calls, progress display, local fallbacks."""
