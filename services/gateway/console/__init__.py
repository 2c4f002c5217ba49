"""The web console: static files (HTML, CSS, ES modules; no build step) that call the gateway's own API."""
