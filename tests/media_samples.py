"""Real files of each accepted type, small and made here: uploads are decoded whole, so a test
photo must be a photo, not just its magic bytes."""

from __future__ import annotations

import io

from PIL import Image


def image(fmt: str, size: tuple[int, int] = (16, 12), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 120, 40) if mode == "RGB" else 0).save(out, format=fmt)
    return out.getvalue()


PNG = image("PNG")
JPEG = image("JPEG")
GIF = image("GIF")
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
