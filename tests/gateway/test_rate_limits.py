"""Rate limits per key and per deployment: 429 with Retry-After and OpenAI's x-ratelimit-* headers, never a hang."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis as redis_lib
from fastapi.testclient import TestClient

from services.gateway.limits import Limits, RateLimiter
from shared.errors import RateLimited
from shared.jobs.records import BaseJob, JobStatus
from shared.jobs.store import JobKind, JobStore, active_jobs
from shared.settings import RedisSettings, StorageSettings
from tests.gateway.users import ALICE, BOB
from tests.helpers.gateway import gateway_client


def _fresh_window() -> None:
    """Start a test's counting well inside a one-minute window, so the window cannot turn under it."""
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)


@pytest.fixture
def gateway(storage_settings: StorageSettings, redis_settings: RedisSettings) -> Iterator[TestClient]:
    with gateway_client(storage_settings, redis_settings, key_secret="s3cret", key_concurrent_streams=1) as client:
        yield client


def _key(client: TestClient, **limits: int) -> dict[str, str]:
    body = {"name": "limited", "scopes": ["inference", "files"], "limits": limits}
    created = client.post("/v1/api_keys", headers=ALICE, json=body)
    assert created.status_code == 200, created.text
    return {"Authorization": f"Bearer {created.json()['value']}"}


def test_requests_per_minute_is_a_429_with_retry_after_for_that_key_only(gateway: TestClient) -> None:
    _fresh_window()
    limited = _key(gateway, requests_per_minute=3)
    for remaining in (2, 1, 0):
        ok = gateway.get("/v1/files", headers=limited)
        assert ok.status_code == 200, ok.text
        assert ok.headers["x-ratelimit-limit-requests"] == "3"
        assert ok.headers["x-ratelimit-remaining-requests"] == str(remaining)
        assert ok.headers["x-ratelimit-reset-requests"].endswith("s")
    started = time.monotonic()
    refused = gateway.get("/v1/files", headers=limited)
    assert time.monotonic() - started < 1.0
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    error = refused.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    for other in (ALICE, BOB):
        assert gateway.get("/v1/files", headers=other).status_code == 200  # other keys are not limited


def test_tokens_per_minute_charge_the_estimate_at_admission(gateway: TestClient) -> None:
    _fresh_window()
    limited = _key(gateway, tokens_per_minute=100)
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 200}], "max_tokens": 40}
    first = gateway.post("/v1/chat/completions", headers=limited, json=body)  # ~51 + 40 tokens: admitted
    assert first.status_code != 429, first.text
    assert first.headers["x-ratelimit-remaining-tokens"] == str(100 - 91)
    second = gateway.post("/v1/chat/completions", headers=limited, json=body)
    assert second.status_code == 429 and second.json()["error"]["type"] == "tokens", second.text


def test_a_stream_slot_is_given_back_when_generation_fails(gateway: TestClient) -> None:
    """One stream per key (DISTRUST_GATEWAY_KEY_CONCURRENT_STREAMS=1): a failed start does not keep the slot."""
    limited = _key(gateway)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    for _ in range(3):
        answer = gateway.post("/v1/chat/completions", headers=limited, json=body)
        assert answer.status_code == 503, answer.text  # the inference service is down here, not a 429
        assert answer.headers["retry-after"]


def test_concurrent_streams_and_deployment_limits(redis_settings: RedisSettings) -> None:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value())
    limiter = RateLimiter(client, Limits(requests_per_minute=1000, tokens_per_minute=500))
    release = limiter.open_stream("key_s", Limits(concurrent_streams=1))
    with pytest.raises(RateLimited):
        limiter.open_stream("key_s", Limits(concurrent_streams=1))
    release()
    release()  # giving back twice gives back once
    limiter.open_stream("key_s", Limits(concurrent_streams=1))()
    _fresh_window()
    limiter.admit("key_a", Limits(), tokens=400)
    with pytest.raises(RateLimited, match="the deployment"):
        limiter.admit("key_b", Limits(), tokens=200)  # another key, but the deployment's 500 are spent
    limiter.admit("key_b", Limits(), tokens=100)  # the refused request was not counted


def test_concurrent_jobs_count_the_owners_queued_and_running_jobs(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    client = redis_lib.Redis.from_url(redis_settings.url.get_secret_value(), decode_responses=True)
    jobs = JobStore(client, JobKind("limitjob", BaseJob, "test job", "job_id"))
    running = jobs.create(BaseJob(id="limitjob-1", owner="carol"))
    body = {"models": ["distrust-tiny-llama"], "tasks": [{"type": "suite", "suite": "authority"}]}
    with gateway_client(storage_settings, redis_settings, key_secret="s3cret") as gateway:
        created = gateway.post(
            "/v1/api_keys", headers=ALICE, json={"name": "j", "owner": "carol", "limits": {"concurrent_jobs": 1}}
        )
        carol = {"Authorization": f"Bearer {created.json()['value']}"}
        started = time.monotonic()
        refused = gateway.post("/v1/evals", headers=carol, json=body)
        assert time.monotonic() - started < 1.0
        assert refused.status_code == 429, refused.text
        assert refused.headers["x-ratelimit-limit-jobs"] == "1" and int(refused.headers["retry-after"]) > 0
        assert refused.json()["error"]["type"] == "jobs" and "1 jobs queued or running" in refused.text
        assert (
            gateway.post("/v1/datasets/prepare", headers=carol, json={"inputs": [{"file_id": "x"}]}).status_code == 429
        )
        assert gateway.post("/v1/evals", headers=BOB, json=body).status_code != 429  # another owner's count
        jobs.update(running.id, lambda job: setattr(job, "status", JobStatus.SUCCEEDED))
        assert active_jobs(client, "carol") == 0
        # The slot is free: the request goes on to the trainer (not running here), so it is no longer a 429.
        assert gateway.post("/v1/evals", headers=carol, json=body).status_code != 429


def test_stored_bytes_refuse_the_upload_that_would_pass_the_limit(gateway: TestClient) -> None:
    limited = _key(gateway, stored_bytes=1000)
    upload = {"purpose": "fine-tune"}
    line = b'{"text": "' + b"a" * 380 + b'"}\n'
    first = gateway.post("/v1/files", headers=limited, data=upload, files={"file": ("a.jsonl", line * 2)})
    assert first.status_code == 200, first.text
    too_big = gateway.post("/v1/files", headers=limited, data=upload, files={"file": ("b.jsonl", line * 2)})
    assert too_big.status_code == 429, too_big.text
    assert too_big.json()["error"]["code"] == "insufficient_quota" and too_big.json()["error"]["param"] == "file"
    fits = gateway.post("/v1/files", headers=limited, data=upload, files={"file": ("c.jsonl", b'{"text": "b"}\n')})
    assert fits.status_code == 200, fits.text
    names = [f["filename"] for f in gateway.get("/v1/files", headers=limited).json()["data"]]
    assert "b.jsonl" not in names  # nothing of the refused upload was kept
    assert gateway.delete(f"/v1/files/{first.json()['id']}", headers=limited).status_code == 200
    assert gateway.delete(f"/v1/files/{first.json()['id']}", headers=limited).status_code == 404
    again = gateway.post("/v1/files", headers=limited, data=upload, files={"file": ("b.jsonl", line * 2)})
    assert again.status_code == 200, again.text  # a deleted file's bytes are given back, once
