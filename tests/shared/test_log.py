from __future__ import annotations

import json
import logging

import pytest

from shared.log import configure_logging, log_context
from shared.settings import LogSettings


def test_json_records_carry_context_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(level="INFO", DISTRUST_LOG_JSON=True), service="scorer")
    with log_context(request_id="req_123", job_id="ftjob-9"):
        logging.getLogger("t").info("scored", extra={"documents": 12})
    logging.getLogger("t").info("outside")
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["message"] == "scored" and lines[0]["request_id"] == "req_123"
    assert lines[0]["job_id"] == "ftjob-9" and lines[0]["documents"] == 12 and lines[0]["service"] == "scorer"
    assert "request_id" not in lines[1]


def test_text_records_show_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogSettings(level="INFO"), service="gateway")
    with log_context(request_id="req_abc"):
        logging.getLogger("t").warning("slow")
    assert "request_id=req_abc" in capsys.readouterr().err
