"""n > 1 through the gateway with the `openai` SDK: n choices, streamed per index, usage counting the prompt once."""

from __future__ import annotations

from collections import defaultdict

import openai
import pytest
from fastapi.testclient import TestClient

from tests.gateway.test_inference_routes import BASE, MESSAGES, base_model, gateway  # noqa: F401 - fixtures

SEEDED = {"temperature": 0.9, "seed": 7, "max_tokens": 12}


@pytest.fixture
def sdk(gateway: TestClient) -> openai.OpenAI:  # noqa: F811 - the fixture imported above
    return openai.OpenAI(base_url="http://testserver/v1", api_key="key-alice", http_client=gateway, max_retries=0)


def test_chat_n_choices_whole_and_streamed(sdk: openai.OpenAI) -> None:
    reply = sdk.chat.completions.create(model=BASE, messages=MESSAGES, n=3, **SEEDED)  # type: ignore[arg-type]
    assert [choice.index for choice in reply.choices] == [0, 1, 2]
    alone = [
        sdk.chat.completions.create(model=BASE, messages=MESSAGES, **{**SEEDED, "seed": 7 + i})  # type: ignore[arg-type]
        for i in range(3)
    ]
    assert [c.message.content for c in reply.choices] == [a.choices[0].message.content for a in alone]
    assert reply.usage is not None and alone[0].usage is not None
    assert reply.usage.prompt_tokens == alone[0].usage.prompt_tokens
    assert reply.usage.completion_tokens == sum(a.usage.completion_tokens for a in alone if a.usage)

    stream = sdk.chat.completions.create(
        model=BASE,
        messages=MESSAGES,
        n=3,
        stream=True,
        stream_options={"include_usage": True},
        **SEEDED,  # type: ignore[arg-type]
    )
    chunks = list(stream)
    texts: dict[int, str] = defaultdict(str)
    finishes: dict[int, list[str]] = defaultdict(list)
    roles = set()
    for chunk in chunks[:-1]:
        (choice,) = chunk.choices
        texts[choice.index] += choice.delta.content or ""
        if choice.delta.role:
            roles.add(choice.index)
        if choice.finish_reason:
            finishes[choice.index].append(choice.finish_reason)
    assert roles == {0, 1, 2} and all(len(f) == 1 for f in finishes.values()) and len(finishes) == 3
    assert [texts[i] for i in range(3)] == [c.message.content for c in reply.choices]
    assert chunks[-1].choices == [] and chunks[-1].usage == reply.usage


def test_completions_n_choices_whole_and_streamed(sdk: openai.OpenAI) -> None:
    whole = sdk.completions.create(model=BASE, prompt="The archive holds", n=2, **SEEDED)  # type: ignore[arg-type]
    assert [c.index for c in whole.choices] == [0, 1] and whole.choices[0].text != whole.choices[1].text
    single = sdk.completions.create(model=BASE, prompt="The archive holds", **SEEDED)  # type: ignore[arg-type]
    assert whole.choices[0].text == single.choices[0].text
    assert whole.usage is not None and single.usage is not None
    assert whole.usage.prompt_tokens == single.usage.prompt_tokens
    texts: dict[int, str] = defaultdict(str)
    for chunk in sdk.completions.create(model=BASE, prompt="The archive holds", n=2, stream=True, **SEEDED):  # type: ignore[arg-type]
        texts[chunk.choices[0].index] += chunk.choices[0].text
    assert [texts[0], texts[1]] == [c.text for c in whole.choices]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"n": 17}, "[1, 16]"),
        ({"n": 0}, "greater than or equal to 1"),
        ({"n": 2, "max_tokens": 1500}, "context length"),
    ],
)
def test_bad_n_is_a_400_naming_n(sdk: openai.OpenAI, extra: dict[str, int], message: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(model=BASE, messages=MESSAGES, **extra)  # type: ignore[arg-type]
    body = caught.value.body
    assert isinstance(body, dict) and body["param"] == "n" and message in body["message"]
