"""`python -m services.trainer`: run the trainer gRPC service."""

import logging

from services.trainer.config import TrainerSettings
from services.trainer.server import start
from shared.log import configure_logging
from shared.rpc.server import run_service
from shared.settings import load_settings


def main() -> None:
    """Load the trainer's settings, set up logging and serve until stopped."""
    settings = load_settings(TrainerSettings)
    configure_logging(settings.log, service="trainer")
    from services.trainer.system.blas import log_blas

    log_blas(logging.getLogger("services.trainer"))
    run_service("trainer", lambda: start(settings))


if __name__ == "__main__":
    main()
