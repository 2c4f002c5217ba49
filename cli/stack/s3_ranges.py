"""A pass-through proxy in front of rclone's S3 server that answers ranged reads `206 Partial Content`.

`rclone serve s3` returns the right bytes and `Content-Range` for a ranged GET, but with status 200; LanceDB's
object store (Rust `object_store`) then refuses the read ("non-partial response"). S3 and MinIO answer 206. The
local stack and the tests point LanceDB (`DISTRUST_STORAGE_LANCE_ENDPOINT`) at this proxy; every other client
talks to rclone directly. Requests pass unchanged (Host included, so signatures still match).

Run: `python -m cli.stack.s3_ranges --port 19001 --upstream http://127.0.0.1:19000`.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"})


def create_app(upstream: str) -> Starlette:
    """The proxy to `upstream` (`http://host:port`)."""
    client = httpx.AsyncClient(base_url=upstream, timeout=httpx.Timeout(300.0), follow_redirects=False)

    async def forward(request: Request) -> StreamingResponse:
        raw = request.scope["raw_path"] + (
            b"?" + request.scope["query_string"] if request.scope["query_string"] else b""
        )
        headers = [(k, v) for k, v in request.headers.raw if k.decode().lower() not in HOP_BY_HOP]
        body = await request.body()
        sent = client.build_request(
            request.method, httpx.URL(upstream).copy_with(raw_path=raw), headers=headers, content=body
        )
        reply = await client.send(sent, stream=True)
        status = reply.status_code
        if status == 200 and "range" in request.headers and "content-range" in reply.headers:
            status = 206
        kept = {k: v for k, v in reply.headers.items() if k.lower() not in HOP_BY_HOP}

        async def stream() -> AsyncIterator[bytes]:
            async for chunk in reply.aiter_raw():
                yield chunk

        return StreamingResponse(stream(), status_code=status, headers=kept, background=BackgroundTask(reply.aclose))

    methods = ["GET", "HEAD", "PUT", "POST", "DELETE"]

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(routes=[Route("/{path:path}", forward, methods=methods)], lifespan=lifespan)


def main() -> None:
    """Serve the proxy until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="rclone's S3 URL, e.g. http://127.0.0.1:19000")
    args = parser.parse_args()
    uvicorn.run(create_app(args.upstream), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
