"""Refuse request bodies over the contract's limit before anything parses or stores them."""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem_response

MAX_BODY_BYTES = 64 * 1024


class BodySizeLimit:
    """ASGI middleware: 413 `payload_too_large` for a body over `max_bytes`.

    A declared Content-Length over the limit is refused without reading a byte. Otherwise
    (chunked bodies, or a length that lies) the body is read here, counting bytes, and the
    app is called only once the whole body is known to fit; it then receives it unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        body = await self._read_within_limit(receive)
        if body is None:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_within_limit(self, receive: Receive) -> Message | None:
        """The whole body as one message, or None once it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # http.disconnect: the app sees it as it would have
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "payload_too_large",
            "Payload too large",
            f"A request body may hold at most {self.max_bytes} bytes.",
            scope.get("path", ""),
        )
        await response(scope, receive, send)


def _replay(body: Message, receive: Receive) -> Receive:
    """A receive that hands over the buffered body once, then the client's own messages."""
    pending: list[Message] = [body]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
