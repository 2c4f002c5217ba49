"""Stop sequences: matched on decoded text across token boundaries; nothing from the stop on is emitted."""

from __future__ import annotations

import pytest

from services.inference.engine import GenerationRequest
from services.inference.engine.stops import StopMatcher
from tests.inference.engine.streams import collect

REQUEST = GenerationRequest(prompt="The harbour at dawn", max_tokens=48, temperature=0.8, seed=5)


def test_matcher_holds_back_a_possible_stop_prefix_and_cuts_at_the_stop():
    matcher = StopMatcher(["END"])
    assert matcher.feed("hello E") == ("hello ", False)
    assert matcher.feed("N") == ("", False)
    assert matcher.feed("Dtail") == ("", True)


def test_matcher_releases_held_text_that_turned_out_not_to_be_a_stop():
    matcher = StopMatcher(["END", "STOP"])
    assert matcher.feed("xEN") == ("x", False)
    assert matcher.feed("x") == ("ENx", False)
    assert matcher.feed("ST") == ("", False)
    assert matcher.flush() == "ST"


def test_matcher_cuts_at_the_earliest_of_several_stops():
    matcher = StopMatcher(["bb", "ab"])
    assert matcher.feed("xxab") == ("xx", True)
    assert StopMatcher([]).feed("abc") == ("abc", False)


def spanning_stop(deltas: tuple[str, ...]) -> tuple[str, int]:
    """A stop string made of the end of one streamed chunk and the start of the next (so of two tokens)."""
    text = "".join(deltas)
    offset = 0
    for left, right in zip(deltas, deltas[1:], strict=False):
        offset += len(left)
        if len(left) >= 2 and len(right) >= 2:
            stop = left[-2:] + right[:2]
            if text.find(stop) == offset - 2:
                return stop, offset - 2
    raise AssertionError(f"no usable token boundary in {deltas!r}")


def test_stop_spanning_two_tokens_ends_the_stream_before_it(engine):
    full = collect(engine.submit(REQUEST))
    assert full.done.finish_reason == "length"
    stop, position = spanning_stop(full.deltas)

    stopped = collect(engine.submit(GenerationRequest(**{**REQUEST.__dict__, "stop": (stop,)})))
    # Exactly the text before the stop: its first half (already decoded one token earlier) was held back.
    assert stopped.text == full.text[:position]
    assert stopped.done.finish_reason == "stop"
    assert stopped.done.completion_tokens < full.done.completion_tokens


def test_the_earliest_stop_wins_and_a_never_completed_prefix_is_flushed_at_the_end(engine):
    full = collect(engine.submit(REQUEST))
    stop, position = spanning_stop(full.deltas)
    later = full.text[position + 8 : position + 12]
    assert len(later) == 4
    both = collect(engine.submit(GenerationRequest(**{**REQUEST.__dict__, "stop": (later, stop)})))
    assert both.text == full.text[: min(position, full.text.find(later))]

    never = full.text[-1] + "\u2603\u2603"  # starts like the text's end, then never matches
    flushed = collect(engine.submit(GenerationRequest(**{**REQUEST.__dict__, "stop": (never,)})))
    assert flushed.text == full.text and flushed.done.finish_reason == "length"


@pytest.mark.parametrize("adapter", [None, "a"])
def test_a_stop_at_the_very_start_emits_nothing(engine, adapter):
    request = GenerationRequest(prompt="The harbour at dawn", adapter=adapter, max_tokens=16, temperature=0)
    full = collect(engine.submit(request))
    first = collect(engine.submit(GenerationRequest(**{**request.__dict__, "stop": (full.text[:3],)})))
    assert first.text == "" and first.deltas == () and first.done.finish_reason == "stop"
