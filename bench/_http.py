"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation only.

The load generator shares this machine's cores with the server it measures, so it must cost
little: this one spends a fraction of httpx's CPU per request (formats bytes, reads a status
line and Content-Length). It speaks only to our own server on loopback, which always sends
Content-Length; anything else is an error, not something to cope with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit


class Connection:
    def __init__(self, base: str) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(payload)}"]
        if body is not None:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in headers.items()]
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        fresh = self.writer is None
        raw = await self._send(message)
        if raw is None and not fresh:
            # The server closed the connection while it idled (uvicorn's keep-alive timeout, 5 s:
            # a paced user may wait longer between requests): nothing of it was answered, so it
            # is sent again on a new one, as an HTTP client does. POSTs carry an Idempotency-Key.
            await self.close()
            raw = await self._send(message)
        if raw is None:
            raise ConnectionError(f"{self.host}:{self.port} closed a new connection without answering")
        assert self.reader is not None
        status = int(raw[9:12])
        length = None
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length is None:
            raise RuntimeError(f"response without Content-Length: {raw[:200]!r}")
        return status, await self.reader.readexactly(length)

    async def _send(self, message: bytes) -> bytes | None:
        """The response's head, or None if the connection closed before any of it came."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        try:
            self.writer.write(message)
            return await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError) as closed:
            if isinstance(closed, asyncio.IncompleteReadError) and closed.partial:
                raise  # part of an answer came: not an idle close, an error to see
            return None

    async def close(self) -> None:
        if self.writer is not None:
            writer, self.reader, self.writer = self.writer, None, None
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
