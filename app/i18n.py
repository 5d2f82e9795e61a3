"""The user interface language: Qt translators, the engine's catalog, the Language menu, CJK fonts.

Order of choice: ``--lang CODE`` on the command line (this run only), else
``$NNSTUDIO_LANG`` (the test suite sets ``en``), else the choice made in
*View > Language* (kept in QSettings under ``ui/language``), else the system
locale.  English is the source language and needs no file.

Two translators are installed for a language: ours
(``resources/translations/nnstudio_<lang>.qm``, compiled from the ``.ts``
source, see docs/i18n.md) and Qt's own ``qtbase_<lang>.qm`` from the PySide6
wheel (buttons of standard dialogs, context menus of line edits).  Engine texts
(errors, layer labels and help) are translated by :mod:`engine.i18n` with the
same code.

Chinese needs a font that has Chinese glyphs; without one the app stays in
English and says once how to install one (``fonts-noto-cjk`` on Linux)
instead of showing boxes.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QSettings, Qt, QTranslator
from PySide6.QtGui import QActionGroup, QFontDatabase
from PySide6.QtWidgets import QMessageBox

from engine import i18n as engine_i18n

TRANSLATIONS = Path(__file__).resolve().parent.parent / "resources" / "translations"
SETTING = "ui/language"
FONT_HINT_SETTING = "ui/cjk_font_hint_shown"
# language codes and their names in their own language (never translated)
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
# writing systems a language needs a font for
_WRITING_SYSTEMS = {"zh": QFontDatabase.WritingSystem.SimplifiedChinese,
                    "ja": QFontDatabase.WritingSystem.Japanese,
                    "ko": QFontDatabase.WritingSystem.Korean}

_installed: list[QTranslator] = []
_state = {"language": "en", "missing_font": ""}


def settings() -> QSettings:
    """The app's QSettings (tests point QSettings at a temporary folder)."""
    return QSettings("nn-studio", "NN Studio")


def stored_language() -> str:
    """The choice from the Language menu: a code, or ``""`` for the system language."""
    value = settings().value(SETTING, "")
    return value if isinstance(value, str) else ""


def store_language(code: str) -> None:
    s = settings()
    s.setValue(SETTING, code)
    s.sync()


def system_language() -> str:
    return QLocale.system().name()


def resolve(code: str | None) -> str:
    """The language we have for ``code``: ``"zh-CN"``, ``"zh"``, ``"zh_Hans_CN"`` -> ``"zh_CN"``; else ``"en"``."""
    if not code:
        return "en"
    code = code.replace("-", "_")
    if code in LANGUAGES:
        return code
    found = engine_i18n.resolve_language(code)
    if found in LANGUAGES:
        return found
    base = code.split("_")[0].lower()
    return next((c for c in LANGUAGES if c.split("_")[0].lower() == base), "en")


def choose_language(cli_code: str | None = None, remember: bool = False) -> str:
    """``--lang`` if given, else ``$NNSTUDIO_LANG``, else the stored choice, else the system locale.

    ``remember``: a ``--lang`` given on the command line becomes the stored choice (as if chosen in
    *View > Language*), so the next start without ``--lang`` keeps it."""
    if cli_code and remember:
        store_language(resolve(cli_code))
    return resolve(cli_code or os.environ.get("NNSTUDIO_LANG") or stored_language() or system_language())


def has_font_for(code: str) -> bool:
    ws = _WRITING_SYSTEMS.get(code.split("_")[0])
    return ws is None or bool(QFontDatabase.families(ws))


def install(app, code: str) -> str:
    """Install the translators for ``code`` on ``app``; returns the language in use.

    Call after the QApplication exists and before any window is built.  Falls
    back to English (and remembers why, for :func:`show_font_hint`) when the
    language needs fonts the machine lacks.
    """
    remove(app)
    code = resolve(code)
    _state["missing_font"] = ""
    if code != "en" and not has_font_for(code):
        _state["missing_font"] = code
        code = "en"
    _state["language"] = code
    engine_i18n.set_language(code)
    if code == "en":
        return code
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    for name, folder in ((f"qtbase_{code}", qt_dir), (f"nnstudio_{code}", str(TRANSLATIONS))):
        tr = QTranslator(app)
        if tr.load(name, folder):
            app.installTranslator(tr)
            _installed.append(tr)
        elif name.startswith("nnstudio"):
            print(f"warning: no translation file {name}.qm in {folder}", file=sys.stderr)
    return code


def remove(app) -> None:
    while _installed:
        app.removeTranslator(_installed.pop())
    _state["language"] = "en"
    engine_i18n.set_language("en")


def current_language() -> str:
    return _state["language"]


# --------------------------------------------------------------------- Language menu
def add_language_menu(menu, parent_widget=None):
    """Add *Language* to ``menu`` (the View menu): System default plus one entry per language."""
    sub = menu.addMenu(QCoreApplication.translate("Language", "&Language"))
    sub.setObjectName("language_menu")
    group = QActionGroup(sub)
    group.setExclusive(True)
    chosen = stored_language()
    entries = [("", QCoreApplication.translate("Language", "System default"))] + list(LANGUAGES.items())
    for code, name in entries:
        act = sub.addAction(name)
        act.setCheckable(True)
        act.setChecked(code == chosen)
        act.setData(code)
        group.addAction(act)
    group.triggered.connect(lambda act: _language_chosen(act.data() or "", parent_widget))
    return sub


def _language_chosen(code: str, parent_widget=None) -> None:
    if code == stored_language():
        return
    store_language(code)
    shown = LANGUAGES.get(resolve(code or system_language()), code)
    text = QCoreApplication.translate("Language", "NN Studio will use {language} the next time it starts. "
              "Restart NN Studio to switch now.").format(language=shown)
    if code and code != "en" and not has_font_for(code):
        text += "\n\n" + font_hint_text(code)
    box = QMessageBox(QMessageBox.Icon.Information, QCoreApplication.translate("Language", "Language"), text, QMessageBox.StandardButton.Ok,
                      parent_widget)
    box.setObjectName("language_restart_message")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


# --------------------------------------------------------------------- fonts
def font_hint_text(code: str) -> str:
    # deliberately English: without the font, Chinese text would be unreadable boxes
    name = LANGUAGES.get(code, code)
    return (f"{name} needs a font with Chinese/Japanese/Korean characters, and none is installed, "
            f"so NN Studio stays in English. On Debian/Ubuntu: sudo apt install fonts-noto-cjk "
            f"(Fedora: google-noto-sans-cjk-fonts), then restart NN Studio.")


def show_font_hint(window) -> bool:
    """Once per machine: tell the user that the chosen language needs a CJK font. True if shown."""
    code = _state["missing_font"]
    if not code:
        return False
    window.statusBar().showMessage(font_hint_text(code), 20000)
    s = settings()
    if s.value(FONT_HINT_SETTING, "") == code:
        return False
    s.setValue(FONT_HINT_SETTING, code)
    s.sync()
    box = QMessageBox(QMessageBox.Icon.Information, "Fonts", font_hint_text(code), QMessageBox.StandardButton.Ok,
                      window)
    box.setObjectName("cjk_font_hint")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return True
