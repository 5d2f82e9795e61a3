"""Translations of the engine's user-facing texts without Qt.

The engine writes its messages in plain English (``raise DataError(f"{name}: the
file is empty")``); nothing in it needs to know the user's language.  Catalogs
in ``engine/locale/<lang>.json`` map English texts to translations:

* a key without braces is a literal: a layer label, a description, a config
  help text (``"Dense": "全连接层"``);
* a key with ``{name}`` placeholders is a message template
  (``"{name}: the file is empty": "{name}：文件是空的"``).  :func:`translate`
  matches a finished English message against the templates and fills the
  translation with the values found in the message, unchanged: numbers,
  shapes, file names and column names are copied as they were (a value in
  quotes, ``'{col}'``, is never translated even if it reads like a catalog text).

Messages are often composed (``"data.csv, line 4: 3 fields, but the header has
4"``, ``"Export failed: …"``): when a whole message matches no template,
:func:`translate` translates what follows the first ``": "`` that it can, and
the location before it through the templates again (``"line {n}"``).  A text
nothing matches is returned as it is (English is better than nothing).

The GUI calls :func:`set_language` once at start-up (``app/i18n.py``) and
passes engine texts through :func:`translate` (``tr`` for short) where it shows
them.  ``N_()`` marks an English text as translatable where it is defined
without changing it (for readers and for the catalog tests).
"""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_CLAUSE = re.compile(r": |, ")
_NESTED = {"reason", "msg", "hint", "message"}
_QUOTED = re.compile(r"""(?<=['"])\{([A-Za-z_][A-Za-z0-9_]*)\}(?=['"])""")

_language = "en"


def N_(text: str) -> str:
    """Mark ``text`` as translatable; returns it unchanged."""
    return text


def available_languages() -> list[str]:
    """Language codes with an engine catalog, e.g. ``["zh_CN"]`` (English needs none)."""
    return sorted(p.stem for p in LOCALE_DIR.glob("*.json"))


def set_language(code: str | None) -> str:
    """Use the catalog for ``code`` (``"zh_CN"``, ``"zh"``, ``"en"``); returns the code in use."""
    global _language
    _language = resolve_language(code)
    return _language


def language() -> str:
    return _language


def resolve_language(code: str | None) -> str:
    """``"zh_CN"``/``"zh-CN"``/``"zh"``/``"zh_Hans_CN"`` -> ``"zh_CN"``; unknown -> ``"en"``."""
    if not code:
        return "en"
    code = code.replace("-", "_")
    langs = available_languages()
    if code in langs:
        return code
    parts = code.split("_")
    base = parts[0].lower()
    if base == "zh":  # Traditional Chinese (TW, HK, MO, Hant) has no catalog yet
        traditional = {"TW", "HK", "MO", "Hant"} & set(parts[1:])
        return "zh_CN" if "zh_CN" in langs and not traditional else "en"
    for lang in langs:
        if lang.split("_")[0].lower() == base:
            return lang
    return "en"


class Catalog:
    """The texts of one language: literals and compiled message templates."""

    def __init__(self, entries: dict[str, str]):
        self.literals: dict[str, str] = {}
        self.templates: list[tuple[re.Pattern[str], str, str]] = []
        self._quoted: dict[str, frozenset[str]] = {}  # template -> placeholders written in quotes
        for src, dst in entries.items():
            if not dst:
                continue
            if _PLACEHOLDER.search(src):
                self.templates.append((_compile(src), src, dst))
                self._quoted[src] = frozenset(_QUOTED.findall(src))
            else:
                self.literals[src] = dst
        # the most specific template first: more literal text wins
        self.templates.sort(key=lambda t: -len(_PLACEHOLDER.sub("", t[1])))

    def translate(self, text: str, _depth: int = 0) -> str:
        if not text or _depth > 6:
            return text
        hit = self.literals.get(text)
        if hit is not None:
            return hit
        if "\n" in text:
            return "\n".join(self.translate(line, _depth + 1) for line in text.split("\n"))
        for rx, src, dst in self.templates:
            m = rx.fullmatch(text)
            if m is not None:
                quoted = self._quoted[src]  # a quoted value is a name ('{col}'): never translated
                values = {k: v if k in quoted else self._value(v, _depth) for k, v in m.groupdict().items()}
                return _PLACEHOLDER.sub(lambda p, v=values: v.get(p.group(1), p.group(0)), dst)
        # "location: message" or "location, message" -> the message and the location separately
        for m in _CLAUSE.finditer(text):
            head, tail = text[:m.start()], text[m.end():]
            tail_t = self.translate(tail, _depth + 1)
            if tail_t != tail:
                return self._location(head, _depth) + ("：" if m.group() == ": " else "，") + tail_t
        return text

    def _value(self, value: str, depth: int) -> str:
        """A placeholder's value: a known text is translated, anything else is kept as is."""
        hit = self.literals.get(value)
        if hit is not None:
            return hit
        if " " in value and not value.startswith(("'", '"')):  # a nested message, e.g. an exception text
            return self.translate(value, depth + 1)
        return value

    def _location(self, head: str, depth: int) -> str:
        parts = head.split(", ")
        return "，".join(self.translate(p, depth + 1) for p in parts)


def _compile(template: str) -> re.Pattern[str]:
    """A template as a regex.  A value never spans a ": " (that starts a new clause) unless
    it is named for a nested message: ``{reason}``, ``{msg}``, ``{hint}``, ``{message}``."""
    out, pos, seen = [], 0, set()
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos:m.start()]))
        name = m.group(1)
        value = ".+?" if name in _NESTED else "(?:(?!: ).)+?"
        out.append(f"(?P={name})" if name in seen else f"(?P<{name}>{value})")
        seen.add(name)
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out), re.DOTALL)


@cache
def catalog(code: str) -> Catalog | None:
    path = LOCALE_DIR / f"{code}.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text("utf-8"))
    entries: dict[str, str] = {}
    for section in data.values():  # sections only group the entries for translators
        if isinstance(section, dict):
            entries.update(section)
    return Catalog(entries)


def translate(text: str, code: str | None = None) -> str:
    """``text`` in the current language (or in ``code``); unchanged if no translation fits."""
    cat = catalog(resolve_language(code) if code else _language)
    if cat is None or not isinstance(text, str):
        return text
    return cat.translate(text)


tr = translate


def message(exc: BaseException, code: str | None = None) -> str:
    """The translated message of an engine exception (``KeyError`` quotes stripped)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str) else str(exc)
    return translate(text, code)
