"""`python -m services.inference`: run the inference gRPC service."""

import logging

from services.inference.config import InferenceSettings
from shared.log import configure_logging
from shared.rpc.server import run_service
from shared.settings import load_settings


def main() -> None:
    """Start the inference service with settings from the environment and serve until stopped."""
    settings = load_settings(InferenceSettings)
    configure_logging(settings.log, service="inference")
    settings.apply_blas_threads()
    from services.trainer.system.blas import log_blas

    log_blas(logging.getLogger("services.inference"))
    from services.inference.server import start  # imports MLX, so only after the BLAS setting

    run_service("inference", lambda: start(settings))


if __name__ == "__main__":
    main()
