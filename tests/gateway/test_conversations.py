"""Chat exports to conversation records: bad lines named, bots and commands dropped, threads, redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.gateway.bots.conversations import ConversationRules, fingerprint, parse_export, threads, transcript

START = datetime(2026, 5, 1, 10, tzinfo=UTC)


def _message(i: str, author: str, content: str, minute: int, **extra: object) -> str:
    return json.dumps(
        {
            "id": i,
            "channel": "general",
            "author": {"id": f"id-{author}", "name": author, "bot": author == "helperbot", "email": "x@y.z"},
            "content": content,
            "timestamp": (START + timedelta(minutes=minute)).isoformat(),
            **extra,
        }
    )


EXPORT = [
    _message("1", "alice", "Has anyone measured the river today? mail me at alice@example.org", 0),
    _message("2", "bob", "Yes alice, at dawn: 2.3 m. Notes at https://example.org/notes", 1, reply_to="1"),
    _message("3", "helperbot", "Reminder: be nice", 2),
    _message("4", "carol", "!llmtrain force", 3),
    "{not json",
    json.dumps({"id": "5", "channel": "general", "content": "no author"}),
    _message("6", "dave", "A new topic an hour later, call +1 555 123 4567", 70),
    _message("7", "erin", "@dave sure, I saw it", 71),
    _message("8", "frank", "In the thread", 5, thread="t1"),
    _message("9", "grace", "Still in the thread", 90, thread="t1"),
    "",
]


def test_bad_lines_are_named_and_drops_counted() -> None:
    parsed = parse_export(EXPORT, ConversationRules())
    assert parsed.lines == 10 and len(parsed.messages) == 6
    assert [(e.line, e.message.split(":")[0]) for e in parsed.errors] == [(5, "not JSON"), (6, "author")]
    assert (parsed.dropped_bot, parsed.dropped_command, parsed.dropped_empty) == (1, 1, 0)
    keep_all = parse_export(EXPORT, ConversationRules(drop_bots=False, command_prefixes=[]))
    assert len(keep_all.messages) == 8


def test_threads_replies_and_silences_make_conversations() -> None:
    rules = ConversationRules()
    groups = threads(parse_export(EXPORT, rules).messages, rules)
    assert sorted([m.id for m in g] for g in groups) == [["1", "2"], ["6", "7"], ["8", "9"]]
    single = threads(parse_export(EXPORT, rules).messages, ConversationRules(min_messages=3))
    assert single == []


def test_transcripts_are_redacted_and_pseudonymised() -> None:
    rules = ConversationRules()
    groups = {g[0].id: g for g in threads(parse_export(EXPORT, rules).messages, rules)}
    first = transcript(groups["1"], rules)
    assert first == (
        "user1: Has anyone measured the river today? mail me at [email]\n"
        "user2: Yes user1, at dawn: 2.3 m. Notes at [url]"
    )
    second = transcript(groups["6"], rules)
    assert second == "user1: A new topic an hour later, call [phone]\nuser2: @user sure, I saw it"
    plain = ConversationRules(redact=[], pseudonymize_authors=False, patterns=[r"\briver\b"])
    assert transcript(groups["1"], plain).startswith(
        "alice: Has anyone measured the [redacted] today? mail me at alice@"
    )
    assert fingerprint("A  b\nC") == fingerprint("a b c") != fingerprint("a b d")


def test_rules_refuse_a_bad_pattern_naming_it() -> None:
    with pytest.raises(ValidationError, match=r"pattern '\(' is not a regular expression"):
        ConversationRules(patterns=["("])
