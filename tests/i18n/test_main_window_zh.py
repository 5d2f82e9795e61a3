"""The main window started in zh_CN: menus, toolbar, docks, palette, plots and panels read Chinese."""
import re

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDockWidget, QMenu, QToolBar

from app import i18n

HAN = re.compile(r"[\u4e00-\u9fff]")
# words that stay as they are in Chinese texts: names, formats, abbreviations, file patterns
KEEP = {"NN", "Studio", "ONNX", "PyTorch", "npz", "safetensors", "F1", "MAE", "RMSE", "R²", "CSV", "F5", "LSTM", "GRU", "RNN", "CNN", "MLP", "ReLU", "XOR"}


def english_words(text: str) -> list[str]:
    text = re.sub(r"\(&\w\)|&", "", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z]+", text) if w not in KEEP]


@pytest.fixture
def zh_window(qtbot, tmp_path, monkeypatch):
    path = str(tmp_path / "settings.ini")
    monkeypatch.setattr(i18n, "settings", lambda: QSettings(path, QSettings.Format.IniFormat))
    monkeypatch.setenv("NNSTUDIO_DATA_DIR", str(tmp_path / "data"))
    app = QApplication.instance()
    if not i18n.has_font_for("zh_CN"):
        pytest.skip("no CJK font installed (fonts-noto-cjk)")
    assert i18n.install(app, "zh_CN") == "zh_CN"
    from app.main_window import MainWindow
    from engine.io import demo_project
    w = MainWindow(demo_project())
    w.project.maybe_save = lambda *a, **k: True  # pytest-qt closes the window before this fixture ends
    qtbot.addWidget(w)
    w.resize(1366, 768)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.project.timer.stop()
    w.close()
    i18n.remove(app)


def _menu_texts(menu: QMenu) -> list[str]:
    out = []
    for a in menu.actions():
        if a.isSeparator():
            continue
        out.append(a.text())
        if a.menu() is not None and a.menu().objectName() != "language_menu":  # language names are native
            out += _menu_texts(a.menu())
    return out


def test_menus_read_chinese(zh_window):
    bar = zh_window.menuBar()
    titles = [a.text() for a in bar.actions()]
    assert titles[:6] == ["文件(&F)", "编辑(&E)", "视图(&V)", "模板(&E)", "模型(&M)", "帮助(&H)"]
    texts = [t for a in bar.actions() for t in _menu_texts(a.menu())]
    texts = [t for t in texts if t not in ("", "English", "简体中文")]
    assert "导出(&E)" in texts and "在测试集上评估(&E)" in texts and "训练(&T)" in texts
    english = {t: english_words(t) for t in texts if english_words(t)}
    assert not english, f"menu entries with English words: {english}"
    for t in texts:
        assert HAN.search(t), t


def test_toolbar_and_docks_read_chinese(zh_window):
    tb = zh_window.findChild(QToolBar, "main_toolbar")
    shown = [a.iconText() for a in tb.actions() if not a.isSeparator() and a.isVisible()]
    assert "新建" in shown and "训练" in shown and "暂停" in shown
    assert all(HAN.search(t) and "(" not in t for t in shown if t), shown  # no "(N)" mnemonics on buttons
    docks = {d.objectName(): d.windowTitle() for d in zh_window.findChildren(QDockWidget)}
    assert docks["dock_layers"] == "层" and docks["dock_properties"] == "属性"
    assert docks["dock_training"] == "训练" and docks["dock_data"] == "数据"
    assert docks["dock_training_plots"] == "训练图表"
    assert all(HAN.search(t) for t in docks.values()), docks
    ui = zh_window.training_ui
    assert [ui.tabs.tabText(i) for i in range(ui.tabs.count())] == ["曲线", "权重", "决策边界", "混淆矩阵"]
    ev = zh_window.evaluation_ui
    assert [ev.tabs.tabText(i) for i in range(ev.tabs.count())] == ["评估", "预测"]
    assert zh_window.status_summary.text() == "4 个层 · 354 个参数 · 可以训练"


def test_palette_canvas_and_properties_read_chinese(zh_window):
    pal = zh_window.layer_palette
    assert pal.search.placeholderText() == "搜索层…"
    m = pal.model
    cats = [m.index(r, 0).data() for r in range(m.rowCount())]
    assert "核心" in cats and "卷积" in cats
    node = zh_window.view.graph_scene.nodes["n2"]
    assert node.title == "全连接层" and node.shape_text == "输出 (None, 16)"
    pe = zh_window.property_editor
    assert "未选中层" in pe.title.text()
    zh_window.view.graph_scene.select_nodes(["n2"])
    assert "全连接层" in pe.title.text() and pe.shape_label.text() == "输出形状：(None, 16)"
    labels = [pe.form.itemAt(i, pe.form.ItemRole.LabelRole).widget().text() for i in range(pe.form.rowCount())]
    assert labels[0] == "名称" and all(HAN.search(t) for t in labels), labels


def test_engine_messages_reach_the_window_in_chinese(zh_window):
    g = zh_window.graph
    messages = []
    g.message.connect(messages.append)
    assert not g.connect("n1", "n1")
    assert messages[-1] == "无法连接：Input 'n1' 不能把自己的输出接回自己；网络中的数据只能单向流动"
    zh_window.graph.delete(["n1"])
    tip = zh_window.actions["train"].toolTip()
    assert tip.startswith("无法训练：") and HAN.search(tip[5:]), tip
