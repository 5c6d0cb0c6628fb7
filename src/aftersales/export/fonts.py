"""The case file's typeface: Noto Sans SC, embedded in each PDF as a subset of what its text uses,
so the file reads the same on a machine without any Chinese font. Its own Latin glyphs set the
English text, properly spaced.

Where the font comes from, first found wins:
1. the `pylopdf-fonts-zh-cn` wheel (Noto Sans SC Regular from the Noto CJK project, OFL; a
   dependency of ours). PyPI has no maintained package of a CJK font with TrueType outlines: the
   Noto and Source Han packages all ship CFF-flavoured OpenType (this one 8 MB of its 17 MB wheel);
2. Debian's `fonts-noto-cjk` (the Simplified Chinese face of NotoSansCJK-Regular.ttc), or a
   Noto Sans SC file in the usual font directories.
Neither: `FontMissing`, a 503 without Retry-After saying what to install.

reportlab embeds TrueType outlines only. The source font is parsed once per process (lazily, at
the first PDF, ~0.5 s); each document then gets a small TrueType font drawn from the glyphs its
text uses (cubic curves made quadratic with fontTools' cu2qu, ~0.2 s for a case file's few
hundred characters), which reportlab subsets again and embeds. One font per process drawn from a
fixed set instead (GB2312's 6 763 hanzi, its punctuation and ASCII) took 12.6 s to build and 2 MB,
and would still miss rarer characters of names (堃, 喆); converting the whole font, ~20 s and
10 MB. Each document's font is registered under a name of its own while it is built, and
unregistered after (see `for_text`).
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from fontTools.fontBuilder import FontBuilder
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.recordingPen import DecomposingRecordingPen, RecordingPen, replayRecording
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont as EmbeddedFont

from ..domain.errors import NotConfigured

# (package, file) of the packaged font; then the system's font directories and the file names
# fonts-noto-cjk (and other Noto CJK installs) use. Module-level so a deployment or a test can
# point them elsewhere.
PACKAGED: tuple[tuple[str, str], ...] = (("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf"),)
SYSTEM_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
)
SYSTEM_FILES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansSC-Regular.otf",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.ttf",
)
MISSING = (
    "the case-file PDF needs a Chinese font and none was found: install the Python package "
    "pylopdf-fonts-zh-cn (a dependency of aftersales) or Debian's fonts-noto-cjk"
)
CACHED_GLYPHS = 4096  # a few MB of strokes: common hanzi, Latin and digits stay drawn
MAX_ERROR = 1.0  # font units (of 1000 per em) a quadratic curve may stray from the cubic one


class FontMissing(NotConfigured):
    code = "pdf_font_missing"


@dataclass
class Source:
    """The parsed source font; drawing from it is serialised (its glyphs decompile lazily).
    `outlines` keeps each glyph drawn once as quadratic pen strokes: converting is most of a
    PDF's cost, and case files share most of their characters."""

    path: Path
    font: TTFont
    lock: threading.Lock
    outlines: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def cmap(self) -> dict[int, str]:
        return self.font.getBestCmap()


_source: Source | None = None
_loading = threading.Lock()
# Names for the documents being built at once: a name is taken for one document and given back
# after, so reportlab's registry holds one font per concurrent document, never more.
_free: list[int] = []
_slots = itertools.count(1)
_taking = threading.Lock()


def source() -> Source:
    """The font found first, parsed once per process."""
    global _source
    with _loading:
        if _source is None:
            path, number = _find()
            _source = Source(path, TTFont(path, fontNumber=number, lazy=True), threading.Lock())
        return _source


def forget() -> None:
    """Drop the parsed font, so the next PDF searches again (after the search paths changed)."""
    global _source
    with _loading:
        _source = None


@contextmanager
def for_text(texts: Iterable[str]) -> Iterator[str]:
    """A font name covering the characters of `texts`, registered with reportlab while one
    document is built and unregistered after.

    Each font has a PostScript name of its own: reportlab keys its registry by that name too
    (`registerFont` hands a new font name the font registered first under the same face name), so
    fonts sharing one would all draw with the first document's glyphs."""
    with _slot() as slot:
        name = f"NotoSansSC-Doc{slot}"
        font = EmbeddedFont(name, io.BytesIO(build_subset(source(), set("".join(texts)) | {" "}, name)))
        pdfmetrics.registerFont(font)
        try:
            yield name
        finally:
            font.unregister()


