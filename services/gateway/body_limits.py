r"""ASGI middleware bounding JSON request bodies before anything parses them: a size cap and valid Unicode.

A body over `max_body_bytes` is a 413 as soon as its length is known (its `content-length`, or the bytes read so
far), so a huge body is neither buffered whole nor echoed. JSON may escape a lone UTF-16 surrogate ("\ud800"),
which no UTF-8 text (protobuf, files, logs) can carry: such a body is a 400 naming the field that holds it.
Uploads (multipart) are bounded by the files route, which streams them to the object store.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.gateway.errors import error_response
from shared import errors

# Any escaped surrogate, paired (an emoji) or not: only then is the body parsed to look for a lone one.
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(value: object, path: str = "") -> str | None:
    """The path (`messages[0].content`) of the first text holding a lone surrogate, or None."""
    if isinstance(value, str):
        return (path or "body") if _SURROGATE.search(value) else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := lone_surrogate_path(item, f"{path}[{i}]")) is not None:
                return found
    if isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATE.search(str(key)):
                return path or "body"
            if (found := lone_surrogate_path(item, f"{path}.{key}" if path else str(key))) is not None:
                return found
    return None


class BodyLimitMiddleware:
    """Refuse a JSON body over `max_body_bytes` (413) or holding a lone surrogate (400), then replay it."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ()) if scope["type"] == "http" else {}
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(scope, receive, send, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await self._refuse(scope, receive, send, self._too_large())
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _ESCAPED_SURROGATE.search(body):
            param = self._surrogate(body)
            if param is not None:
                text = f"{param}: text with a lone UTF-16 surrogate (\\ud800-\\udfff) is not valid Unicode"
                await self._refuse(scope, receive, send, errors.InvalidArgument(text, param=param))
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> errors.PayloadTooLarge:
        return errors.PayloadTooLarge(
            f"The request body is larger than the limit of {self.max_body_bytes} bytes", code="request_too_large"
        )

    @staticmethod
    def _surrogate(body: bytes) -> str | None:
        try:
            return lone_surrogate_path(json.loads(body))
        except ValueError:
            return None  # not JSON: the route's own parsing says so

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, error: errors.DistrustError) -> None:
        await error_response(error)(scope, receive, send)
