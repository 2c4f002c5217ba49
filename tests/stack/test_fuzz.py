"""schemathesis over the whole /openapi.json of a running stack (tiny model), with an admin key: no 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.stack import OurStack
from tests.helpers.host import REPO

pytestmark = pytest.mark.slow

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_no_generated_request_is_a_server_error(tmp_path: Path) -> None:
    with OurStack(tmp_path) as stack:
        origin = stack.base_url.removesuffix("/v1")
        with stack.client() as client:  # the document needs a key
            schema = client.get("/openapi.json")
        assert schema.status_code == 200, schema.text
        (tmp_path / "openapi.json").write_bytes(schema.content)
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                str(tmp_path / "openapi.json"),
                "--url",
                origin,
                "--header",
                f"Authorization: Bearer {stack.api_key}",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "6",
                "--max-time",
                "200",
                "--seed",
                "7",
                "--request-timeout",
                "60",
                "--no-shrink",
                "--continue-on-failure",
                "--report-dir",
                str(tmp_path / "report"),
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
    (tmp_path / "schemathesis.txt").write_text(run.stdout)  # the run's counts, kept with the test's files
    failures = run.stdout.split("= FAILURES =")[-1]
    assert run.returncode == 0, failures[:8000] + run.stderr[-2000:]
