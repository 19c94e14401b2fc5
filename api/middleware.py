"""A pure ASGI middleware refusing request bodies above a size (HTTP 413)."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised inside the app when a streamed body passes the limit (rendered as 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413,
            f"the request body is larger than the limit of {max_bytes} bytes "
            "(MATCHER_MAX_BODY_BYTES)",
        )


class BodySizeLimit:
    """Refuse bodies over ``max_bytes``: by ``Content-Length`` before reading, and by
    counting the bytes of a streamed (chunked) body as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await self._reply(send, 400, "bad_request", "Content-Length is not a number")
                    return
                if length > self.max_bytes:
                    await self._too_large(send)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send: Send) -> None:
        await self._reply(
            send,
            413,
            "payload_too_large",
            f"the request body is larger than the limit of {self.max_bytes} bytes "
            "(MATCHER_MAX_BODY_BYTES)",
        )

    @staticmethod
    async def _reply(send: Send, status: int, code: str, detail: str) -> None:
        body = json.dumps({"detail": detail, "code": code}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
