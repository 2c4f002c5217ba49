"""bench/bot.py's chat export is what the import reads: one broken line, bots and commands to drop, threads."""

from __future__ import annotations

from bench.bot import export
from services.gateway.bots.conversations import ConversationRules, parse_export, threads


def test_the_bench_export_imports_as_intended() -> None:
    rules = ConversationRules()
    parsed = parse_export(export(4).splitlines(), rules)
    assert [e.line for e in parsed.errors] == [3] and len(parsed.messages) == 12
    assert (parsed.dropped_bot, parsed.dropped_command) == (4, 4)
    assert [len(t) for t in threads(parsed.messages, rules)] == [3, 3, 3, 3]
