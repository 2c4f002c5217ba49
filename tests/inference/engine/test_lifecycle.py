"""Lifecycle: cancel (a client going away) stops a row promptly and frees its slot; close; step failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from services.inference.engine import Delta, Done, Engine, GenerationRequest, RequestHandle
from services.inference.engine.batch import DecodeBatch
from shared.errors import FailedPrecondition, InternalError, Unavailable
from tests.inference.engine.streams import collect

LONG = GenerationRequest(prompt="Once upon a time", max_tokens=1500, temperature=0)


def test_cancel_ends_a_running_request_promptly(engine):
    handle = engine.submit(LONG)
    stream = iter(handle)
    assert isinstance(next(stream), Delta) and isinstance(next(stream), Delta)
    started = time.monotonic()
    handle.cancel()
    rest = list(stream)
    assert time.monotonic() - started < 1.0
    done = rest[-1]
    assert isinstance(done, Done) and done.finish_reason == "cancelled"
    assert 2 <= done.completion_tokens < 100
    handle.cancel()  # a second cancel is harmless


def test_cancel_frees_the_slot_for_the_next_request_and_cancels_queued_ones(base_model):
    with Engine(base_model, max_batch_size=1) as single:
        running = single.submit(LONG)
        queued = single.submit(GenerationRequest(prompt="queued", max_tokens=4, temperature=0))
        later = GenerationRequest(prompt="dropped", max_tokens=4, temperature=0)
        dropped = single.submit(later)
        next(iter(running))
        dropped.cancel()
        assert collect(dropped).done == Done("cancelled", single.count_tokens(later), completion_tokens=0)
        assert single.active_requests() == 2
        running.cancel()
        assert collect(running).done.finish_reason == "cancelled"
        assert collect(queued).done.finish_reason == "length"
        assert single.stats().peak_batch == 1
        assert single.active_requests() == 0


def test_close_cancels_everything_and_later_calls_fail(base_model):
    single = Engine(base_model, max_batch_size=1)
    running = single.submit(LONG)
    queued = single.submit(LONG)
    next(iter(running))
    single.close()
    assert collect(running).done.finish_reason == "cancelled"
    assert collect(queued).done == Done("cancelled", single.count_tokens(LONG), completion_tokens=0)
    with pytest.raises(FailedPrecondition):
        single.submit(LONG)
    with pytest.raises(FailedPrecondition):
        single.load_adapter("late", base_model)
    single.close()


def test_a_failing_step_fails_its_requests_and_the_engine_keeps_serving(base_model, monkeypatch):
    with Engine(base_model) as eng:
        original = DecodeBatch.step
        failed = []

        def flaky(self: DecodeBatch) -> list[int]:
            if len(self) == 2 and not failed:  # the first step that runs both requests
                failed.append(True)
                raise RuntimeError("device lost")
            return original(self)

        monkeypatch.setattr(DecodeBatch, "step", flaky)
        handles = [eng.submit(GenerationRequest(prompt=p, max_tokens=20, temperature=0)) for p in ["a", "b"]]
        for handle in handles:
            with pytest.raises(InternalError, match="device lost"):
                list(handle)
        assert collect(eng.submit(GenerationRequest(prompt="again", max_tokens=5))).done.finish_reason == "length"


def test_a_reader_that_falls_behind_gets_waiting_deltas_merged():
    handle = RequestHandle("r1")
    for text in ["a", "b", "c"]:
        handle._push(Delta(text))
    handle._push(Done("length", prompt_tokens=2, completion_tokens=3))
    assert list(handle) == [Delta("abc"), Done("length", prompt_tokens=2, completion_tokens=3)]
    assert list(handle) == []  # a finished stream stays finished

    resumed = RequestHandle()
    resumed._push(Delta("a"))
    resumed._push(Done("stop", prompt_tokens=1, completion_tokens=1))
    assert next(iter(resumed)) == Delta("a")  # the reader drops this iterator after one chunk
    assert list(resumed) == [Done("stop", prompt_tokens=1, completion_tokens=1)]

    failing = RequestHandle()
    failing._push(Delta("x"))
    failing._push(InternalError("boom"))
    stream = iter(failing)
    assert next(stream) == Delta("x")
    with pytest.raises(InternalError):
        next(stream)


def test_paced_stream_merges_deltas_between_the_first_and_the_end_without_delaying_either():
    handle = RequestHandle("paced")
    done = Done("length", prompt_tokens=2, completion_tokens=7)
    stream = handle.stream(min_interval_s=0.2)
    handle._push(Delta("a"))
    started = time.monotonic()
    assert next(stream) == Delta("a")  # the first delta goes out at once

    def produce() -> None:
        for text in "bcdef":
            time.sleep(0.01)
            handle._push(Delta(text))
        handle._push(done)

    producer = threading.Thread(target=produce)
    producer.start()
    rest = list(stream)
    producer.join()
    assert rest == [Delta("bcdef"), done]  # one message for the five, then Done as soon as it came
    assert time.monotonic() - started < 0.19


def test_paced_stream_sends_one_message_per_interval_while_tokens_keep_coming():
    handle = RequestHandle("paced")
    stream = handle.stream(min_interval_s=0.05)
    stop = threading.Event()

    def produce() -> None:
        while not stop.is_set():
            handle._push(Delta("x"))
            time.sleep(0.002)
        handle._push(Done("stop", prompt_tokens=1, completion_tokens=1))

    producer = threading.Thread(target=produce)
    producer.start()
    started = time.monotonic()
    chunks = [next(stream) for _ in range(4)]
    elapsed = time.monotonic() - started
    stop.set()
    list(stream)
    producer.join()
    assert all(len(c.text) > 1 for c in chunks[1:]), chunks  # later messages carry several tokens
    assert elapsed >= 0.14  # three full intervals after the first message


def test_a_full_queue_refuses_at_once(base_model: Path) -> None:
    """Backpressure: past `max_queued` waiting requests a new one is Unavailable (a 503), not left to wait."""
    with Engine(base_model, max_batch_size=1, max_queued=1) as engine:
        running = engine.submit(GenerationRequest(prompt="one", max_tokens=400))
        waiting = engine.submit(GenerationRequest(prompt="two", max_tokens=400))
        with pytest.raises(Unavailable) as caught:
            engine.submit(GenerationRequest(prompt="three", max_tokens=4))
        assert caught.value.code == "queue_full"
        running.cancel()
        waiting.cancel()
        list(running), list(waiting)
        done = engine.submit(GenerationRequest(prompt="four", max_tokens=2))  # room again once they ended
        assert list(done)
