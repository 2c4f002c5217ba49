"""HTTP client of the gateway for the CLI: where to find it, how to call it, errors as `DistrustError`s."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from cli.stack import control
from shared.errors import DistrustError, InternalError, InvalidArgument, NotFound, Unauthenticated, Unavailable

# (connect, read, write, pool) seconds: a followed stream may be quiet for long. A tuple, not httpx.Timeout, so
# the same call works on any httpx-compatible client (the tests' ASGI client is httpx2's).
STREAM_TIMEOUT = (30.0, None, 30.0, 30.0)

_BY_STATUS = {400: InvalidArgument, 401: Unauthenticated, 404: NotFound, 503: Unavailable}
Body = TypeVar("Body", bound=BaseModel)


class GatewayClient:
    """HTTP client for the gateway: the API key in every request, typed errors for every failed response."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 120.0) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout_s, headers={"Authorization": f"Bearer {api_key}"}
        )

    @classmethod
    def from_env(cls) -> GatewayClient:
        """DISTRUST_BASE_URL / DISTRUST_API_KEY, else the local stack started by `distrust up`."""
        base, key = os.environ.get("DISTRUST_BASE_URL"), os.environ.get("DISTRUST_API_KEY")
        if base and key:
            return cls(base, key)
        data = control.data_dir()
        state = control.running_state(data)
        if not state:
            raise Unavailable(
                "no gateway: set DISTRUST_BASE_URL and DISTRUST_API_KEY, start the local stack with "
                "`distrust up`, or use --local",
                code="no_gateway",
            )
        return cls(state.gateway_url, data.secrets().api_key)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of the response (its shape is the route's); a failed response raises its typed error."""
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach the gateway at {self.http.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.json()

    def fetch(self, model: type[Body], method: str, path: str, **kwargs: Any) -> Body:
        """The response body read as `model`, the route's response model in `services.gateway.schemas`."""
        return _parse(model, self.request(method, path, **kwargs), path)

    def upload(self, path: Path, purpose: str, stream: BinaryIO | None = None) -> str:
        """Upload `path` (or `stream`, named after `path`) as a file for `purpose`; returns the new file's id."""
        with stream or path.open("rb") as fh:
            record = self.request("POST", "/v1/files", data={"purpose": purpose}, files={"file": (path.name, fh)})
        return str(record["id"])

    def download(self, file_id: str, target: Path) -> Path:
        return self.download_path(f"/v1/files/{file_id}/content", target)

    def download_path(self, path: str, target: Path) -> Path:
        """Stream a GET response body to `target`."""
        with self.http.stream("GET", path, timeout=STREAM_TIMEOUT) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return target

    def stream_events(self, model: type[Body], method: str, path: str, **kwargs: Any) -> Iterator[Body]:
        """The payloads of a server-sent-event response read as `model`, until `data: [DONE]`; an API error raises."""
        with self.http.stream(method, path, timeout=STREAM_TIMEOUT, **kwargs) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            for line in response.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                payload = json.loads(line.removeprefix("data: "))
                if "error" in payload:
                    error = payload["error"]
                    raise InternalError(
                        error.get("message", "stream failed"), param=error.get("param"), code=error.get("code")
                    )
                yield _parse(model, payload, path)


def _parse(model: type[Body], body: object, path: str) -> Body:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise InternalError(f"the gateway's answer to {path} is not a {model.__name__}: {exc}") from None


def error_from_response(response: httpx.Response) -> DistrustError:
    """The typed error for a failed gateway response, from its OpenAI-style error body (or its text)."""
    try:
        body = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        body = {"message": response.text[:300] or response.reason_phrase}
    cls = _BY_STATUS.get(response.status_code, InternalError)
    return cls(f"HTTP {response.status_code}: {body.get('message')}", param=body.get("param"), code=body.get("code"))
