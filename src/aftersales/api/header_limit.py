"""A cap on the size of a request's head (request line and headers), enforced as bytes arrive.

uvicorn caps the head only with its h11 parser (`h11_max_incomplete_event_size`, answering
400); with httptools, which `aftersales serve` uses, it has no limit at all, and httptools
buffers a header until it is complete, so 64 MB of headers reach the app. This protocol counts
the bytes fed to the parser until the head is complete and answers 431 and closes the
connection as soon as the count passes the cap: a hostile head never gets further than that.
Used by `aftersales serve` (cli.py) and the test server: `uvicorn.run(app, http=HeaderLimitedProtocol)`.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 32 * 1024


class HeaderLimitedProtocol(HttpToolsProtocol):
    max_header_bytes = MAX_HEADER_BYTES
    _head_bytes = 0  # bytes of the current request's head seen so far
    _in_body = False  # between the end of a head and the end of its message

    def data_received(self, data: bytes) -> None:
        # Feed the parser no more than the head may still hold, so that the bytes after a head
        # (a body) are never counted as head, and a head past the cap is never fed at all.
        while data:
            if self._in_body:
                super().data_received(data)
                return
            room = self.max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse()
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return

    def on_headers_complete(self) -> None:
        self._in_body, self._head_bytes = True, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_body, self._head_bytes = False, 0
        super().on_message_complete()

    def _refuse(self) -> None:
        body = json.dumps(
            {
                "type": "https://aftersales.dev/problems/headers_too_large",
                "title": "Request Header Fields Too Large",
                "status": 431,
                "detail": f"the request line and headers exceed {self.max_header_bytes} bytes",
                "code": "headers_too_large",
            }
        ).encode()
        self.logger.warning("request head over %d bytes refused", self.max_header_bytes)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/problem+json\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()
