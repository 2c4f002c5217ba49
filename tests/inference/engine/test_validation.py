"""Bad requests fail before they are queued, with errors that name the field (and the context limit)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import mlx_lm
import pytest

from services.inference.engine import Engine, GenerationRequest
from shared.errors import InvalidArgument, NotFound

OK = {"prompt": "hello", "max_tokens": 4}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": None}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": None, "messages": []}, "messages"),
        ({"prompt": None, "messages": [{"content": "hi"}]}, "messages[0].role"),
        ({"prompt": None, "messages": [{"role": "user", "content": 3}]}, "messages[0].content"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"stop": ("a", "b", "c", "d", "e")}, "stop"),
        ({"stop": ("a", "")}, "stop[1]"),
        ({"adapter": ""}, "adapter"),
    ],
)
def test_bad_fields_raise_invalid_argument_naming_the_field(engine: Engine, fields, param):
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(**{**OK, **fields}))
    assert caught.value.param == param
    assert caught.value.message.startswith(param)


def test_edge_values_are_accepted(engine: Engine):
    for fields in [
        {"temperature": 0.0},
        {"temperature": 2.0},
        {"top_p": 1.0},
        {"top_p": 0.01},
        {"seed": -1},
        {"seed": 2**64 - 1},
        {"stop": ("a", "b", "c", "d")},
        {"max_tokens": 1},
    ]:
        list(engine.submit(GenerationRequest(**{**OK, **fields})))


def test_unknown_adapter_is_not_found(engine: Engine):
    with pytest.raises(NotFound) as caught:
        engine.submit(GenerationRequest(prompt="hi", adapter="nope"))
    assert caught.value.param == "adapter" and "nope" in caught.value.message


def test_an_over_long_prompt_names_the_context_length(engine: Engine):
    limit = engine.context_length
    assert limit == 2048
    long_prompt = " ".join(f"w{i}" for i in range(3000))
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(prompt=long_prompt, max_tokens=1))
    assert caught.value.param == "prompt" and str(limit) in caught.value.message
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(messages=[{"role": "user", "content": long_prompt}], max_tokens=1))
    assert caught.value.param == "messages"


def test_prompt_plus_max_tokens_beyond_the_context_names_the_limit(engine: Engine):
    request = GenerationRequest(prompt="hello there", max_tokens=engine.context_length)
    prompt_tokens = engine.count_tokens(request)
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(request)
    assert caught.value.param == "max_tokens"
    assert "2048" in caught.value.message and str(2048 - prompt_tokens) in caught.value.message
    fits = GenerationRequest(prompt="hello there", max_tokens=engine.context_length - prompt_tokens)
    handle = engine.submit(fits)
    handle.cancel()
    list(handle)


def test_count_tokens_adds_bos_to_raw_prompts_once(engine: Engine):
    plain = engine.count_tokens(GenerationRequest(prompt="hello world"))
    assert engine.count_tokens(GenerationRequest(prompt="<|bos|>hello world")) == plain
    assert engine.count_tokens(GenerationRequest(messages=[{"role": "user", "content": "hello world"}])) > plain


def test_a_role_the_chat_template_refuses_is_invalid(engine: Engine):
    with pytest.raises(InvalidArgument) as caught:
        engine.submit(GenerationRequest(messages=[{"role": "robot", "content": "x"}]))
    assert caught.value.param == "messages" and "robot" in caught.value.message


def test_without_a_chat_template_messages_become_role_lines(base_model: Path, tmp_path: Path):
    plain = tmp_path / "no-template"
    shutil.copytree(base_model, plain)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template")
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    _, tokenizer = mlx_lm.load(str(plain))
    with Engine(plain) as eng:
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
        expected = tokenizer.encode("system: Be brief.\nuser: hi\nassistant:")
        assert eng.count_tokens(GenerationRequest(messages=messages)) == len(expected)
        result = list(eng.submit(GenerationRequest(messages=messages, max_tokens=3, temperature=0)))
        assert result[-1].prompt_tokens == len(expected)


def test_a_prompt_too_long_for_the_context_is_refused_before_tokenizing(engine: Engine) -> None:
    """A text longer than the context times the longest token cannot fit: refused at once (no tokenizer run)."""
    limit = engine._prompts.max_prompt_bytes
    assert limit < 5_000_000
    huge = "word " * 1_000_000  # 5 MB
    for fields in ({"prompt": huge}, {"prompt": None, "messages": [{"role": "user", "content": huge}]}):
        started = time.perf_counter()
        with pytest.raises(InvalidArgument) as caught:
            engine.submit(GenerationRequest(**{**OK, **fields}))  # type: ignore[arg-type]  # typed above
        assert time.perf_counter() - started < 0.5
        assert caught.value.code == "context_length_exceeded" and "before tokenizing" in caught.value.message
    handle = engine.submit(GenerationRequest(**OK))  # type: ignore[arg-type]
    assert handle is not None
