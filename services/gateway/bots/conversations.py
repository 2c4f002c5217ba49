"""Chat exports to training records: bots and commands dropped, threads joined, personal data redacted.

Messages are parsed line by line and authors pseudonymised.

The export shape is Discord-like, one JSON message per line:
`{"id", "channel", "author": {"id", "name", "bot"}, "content", "timestamp", "reply_to"?, "thread"?}`. Any other
field (e-mail, avatar, roles…) is never read, so it never reaches a record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.schemas.request import RequestModel

Redaction = Literal["email", "phone", "url", "mention"]
PATTERNS: dict[Redaction, tuple[re.Pattern[str], str]] = {
    "email": (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[email]"),
    "url": (re.compile(r"https?://\S+|www\.\S+"), "[url]"),
    "phone": (re.compile(r"(?<!\w)\+?\d[\d\s().-]{7,}\d(?!\w)"), "[phone]"),
    "mention": (re.compile(r"<@!?\d+>|(?<!\w)@[\w.]{2,32}"), "@user"),
}
MAX_ERRORS_REPORTED = 50


class ConversationRules(RequestModel):
    """How an export becomes records: what is dropped, how threads are joined, what is redacted."""

    command_prefixes: list[str] = Field(default_factory=lambda: ["!", "/"], max_length=16)
    drop_bots: bool = True
    redact: list[Redaction] = Field(default_factory=lambda: list(PATTERNS))
    patterns: list[str] = Field(default_factory=list, max_length=32, description="More regexes to redact")
    pseudonymize_authors: bool = True
    thread_gap_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)
    min_messages: int = Field(default=2, ge=1, le=1000)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from None
        return patterns


class Author(BaseModel):
    """A message's author: only its id, name and whether it is a bot are read."""

    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    bot: bool = False


class ChatMessage(BaseModel):
    """One message of an export; unknown fields are ignored (never stored)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    author: Author
    content: str
    timestamp: datetime
    reply_to: str | None = None
    thread: str | None = None


@dataclass
class LineError:
    """A line of the export that could not be read, and why."""

    line: int
    message: str


@dataclass
class Parsed:
    """The messages of an export, the lines that could not be read, and the drops."""

    messages: list[ChatMessage] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0
    dropped_bot: int = 0
    dropped_command: int = 0
    dropped_empty: int = 0


def parse_export(lines: Iterable[bytes | str], rules: ConversationRules) -> Parsed:
    """Every readable message a person wrote (not a command); bad lines are reported with their number."""
    parsed = Parsed()
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        parsed.lines += 1
        try:
            message = ChatMessage.model_validate(json.loads(text))
        except (json.JSONDecodeError, ValidationError) as exc:
            parsed.errors.append(LineError(number, _why(exc)))
            continue
        content = message.content.strip()
        if rules.drop_bots and message.author.bot:
            parsed.dropped_bot += 1
        elif any(content.startswith(p) for p in rules.command_prefixes if p):
            parsed.dropped_command += 1
        elif not content:
            parsed.dropped_empty += 1
        else:
            parsed.messages.append(message)
    return parsed


def _why(exc: json.JSONDecodeError | ValidationError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg} at column {exc.colno}"
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "line"
    return f"{where}: {first['msg']}"


def threads(messages: list[ChatMessage], rules: ConversationRules) -> list[list[ChatMessage]]:
    """Conversations: an explicit thread, else the one of the message replied to, else the channel's current one.

    A channel's conversation ends when it has been silent longer than `thread_gap_minutes`.
    """
    key_of: dict[str, str] = {}
    groups: dict[str, list[ChatMessage]] = {}
    channel_last: dict[str, tuple[datetime, str]] = {}
    gap = rules.thread_gap_minutes * 60
    for message in sorted(messages, key=lambda m: m.timestamp):
        last = channel_last.get(message.channel)
        if message.thread:
            key = f"thread:{message.thread}"
        elif message.reply_to in key_of:
            key = key_of[message.reply_to]
        elif last is not None and (message.timestamp - last[0]).total_seconds() <= gap:
            key = last[1]
        else:
            key = f"channel:{message.channel}:{message.id}"
        key_of[message.id] = key
        if not message.thread:
            channel_last[message.channel] = (message.timestamp, key)
        groups.setdefault(key, []).append(message)
    return [group for group in groups.values() if len(group) >= rules.min_messages]


def transcript(conversation: list[ChatMessage], rules: ConversationRules) -> str:
    """The conversation as `speaker: text` lines, redacted.

    Pseudonymised authors are user1, user2… in order of first message, and their names inside messages too.
    """
    pseudonyms: dict[str, str] = {}
    for message in conversation:
        pseudonyms.setdefault(message.author.name, f"user{len(pseudonyms) + 1}")
    extra = [re.compile(p) for p in rules.patterns]
    lines = []
    for message in conversation:
        text = redact(message.content.strip(), rules.redact, extra)
        speaker = message.author.name
        if rules.pseudonymize_authors:
            speaker = pseudonyms[speaker]
            for name, pseudonym in pseudonyms.items():
                text = re.sub(rf"(?<![\w@]){re.escape(name)}(?!\w)", pseudonym, text)
        lines.append(f"{speaker}: {text}")
    return "\n".join(lines)


def redact(text: str, kinds: list[Redaction], extra: list[re.Pattern[str]]) -> str:
    """`text` with each kind of personal data (and each extra pattern) replaced by a placeholder."""
    for kind, (pattern, placeholder) in PATTERNS.items():  # e-mails before mentions: both have an "@"
        if kind in kinds:
            text = pattern.sub(placeholder, text)
    for pattern in extra:
        text = pattern.sub("[redacted]", text)
    return text


def fingerprint(text: str) -> str:
    """The same conversation however it is spaced or cased: what deduplication compares."""
    return hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:24]
