"""Dataset preparation jobs: a record in Redis, the work streamed from the scorer by a background thread."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from services.gateway.scorer_client import ScorerClient
from shared.errors import DistrustError, NotFound
from shared.log import log_context
from shared.redis_store import KEY_PREFIX, redis_errors

logger = logging.getLogger(__name__)

STALE_AFTER_S = 600
TERMINAL = ("succeeded", "failed", "cancelled")


class DatasetJobs:
    def __init__(self, client: redis.Redis, scorer: ScorerClient) -> None:
        self.redis = client
        self.scorer = scorer

    @staticmethod
    def _key(job_id: str) -> str:
        return f"{KEY_PREFIX}dsjob:{job_id}"

    def create(
        self, *, owner: str, inputs: Sequence[Mapping[str, str | None]], options: Mapping[str, Any], profile: str | None
    ) -> dict[str, Any]:
        now = int(time.time())
        job = {
            "id": "dsjob-" + secrets.token_hex(12),
            "object": "dataset.preparation",
            "owner": owner,
            "status": "queued",
            "created_at": now,
            "updated_at": now,
            "finished_at": None,
            "inputs": [dict(i) for i in inputs],
            "options": dict(options),
            "profile": profile or "strict",
            "progress": {"stage": "queued", "done": 0, "total": None, "message": ""},
            "train_file": None,
            "validation_file": None,
            "report_file": None,
            "report": None,
            "error": None,
        }
        self._save(job)
        threading.Thread(target=self._run, args=(job,), name=job["id"], daemon=True).start()
        return job

    def get(self, *, owner: str, job_id: str) -> dict[str, Any]:
        with redis_errors("reading a dataset job"):
            raw = self.redis.get(self._key(job_id))
        job = json.loads(raw) if raw else None
        if job is None or job["owner"] != owner:
            raise NotFound(f"No such dataset job: {job_id}", param="job_id", code="job_not_found")
        if job["status"] not in TERMINAL and time.time() - job["updated_at"] > STALE_AFTER_S:
            job.update(
                status="failed",
                finished_at=int(time.time()),
                error={
                    "code": "interrupted",
                    "message": "the job stopped reporting progress (the gateway "
                    "or the scorer restarted); start it again",
                    "param": None,
                },
            )
            self._save(job)
        return job

    def _run(self, job: dict[str, Any]) -> None:
        with log_context(job_id=job["id"]):
            job.update(status="running")
            self._save(job)
            try:
                for event in self.scorer.prepare(
                    owner=job["owner"],
                    job_id=job["id"],
                    inputs=job["inputs"],
                    options=job["options"],
                    profile=job["profile"],
                ):
                    job["progress"] = {
                        "stage": event.stage,
                        "done": event.done,
                        "total": event.total or None,
                        "message": event.message,
                    }
                    if event.train_file_id:
                        job.update(
                            train_file=event.train_file_id,
                            validation_file=event.validation_file_id,
                            report_file=event.report_file_id,
                            report=json.loads(event.report_json),
                        )
                    self._save(job)
                job.update(status="succeeded" if job["train_file"] else "failed")
                if not job["train_file"]:
                    job["error"] = {"code": "no_output", "message": "the scorer ended without output", "param": None}
            except DistrustError as exc:
                job.update(status="failed", error=exc.to_dict())
            except Exception as exc:
                logger.exception("dataset job crashed")
                job.update(status="failed", error={"code": "internal_error", "message": str(exc), "param": None})
            job["finished_at"] = int(time.time())
            self._save(job)
            logger.info("dataset job ended", extra={"status": job["status"]})

    def _save(self, job: dict[str, Any]) -> None:
        job["updated_at"] = int(time.time())
        with redis_errors("saving a dataset job"):
            self.redis.set(self._key(job["id"]), json.dumps(job))


def public_view(job: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in ("owner", "updated_at")}
