"""The `distrust` command line: the HTTP client commands and the local stack supervisor."""
