"""The check that fails the run when a log holds a secret (tests/conftest.py runs it over every log at the end)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.leaks import find_leaks


def test_a_secret_or_a_key_in_any_log_is_found(tmp_path: Path) -> None:
    stack = tmp_path / "a" / "data"
    (stack / "logs").mkdir(parents=True)
    (stack / "secrets.json").write_text(json.dumps({"redis_password": "hunter2-and-more", "short": "x"}))
    (stack / "logs" / "clean.log").write_text("redis://:**@127.0.0.1 key sk-dt-...abcd started\n")
    assert find_leaks(tmp_path) == []
    (stack / "logs" / "worker.log").write_text("connecting to redis://:hunter2-and-more@127.0.0.1:6379\n")
    (tmp_path / "b.log").write_text("Authorization: Bearer sk-dt-" + "A" * 32 + "\n")
    leaks = find_leaks(tmp_path)
    assert len(leaks) == 2 and "worker.log: a stack secret" in leaks[0] + leaks[1] and "an API key" in "".join(leaks)
    for planted in (stack / "logs" / "worker.log", tmp_path / "b.log"):
        planted.unlink()  # the run's own check reads every log under the session's folder