@contextmanager
def _slot() -> Iterator[int]:
    with _taking:
        slot = _free.pop() if _free else next(_slots)
    try:
        yield slot
    finally:
        with _taking:
            _free.append(slot)


def build_subset(src: Source, chars: set[str], ps_name: str = "NotoSansSC-Regular") -> bytes:
    """A TrueType font holding the glyphs of `chars` the source has (others fall back to .notdef)."""
    cmap = src.cmap
    mapping = {ord(c): cmap[ord(c)] for c in chars if ord(c) in cmap}
    order = [".notdef", *sorted(set(mapping.values()) - {".notdef"})]
    with src.lock:
        glyph_set = src.font.getGlyphSet()
        glyphs = {name: _quadratic(src, glyph_set, name) for name in order}
        hmtx = src.font["hmtx"]
        advances = {name: hmtx[name][0] for name in order}
        hhea, os2, head = src.font["hhea"], src.font["OS/2"], src.font["head"]
        names = {
            key: src.font["name"].getDebugName(number) or ""
            for key, number in (("copyright", 0), ("licenseDescription", 13), ("licenseInfoURL", 14))
        }
    fb = FontBuilder(head.unitsPerEm, isTTF=True)
    fb.setupGlyphOrder(order)
    fb.setupCharacterMap(mapping)
    fb.setupGlyf(glyphs)
    glyf = fb.font["glyf"]
    fb.setupHorizontalMetrics({n: (advances[n], getattr(glyf[n], "xMin", 0)) for n in order})
    fb.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent, lineGap=hhea.lineGap)
    fb.setupNameTable({"familyName": "Noto Sans SC", "styleName": "Regular", "psName": ps_name, **names})
    fb.setupOS2(
        sTypoAscender=os2.sTypoAscender,
        sTypoDescender=os2.sTypoDescender,
        sTypoLineGap=os2.sTypoLineGap,
        usWinAscent=os2.usWinAscent,
        usWinDescent=os2.usWinDescent,
        sCapHeight=getattr(os2, "sCapHeight", 0),
        sxHeight=getattr(os2, "sxHeight", 0),
        fsType=os2.fsType,
    )
    fb.setupPost()
    out = io.BytesIO()
    fb.save(out)
    return out.getvalue()


def _quadratic(src: Source, glyph_set: Any, name: str) -> Any:
    """The glyph as TrueType contours: components drawn in place, cubic curves made quadratic
    (once per glyph and process; a fresh glyph object each time, as each font compiles its own)."""
    strokes = src.outlines.get(name)
    if strokes is None:
        recording = DecomposingRecordingPen(glyph_set)
        glyph_set[name].draw(recording)
        quadratic = RecordingPen()
        recording.replay(Cu2QuPen(quadratic, MAX_ERROR, reverse_direction=True))
        strokes = quadratic.value
        if len(src.outlines) < CACHED_GLYPHS:
            src.outlines[name] = strokes
    pen = TTGlyphPen(None)
    replayRecording(strokes, pen)
    return pen.glyph()


def _find() -> tuple[Path, int]:
    for package, filename in PACKAGED:
        try:
            candidate = Path(str(resources.files(package).joinpath(filename)))
        except ModuleNotFoundError:
            continue
        if candidate.is_file():
            return candidate, -1
    for directory in SYSTEM_DIRS:
        for filename in SYSTEM_FILES:
            for candidate in sorted(directory.rglob(filename)) if directory.is_dir() else ():
                return candidate, _simplified_face(candidate)
    raise FontMissing(MISSING)


def _simplified_face(path: Path) -> int:
    """In a collection (NotoSansCJK-Regular.ttc holds JP, KR, SC, TC, HK), the SC face's index."""
    if path.suffix.lower() not in {".ttc", ".otc"}:
        return -1
    faces = TTCollection(path, lazy=True).fonts
    for index, face in enumerate(faces):
        if (face["name"].getDebugName(1) or "").endswith(" SC"):
            return index
    return 0
