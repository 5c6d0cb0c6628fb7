"""The console's message ids, extracted from its templates and code with Babel, and the check
that each language's catalogues translate every one.

`python -m aftersales.web.messages AREA` adds the ids no catalogue has yet to
`locale/zh/LC_MESSAGES/AREA.po` (untranslated, for a person to fill in)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from . import i18n

WEB = Path(__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}


def extract() -> dict[str, list[str]]:
    """Every message id the console uses, with where it is used."""
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(WEB, METHODS, OPTIONS):
        if isinstance(message, tuple):
            message = message[0]
        found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def catalogues(lang: str) -> dict[str, Catalog]:
    out = {}
    for po in sorted((i18n.LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as f:
            out[po.stem] = read_po(f, locale=i18n.LOCALES[lang])
    return out


def missing(lang: str) -> dict[str, list[str]]:
    """Message ids used but not translated in any of `lang`'s catalogues."""
    translated = {m.id for c in catalogues(lang).values() for m in c if m.id and m.string}
    return {msgid: where for msgid, where in extract().items() if msgid not in translated}


def add_missing(area: str, lang: str = "zh") -> int:
    path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / f"{area}.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=i18n.LOCALES[lang])
    else:
        catalog = Catalog(locale=i18n.LOCALES[lang], project="aftersales console")
    known = {m.id for c in catalogues(lang).values() for m in c if m.id}
    new = {k: v for k, v in missing(lang).items() if k not in known}
    for msgid, where in new.items():
        catalog.add(msgid, "", locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where])
    with path.open("wb") as f:
        write_po(f, catalog, width=120, omit_header=False)
    return len(new)


if __name__ == "__main__":
    print(f"{add_missing(sys.argv[1] if len(sys.argv) > 1 else 'console')} message ids added")
