"""The batch lane: Batch API requests fill the decode batch behind interactive ones, which keep their own slots."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from services.inference.engine import Delta, Engine, GenerationRequest
from services.inference.server import generation_request
from shared.errors import InvalidArgument
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from tests.inference.engine.streams import collect


def request(i: int, *, priority: str = "batch", max_tokens: int = 12) -> GenerationRequest:
    return GenerationRequest(
        prompt=f"letter {i} of the archive", max_tokens=max_tokens, temperature=0, seed=i, priority=priority
    )  # type: ignore[arg-type]  # priority checked at run time


def test_batch_requests_fill_the_lane_and_answer_as_interactive_ones_do(base_model: Path) -> None:
    with Engine(base_model, max_batch_size=2, batch_lane_size=6) as engine:
        handles = [engine.submit(request(i)) for i in range(6)]
        batch = [collect(h).text for h in handles]
        assert engine.stats().peak_batch == 6
    with Engine(base_model, max_batch_size=2) as engine:
        handles = [engine.submit(request(i, priority="interactive")) for i in range(6)]
        assert [collect(h).text for h in handles] == batch
        assert engine.stats().peak_batch == 2  # without a lane, batch size stays the interactive one


def test_interactive_requests_keep_their_slots_while_a_batch_runs(base_model: Path) -> None:
    with Engine(base_model, max_batch_size=2, batch_lane_size=4) as engine:
        background = [engine.submit(request(i, max_tokens=400)) for i in range(8)]
        next(iter(background[0]))  # the lane is full: 4 rows running, 4 waiting
        chats = [engine.submit(request(i, priority="interactive", max_tokens=4)) for i in range(2)]
        for chat in chats:
            assert collect(chat).done.finish_reason == "length"
        assert engine.stats().peak_batch == 6
        assert engine.stats().queued == 4  # the batch requests behind the lane still wait
        for handle in background:
            handle.cancel()


def test_waiting_interactive_requests_go_before_waiting_batch_requests(base_model: Path) -> None:
    finished: dict[str, float] = {}
    started: dict[str, float] = {}

    def follow(name: str, stream: object) -> None:
        for item in stream:  # type: ignore[attr-defined]
            if isinstance(item, Delta):
                started.setdefault(name, time.monotonic())
        finished[name] = time.monotonic()

    with Engine(base_model, max_batch_size=1, batch_lane_size=1) as engine:
        running = engine.submit(request(0, priority="interactive", max_tokens=1500))
        next(iter(running))
        queued_batch = engine.submit(request(1, max_tokens=8))
        queued_chat = engine.submit(request(2, priority="interactive", max_tokens=8))
        threads = [
            threading.Thread(target=follow, args=(name, handle))
            for name, handle in (("batch", queued_batch), ("chat", queued_chat))
        ]
        for thread in threads:
            thread.start()
        running.cancel()
        for thread in threads:
            thread.join(timeout=60)
        assert finished["chat"] <= started["batch"]


def test_the_rpc_priority_reaches_the_engine_and_an_unknown_one_is_refused() -> None:
    base = pb.GenerateRequest(prompt="hi")
    assert generation_request(base, None, 8).priority == "interactive"
    base.priority = pb.PRIORITY_BATCH
    assert generation_request(base, None, 8).priority == "batch"
    base.priority = 7  # type: ignore[assignment]  # a value a newer client might send
    with pytest.raises(InvalidArgument, match="priority") as caught:
        generation_request(base, None, 8)
    assert "7" in str(caught.value)


def test_an_unknown_engine_priority_is_refused(base_model: Path) -> None:
    with Engine(base_model, max_batch_size=1) as engine, pytest.raises(InvalidArgument, match="priority: got 'urgent'"):
        engine.submit(request(0, priority="urgent"))
