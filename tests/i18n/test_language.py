"""Choosing and installing the UI language: --lang, the stored choice, the Language menu, the font fallback."""
import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app import i18n
from app.application import build_parser
from engine import i18n as engine_i18n


@pytest.fixture
def settings(tmp_path, monkeypatch):
    path = str(tmp_path / "settings.ini")
    monkeypatch.setattr(i18n, "settings", lambda: QSettings(path, QSettings.Format.IniFormat))
    monkeypatch.delenv("NNSTUDIO_LANG", raising=False)
    yield i18n.settings
    i18n.remove(QApplication.instance())


def test_lang_option_parses():
    assert build_parser().parse_args(["--lang", "zh_CN"]).lang == "zh_CN"
    assert build_parser().parse_args([]).lang is None


def test_a_lang_option_is_remembered_for_the_next_start(settings, monkeypatch):
    monkeypatch.setattr(i18n, "system_language", lambda: "en")
    assert i18n.choose_language("zh-CN", remember=True) == "zh_CN"
    assert i18n.choose_language(None) == "zh_CN"               # the next start, without --lang
    assert i18n.choose_language("en") == "en" and i18n.stored_language() == "zh_CN"   # not remembered


def test_choice_order(settings, monkeypatch):
    monkeypatch.setattr(i18n, "system_language", lambda: "zh_CN")
    assert i18n.choose_language() == "zh_CN"
    i18n.store_language("en")
    assert i18n.choose_language() == "en"
    assert i18n.choose_language("zh-CN") == "zh_CN"
    monkeypatch.setenv("NNSTUDIO_LANG", "zh")
    assert i18n.choose_language() == "zh_CN"
    monkeypatch.setattr(i18n, "system_language", lambda: "fr_FR")
    monkeypatch.delenv("NNSTUDIO_LANG")
    i18n.store_language("")
    assert i18n.choose_language() == "en"


def test_install_translates_qt_and_engine(qtbot, settings, monkeypatch):
    # the translators, not the fonts, are under test (a machine without CJK fonts falls back to English)
    monkeypatch.setattr(i18n, "has_font_for", lambda code: True)
    app = QApplication.instance()
    assert i18n.install(app, "zh_CN") == "zh_CN"
    assert QCoreApplication.translate("Language", "System default") == "跟随系统"
    # Qt's own strings come from qtbase_zh_CN.qm of the PySide6 wheel
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
    qtbot.addWidget(box)
    assert box.button(QDialogButtonBox.StandardButton.Cancel).text() == "取消"
    assert engine_i18n.translate("Dense") == "全连接层"
    i18n.remove(app)
    assert QCoreApplication.translate("Language", "System default") == "System default"
    assert engine_i18n.translate("Dense") == "Dense"


def test_without_a_cjk_font_stays_english_and_hints_once(qtbot, settings, monkeypatch):
    from PySide6.QtWidgets import QMainWindow
    monkeypatch.setattr(i18n, "has_font_for", lambda code: False)
    app = QApplication.instance()
    assert i18n.install(app, "zh_CN") == "en"
    assert QCoreApplication.translate("Language", "System default") == "System default"
    win = QMainWindow()
    qtbot.addWidget(win)
    assert i18n.show_font_hint(win) is True
    assert "fonts-noto-cjk" in win.statusBar().currentMessage()
    assert i18n.show_font_hint(win) is False  # once per machine; the status bar still says it
    assert "fonts-noto-cjk" in win.statusBar().currentMessage()


def test_language_menu_stores_the_choice_and_says_restart(qtbot, settings):
    from PySide6.QtWidgets import QMainWindow, QMessageBox
    win = QMainWindow()
    qtbot.addWidget(win)
    menu = win.menuBar().addMenu("View")
    sub = i18n.add_language_menu(menu, win)
    names = [a.text() for a in sub.actions()]
    assert names == ["System default", "English", "简体中文"]
    assert sub.actions()[0].isChecked()
    sub.actions()[2].trigger()
    assert i18n.stored_language() == "zh_CN"
    box = win.findChild(QMessageBox, "language_restart_message")
    assert box is not None and "Restart" in box.text()
    box.close()


def test_palette_shows_chinese_layer_names(qtbot, settings, monkeypatch):
    from widgets.palette import LayerPalette
    monkeypatch.setattr(i18n, "has_font_for", lambda code: True)
    i18n.install(QApplication.instance(), "zh_CN")
    pal = LayerPalette()
    qtbot.addWidget(pal)
    m = pal.model
    texts = [m.index(r, 0).data() for r in range(m.rowCount())]
    children = [m.index(c, 0, m.index(r, 0)).data() for r in range(m.rowCount())
                for c in range(m.rowCount(m.index(r, 0)))]
    assert "核心" in texts and "卷积" in texts
    assert "全连接层" in children and "二维卷积层" in children
