"""`python -m services.gateway`: run the HTTP gateway with uvicorn."""

from __future__ import annotations

import logging
import socket

import uvicorn

from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from services.gateway.drain import DrainingServer
from shared.errors import ConfigError
from shared.log import configure_logging
from shared.settings import load_settings

logger = logging.getLogger(__name__)


def main() -> None:
    """Load the settings, check the port is free, and serve the app until stopped."""
    try:
        settings = load_settings(GatewaySettings)
        configure_logging(settings.log, service="gateway")
        _check_port(settings.host, settings.port)
        app = create_app(settings)
    except ConfigError as exc:
        logging.basicConfig()
        logger.error("cannot start gateway: %s", exc.message)
        raise SystemExit(2) from exc
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None, access_log=False, timeout_graceful_shutdown=10
    )
    DrainingServer(config, app.state.drain, settings.drain_timeout_s).run()


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is free
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); set DISTRUST_GATEWAY_PORT to change it",
                param="DISTRUST_GATEWAY_PORT",
            ) from exc


if __name__ == "__main__":
    main()
