"""`python -m services.scorer`: run the scorer gRPC service."""

from services.scorer.config import ScorerSettings
from services.scorer.server import start
from shared.log import configure_logging
from shared.rpc.server import run_service
from shared.settings import load_settings


def main() -> None:
    """Run the scorer until SIGTERM / SIGINT."""
    settings = load_settings(ScorerSettings)
    configure_logging(settings.log, service="scorer")
    run_service("scorer", lambda: start(settings))


if __name__ == "__main__":
    main()
