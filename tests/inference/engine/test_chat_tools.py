"""Tools in the prompt: the model's chat template renders them when it knows tools, Hermes-style text otherwise."""

from __future__ import annotations

from pathlib import Path

import mlx_lm
import pytest

from services.inference.engine.api import GenerationRequest, validate_request
from services.inference.engine.chat import ChatMessage, FunctionTool, ToolCall, knows_tools
from services.inference.engine.prompts import PromptEncoder
from shared.errors import InvalidArgument

# The shape of Qwen2.5's tool template: the tools as JSON, calls with their arguments as objects.
TOOL_TEMPLATE = (
    "{%- if tools %}<|system|>TOOLS{% for t in tools %}{{ t.function | tojson }}{% endfor %}\n{% endif %}"
    "{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}"
    "{%- for c in m.tool_calls or [] %}CALL {{ c.function.name }} {{ c.function.arguments | tojson }}{% endfor %}"
    "{%- if m.tool_call_id %} FOR {{ m.tool_call_id }}{% endif %}\n{% endfor %}<|assistant|>"
)
WEATHER = FunctionTool(
    name="get_weather",
    description="The weather in a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CONVERSATION: list[ChatMessage] = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [ToolCall("call_1", "get_weather", '{"city": "Paris"}')]},
    {"role": "tool", "content": "sunny", "tool_call_id": "call_1"},
]


def _text(base_model: Path, template: str | None) -> str:
    _, tokenizer = mlx_lm.load(str(base_model))
    if template is not None:
        tokenizer.chat_template = template
    encoder = PromptEncoder(tokenizer, context_length=4096)
    request = GenerationRequest(messages=CONVERSATION, tools=(WEATHER,), max_tokens=8)
    validate_request(request)
    return str(tokenizer.decode(encoder.encode(request)))


def test_a_template_that_knows_tools_renders_them(base_model: Path) -> None:
    text = _text(base_model, TOOL_TEMPLATE)
    assert 'TOOLS{"name": "get_weather", "description": "The weather in a city"' in text
    assert 'CALL get_weather {"city": "Paris"}' in text  # arguments handed over as an object, not a string
    assert "<|tool|>sunny FOR call_1" in text
    assert "You can call these functions" not in text


def test_other_templates_get_hermes_text(base_model: Path) -> None:
    text = _text(base_model, None)
    assert "You can call these functions" in text and '"name": "get_weather"' in text
    assert '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>' in text
    assert "<tool_response>sunny</tool_response>" in text


def test_template_detection() -> None:
    assert knows_tools(TOOL_TEMPLATE)
    assert not knows_tools("{% for m in messages %}{{ m.content }}{% endfor %}")
    assert not knows_tools(None)


def test_tools_need_chat_messages() -> None:
    with pytest.raises(InvalidArgument) as caught:
        validate_request(GenerationRequest(prompt="hi", tools=(WEATHER,)))
    assert caught.value.param == "tools"
