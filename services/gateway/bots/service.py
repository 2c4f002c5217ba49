"""The bot control use cases: profiles and their data, should-train, train, status and initialize.

A bot calls one alias; `train` starts a job on the profile's new data from what the alias serves now (continuing
its adapter) and the job moves the alias when it succeeds.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time

from services.gateway.bots.conversations import (
    MAX_ERRORS_REPORTED,
    ChatMessage,
    fingerprint,
    parse_export,
    threads,
    transcript,
)
from services.gateway.bots.drift import sample_texts, served_loss
from services.gateway.bots.policy import ACTIVE, Decision, JobView, decide, new_files
from services.gateway.bots.profiles import (
    BotProfile,
    DataFile,
    ProfileJob,
    ProfileSettings,
    ProfileStore,
    profile_name,
)
from services.gateway.inference_client import Inference
from services.gateway.schemas.bots import (
    AliasView,
    ConversationImport,
    Initialized,
    JobSummary,
    MlStatus,
    TrainStarted,
)
from services.gateway.schemas.fine_tuning import FineTuningJob, JobCreate
from services.gateway.scorer_client import ScorerClient
from services.gateway.trainer_client import TrainerClient
from shared.aliases import alias_name
from shared.errors import DistrustError, FailedPrecondition, NotFound, invalid_field
from shared.files import FileService, Purpose
from shared.files.models import FileObject
from shared.model_aliases import Aliases
from shared.schemas.fine_tuning import Hyperparameters
from shared.storage import Bucket

logger = logging.getLogger(__name__)
JOBS_LOOKED_AT = 20  # the profile's latest jobs read to find what succeeded
SCORE_CHUNK = 256  # conversations per scorer call
# `raw` checks every line is JSON at upload; `assistants` takes the export as it is (bad lines reported at import).
EXPORT_PURPOSES = (Purpose.RAW, Purpose.ASSISTANTS)


class BotService:
    """Every method takes the caller's owner and one of their profiles."""

    def __init__(
        self,
        profiles: ProfileStore,
        files: FileService,
        aliases: Aliases,
        trainer: TrainerClient,
        inference: Inference,
        scorer: ScorerClient,
    ) -> None:
        self.scorer = scorer
        self.profiles = profiles
        self.files = files
        self.aliases = aliases
        self.trainer = trainer
        self.inference = inference

    def put_profile(self, owner: str, name: str, settings: ProfileSettings) -> BotProfile:
        """Create or change a profile; its base model must be one the owner can use."""
        alias = alias_name(settings.alias or profile_name(name), "alias")
        self.aliases.check_target(owner, settings.base_model, "base_model")
        return self.profiles.put(owner, name, settings, alias)

    def add_data(self, owner: str, name: str, file_id: str) -> BotProfile:
        """Append one of the owner's fine-tune files to the profile's data stream."""
        self.profiles.get(owner, name)
        record = self._owned(owner, file_id, (Purpose.FINE_TUNE,), "training records")
        entry = DataFile(file_id=file_id, examples=record.lines or 0)
        return self.profiles.update(owner, name, lambda p: p.files.append(entry))

    def import_conversations(self, owner: str, name: str, file_id: str) -> ConversationImport:
        """Turn a chat export into scored, deduplicated conversation records appended as a new versioned file."""
        profile = self.profiles.get(owner, name)
        rules = profile.conversation_rules
        source = self._owned(owner, file_id, EXPORT_PURPOSES, "a chat export (one JSON message per line)")
        parsed = parse_export(self.files.store.iter_lines(Bucket.FILES, source.storage_key), rules)
        if not parsed.messages and parsed.errors and len(parsed.errors) == parsed.lines:
            first = parsed.errors[0]
            raise invalid_field(
                "file_id", file_id, f"a chat export; no line could be read (line {first.line}: {first.message})"
            )
        conversations = threads(parsed.messages, rules)
        texts = [transcript(c, rules) for c in conversations]
        prints = [fingerprint(t) for t in texts]
        fresh: dict[str, tuple[list[ChatMessage], str]] = {}
        for conversation, text, print_, unseen in zip(
            conversations, texts, prints, self.profiles.unseen(owner, name, prints), strict=True
        ):
            if unseen and print_ not in fresh:
                fresh[print_] = (conversation, text)
        records = self._scored(list(fresh.values()), file_id)
        new_file, version = None, None
        if records:
            version = 1 + sum(1 for f in profile.files if f.source is not None)
            body = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in records))
            filename = f"{name}-conversations-v{version}.jsonl"
            new_file = self.files.upload(owner=owner, filename=filename, purpose=Purpose.FINE_TUNE, stream=body).id
            entry = DataFile(file_id=new_file, examples=len(records), source=file_id)
            self.profiles.update(owner, name, lambda p: p.files.append(entry))
            self.profiles.remember(owner, name, list(fresh))
        logger.info("conversations imported", extra={"profile": name, "records": len(records), "file_id": new_file})
        return ConversationImport(
            profile=name,
            source_file=file_id,
            file_id=new_file,
            version=version,
            lines=parsed.lines,
            messages=len(parsed.messages),
            dropped_bot=parsed.dropped_bot,
            dropped_command=parsed.dropped_command,
            dropped_empty=parsed.dropped_empty,
            errors=parsed.errors[:MAX_ERRORS_REPORTED],
            errors_total=len(parsed.errors),
            conversations=len(conversations),
            duplicates=len(conversations) - len(fresh),
            records=len(records),
        )

    def _scored(self, conversations: list[tuple[list[ChatMessage], str]], source: str) -> list[dict[str, object]]:
        """Training records of the conversations, each scored by the scorer (auth_weight, prov_entropy)."""
        records: list[dict[str, object]] = []
        for start in range(0, len(conversations), SCORE_CHUNK):
            chunk = conversations[start : start + SCORE_CHUNK]
            documents = [
                (text, {"source_type": "chat", "date": c[0].timestamp.date().isoformat()}) for c, text in chunk
            ]
            for (conversation, text), score in zip(chunk, self.scorer.score(documents, None), strict=True):
                records.append(
                    {
                        "text": text,
                        "auth_weight": score.auth_weight,
                        "prov_entropy": score.prov_entropy,
                        "source_type": "chat",
                        "metadata": {
                            "channel": conversation[0].channel,
                            "messages": len(conversation),
                            "started_at": conversation[0].timestamp.isoformat(),
                            "source_file": source,
                        },
                    }
                )
        return records

    def _owned(self, owner: str, file_id: str, purposes: tuple[Purpose, ...], what: str) -> FileObject:
        try:
            record = self.files.get(owner=owner, file_id=file_id)
        except NotFound:
            raise invalid_field("file_id", file_id, "the id of one of your files") from None
        if record.purpose not in purposes:
            allowed = " or ".join(p.value for p in purposes)
            raise invalid_field(
                "file_id", file_id, f"{what}, uploaded with purpose {allowed} (it is {record.purpose.value})"
            )
        return record

    async def _jobs(self, owner: str, profile: BotProfile) -> list[FineTuningJob]:
        """The profile's latest jobs, oldest first (a job deleted meanwhile is skipped)."""
        jobs = []
        for entry in profile.jobs[-JOBS_LOOKED_AT:]:
            try:
                jobs.append(await self.trainer.get(owner, entry.job_id))
            except NotFound:
                continue
        return jobs

    async def _decide(self, owner: str, profile: BotProfile) -> tuple[Decision, list[FineTuningJob]]:
        jobs = await self._jobs(owner, profile)
        latest = JobView(jobs[-1].id, jobs[-1].status, jobs[-1].created_at) if jobs else None
        succeeded = {j.id for j in jobs if j.status == "succeeded"}
        drift = await self._drift(owner, profile, jobs) if profile.policy.max_loss_drift is not None else None
        return decide(profile, latest, succeeded, int(time.time()), drift), jobs

    async def _drift(self, owner: str, profile: BotProfile, jobs: list[FineTuningJob]) -> float | None:
        """The served model's loss on new examples minus its last job's final cross-entropy (None: no basis)."""
        done = [j for j in jobs if j.status == "succeeded"]
        fresh = profile.files[new_files(profile, {j.id for j in done}) :]
        if not done or not fresh:
            return None
        metrics = await self._last_metrics(owner, done[-1].id)
        reference = metrics.get("ce", metrics.get("train_loss"))
        texts = await asyncio.to_thread(sample_texts, self.files, owner, fresh)
        if reference is None or not texts:
            return None
        called, _target, _alias = self._model(owner, profile)
        return await served_loss(self.inference, owner, called, texts) - reference

    async def should_train(self, owner: str, name: str) -> tuple[BotProfile, Decision]:
        profile = self.profiles.get(owner, name)
        decision, _jobs = await self._decide(owner, profile)
        return profile, decision

    def _model(self, owner: str, profile: BotProfile) -> tuple[str, str, AliasView | None]:
        """What the bot calls (the alias once it exists), the model behind it, and the alias."""
        alias = self.aliases.store.get(owner, profile.alias)
        if alias is None:
            return profile.base_model, profile.base_model, None
        return alias.id, alias.model, AliasView(id=alias.id, model=alias.model)

    async def train(self, owner: str, name: str, *, epochs: int | None, force: bool) -> TrainStarted:
        """Start a job on the profile's new data from what its alias serves now; 409 when not due (unless force)."""
        profile = self.profiles.get(owner, name)
        decision, jobs = await self._decide(owner, profile)
        running = jobs[-1] if jobs and jobs[-1].status in ACTIVE else None
        if running is not None and not force:
            raise FailedPrecondition(
                f"profile: job {running.id} of profile {name!r} is {running.status}; "
                "wait for it, or pass force to cancel it and start again",
                param="profile",
                code="job_running",
            )
        if not decision.should_train and not force and running is None:
            raise FailedPrecondition(
                f"profile: training is not due ({'; '.join(decision.reasons)}); pass force to train anyway",
                param="profile",
                code="training_not_due",
            )
        start = new_files(profile, {j.id for j in jobs if j.status == "succeeded"})
        data = profile.files[start:] or (profile.files if force else [])
        if not data:
            raise FailedPrecondition(
                f"profile: {name!r} has no data; add files with POST /api/ml/profiles/{name}/data",
                param="profile",
                code="no_training_data",
            )
        if running is not None:
            await self.trainer.cancel(owner, running.id)
        training_file = await asyncio.to_thread(self._training_file, owner, profile, data)
        _called, target, _alias = self._model(owner, profile)
        create = JobCreate(
            model=target,
            training_file=training_file,
            suffix="".join(c if c.isalnum() or c in "-_" else "-" for c in profile.name),
            hyperparameters=_with_epochs(profile.hyperparameters, epochs),
            alias=profile.alias,
            alias_gate=profile.alias_gate,
        )
        job = await self.trainer.create(owner, create)
        upto = profile.files.index(data[-1]) + 1
        self.profiles.update(owner, name, lambda p: p.jobs.append(ProfileJob(job_id=job.id, files_upto=upto)))
        logger.info("bot training started", extra={"profile": name, "job_id": job.id, "forced": force})
        return TrainStarted(
            profile=name,
            job=job,
            training_file=training_file,
            examples=sum(f.examples for f in data),
            forced=force,
            cancelled_job=running.id if running is not None else None,
            reasons=decision.reasons,
        )

    def _training_file(self, owner: str, profile: BotProfile, data: list[DataFile]) -> str:
        """One file id for the job: the file itself, or the files joined into a new one."""
        if len(data) == 1:
            return data[0].file_id
        joined = io.BytesIO()
        for entry in data:
            _record, chunks = self.files.iter_content(owner=owner, file_id=entry.file_id)
            content = b"".join(chunks)
            joined.write(content if content.endswith(b"\n") else content + b"\n")
        joined.seek(0)
        filename = f"{profile.name}-{len(profile.jobs) + 1}.jsonl"
        return self.files.upload(owner=owner, filename=filename, purpose=Purpose.FINE_TUNE, stream=joined).id

    async def status(self, owner: str, name: str) -> MlStatus:
        """The bot's model, alias, running and last jobs, new data and whether the service serves it now."""
        profile = self.profiles.get(owner, name)
        decision, jobs = await self._decide(owner, profile)
        called, target, alias = self._model(owner, profile)
        running = next((j for j in reversed(jobs) if j.status in ACTIVE), None)
        ended = next((j for j in reversed(jobs) if j.status not in ACTIVE), None)
        ready, detail, state = True, None, None
        try:
            served = {m.id for m in await self.inference.models(owner)}
            state = await self.inference.status(owner)
            if called not in served:
                ready, detail = False, f"the inference service does not serve {called}"
        except DistrustError as exc:
            ready, detail = False, exc.message
        loaded = state is not None and (target in state.adapters or target == state.base_model)
        return MlStatus(
            profile=name,
            ready=ready,
            model=called,
            base_model=profile.base_model,
            alias=alias,
            running_job=JobSummary.of(running) if running else None,
            last_job=JobSummary.of(ended, await self._last_metrics(owner, ended.id)) if ended else None,
            new_examples=decision.new_examples,
            should_train=decision.should_train,
            reasons=decision.reasons,
            detail=detail,
            loaded=loaded,
            inference=state,
        )

    async def _last_metrics(self, owner: str, job_id: str) -> dict[str, float]:
        """Each metric's last value in the job's metrics events (train_loss, ce, val_loss…)."""
        events = await self.trainer.events(owner, job_id, after_sequence=0, follow=False).collect()
        last: dict[str, float] = {}
        for event in events:
            if event.type == "metrics":
                last.update({k: v for k, v in event.data.items() if isinstance(v, int | float) and v is not None})
        return last

    async def initialize(self, owner: str, name: str) -> Initialized:
        """Load the profile's model (base and adapter) and pin its adapter, so the bot's first reply is fast."""
        profile = self.profiles.get(owner, name)
        called, target, _alias = self._model(owner, profile)
        started = time.perf_counter()
        state = await self.inference.load(owner, called, pin=True)
        seconds = time.perf_counter() - started
        logger.info("bot model initialized", extra={"profile": name, "model": target, "seconds": round(seconds, 3)})
        return Initialized(
            profile=name,
            model=called,
            target=target,
            loaded=state.loaded,
            pinned=state.pinned,
            seconds=round(seconds, 3),
        )


def _with_epochs(hyperparameters: Hyperparameters, epochs: int | None) -> Hyperparameters:
    """The profile's hyperparameters, with the seed's `epochs` in place of theirs when given."""
    if epochs is None:
        return hyperparameters
    return hyperparameters.model_copy(update=Hyperparameters(n_epochs=epochs).model_dump(exclude_unset=True))
