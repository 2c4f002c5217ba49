"""Loss drift: how much harder the served model finds a profile's new examples than its own training data.

The new examples' mean token loss under the model the alias serves (prompt log-probabilities from the inference
service) minus the last job's final cross-entropy. A positive drift means the conversations moved away from
what the model was trained on.
"""

from __future__ import annotations

import json
import statistics

from services.gateway.bots.profiles import DataFile
from services.gateway.inference_client import Inference
from services.gateway.schemas.completions import CompletionRequest
from shared.files import FileService
from shared.storage import Bucket

SAMPLE = 16  # new examples scored per should-train call
MAX_CHARS = 2000  # of each example: the start of a long one is enough


def record_text(record: dict[str, object]) -> str | None:
    """The trainable text of a training record (text, chat messages or prompt + completion)."""
    if isinstance(record.get("text"), str):
        return str(record["text"])
    messages = record.get("messages")
    if isinstance(messages, list):
        return "\n".join(str(m.get("content", "")) for m in messages if isinstance(m, dict)) or None
    if isinstance(record.get("prompt"), str) and isinstance(record.get("completion"), str):
        return f"{record['prompt']}{record['completion']}"
    return None


def sample_texts(files: FileService, owner: str, data: list[DataFile], limit: int = SAMPLE) -> list[str]:
    """Up to `limit` texts from the first lines of the new files."""
    texts: list[str] = []
    for entry in data:
        record = files.get(owner=owner, file_id=entry.file_id)
        for line in files.store.iter_lines(Bucket.FILES, record.storage_key):
            if len(texts) >= limit:
                return texts
            text = record_text(json.loads(line)) if line.strip() else None
            if text:
                texts.append(text[:MAX_CHARS])
    return texts


async def served_loss(inference: Inference, owner: str, model: str, texts: list[str]) -> float:
    """The mean per-token loss (−log p) of `texts` under `model`, each text weighing the same."""
    request = CompletionRequest(model=model, prompt=texts, max_tokens=0, echo=True, logprobs=0)
    generation = await inference.generate(owner, request)
    losses = []
    for choice in await generation.collect():
        scored = [-t.logprob for t in choice.echo if t.logprob is not None]
        if scored:
            losses.append(statistics.fmean(scored))
    return statistics.fmean(losses)
