"""What a file really is, from its first bytes; the name a client gives proves nothing."""

from __future__ import annotations

# (magic prefix, offset, media type); checked in order.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"ftyp", 4, "video/mp4"),
)
# Every media type `sniff` can answer with: what evidence content is served as.
MEDIA_TYPES = (*dict.fromkeys(m for _, _, m in _SIGNATURES), "video/quicktime", "image/webp", "text/plain")


def sniff(head: bytes) -> str | None:
    """The media type of content starting with `head`, or None if it is none we accept."""
    for magic, offset, media_type in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            if media_type == "video/mp4" and head[8:10] == b"qt":
                return "video/quicktime"
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if _is_text(head):
        return "text/plain"  # chat logs exported as text
    return None


# Control characters plain text never holds (tab, line feed, form feed, carriage return are fine).
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"


def _is_text(head: bytes) -> bool:
    if not head or any(byte in _CONTROL for byte in head):
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
