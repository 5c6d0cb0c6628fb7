"""What a file really is, from its first bytes; the name a client gives proves nothing."""

from __future__ import annotations

import codecs
import re
import struct
import unicodedata
from typing import BinaryIO
from urllib.parse import quote

from .errors import ValidationFailed

# What a piece of evidence is, as its uploader says: order information 订单信息, chat records 聊天记录,
# product photos or video 商品图片/视频, logistics 物流信息, third-party inspection reports 第三方鉴定报告.
EVIDENCE_KINDS = ("order_info", "chat_record", "product_media", "logistics", "inspection_report", "other")

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


# --- whole-content checks ---------------------------------------------------------------------
# The first bytes only say what a file claims to be. These read all of it, so a file that is
# not what its magic says (a PNG header on junk, a truncated PDF, text that stops being UTF-8
# after the sample) is refused. Images need a decoder and are checked in services/evidence.py.

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "text/plain": ".txt",
}
_CHUNK = 1 << 16
_PDF_TAIL = 1024  # the PDF specification puts %%EOF within the last 1024 bytes


class UnsupportedMediaType(ValidationFailed):
    code = "unsupported_media_type"


class FileTooLarge(ValidationFailed):
    code = "file_too_large"


def content_problem(media_type: str, stream: BinaryIO, size: int) -> str | None:
    """Why the whole content of `stream` (of `size` bytes) is not a `media_type`, or None."""
    stream.seek(0)
    if media_type == "text/plain":
        return _text_problem(stream)
    if media_type == "application/pdf":
        stream.seek(max(0, size - _PDF_TAIL))
        return None if b"%%EOF" in stream.read(_PDF_TAIL) else "a PDF must end with %%EOF"
    if media_type in ("video/mp4", "video/quicktime"):
        return _box_problem(stream, size)
    return None


def _text_problem(stream: BinaryIO) -> str | None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        while chunk := stream.read(_CHUNK):
            if len(chunk.translate(None, _CONTROL)) != len(chunk):
                return f"text holds a control character near byte {offset}"
            decoder.decode(chunk)
            offset += len(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"text is not valid UTF-8 near byte {offset}"
    return None


def _box_problem(stream: BinaryIO, size: int) -> str | None:
    """An ISO media file (MP4/MOV) is a chain of boxes that starts with `ftyp` and fills the file."""
    offset = 0
    for _ in range(size // 8 + 1):  # every box takes at least 8 bytes
        if offset == size:
            return None
        stream.seek(offset)
        header = stream.read(16)
        if len(header) < 8:
            return f"a media box is cut short at byte {offset}"
        length, kind = struct.unpack(">I4s", header[:8])
        if offset == 0 and kind != b"ftyp":
            return "a media file must start with its ftyp box"
        if length == 0:
            return None  # the last box runs to the end of the file
        if length == 1:
            if len(header) < 16:
                return f"a media box is cut short at byte {offset}"
            length = struct.unpack(">Q", header[8:16])[0]
            if length < 16:
                return f"a media box at byte {offset} has an impossible size"
        elif length < 8:
            return f"a media box at byte {offset} has an impossible size"
        offset += length
        if offset > size:
            return f"a media box runs past the end of the file (byte {offset} of {size})"
    return "too many media boxes"


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_UNSAFE_ANYWHERE = '"\\/:*?<>|'  # quotes, path separators and what some disks forbid


def download_names(name: str | None, media_type: str, fallback: str) -> tuple[str, str]:
    """(ASCII name, Unicode name) to download a file as, both ending in the extension of what
    the file really is: whatever the client called it, a PNG downloads as .png. Neither holds a
    path, a quote or a control character, so both are safe in a header and on any disk."""
    stem = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    shown = "".join("_" if c in _UNSAFE_ANYWHERE or unicodedata.category(c).startswith("C") else c for c in stem).strip(
        " ._"
    )[:100]
    ascii_stem = _UNSAFE_NAME.sub("_", shown).strip("._") or fallback
    extension = EXTENSIONS.get(media_type, "")
    return ascii_stem + extension, (shown or ascii_stem) + extension


def content_disposition(disposition: str, ascii_name: str, shown: str) -> str:
    """filename= is the plain ASCII name every client reads; filename* (RFC 6266) the real one."""
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(shown, safe='')}"
