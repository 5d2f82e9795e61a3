"""The translation sources are complete: every .ts entry finished, the .qm current, the engine catalog
covering layer texts, and real engine errors coming out in Chinese with their values untouched."""
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from engine import i18n
from engine.compile import analyse
from engine.data import DataError, DataSpec, load_dataset
from engine.export import ExportError, export_project
from engine.io import Project, demo_project
from engine.registry import CATEGORIES, all_layers, config_fields
from engine.spec import GraphSpec
from engine.templates import all_templates

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = ROOT / "resources" / "translations"
BIN = Path(sys.executable).parent


def _has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def ts_messages(path: Path):
    for ctx in ET.parse(path).getroot().iter("context"):
        for msg in ctx.iter("message"):
            yield ctx.findtext("name"), msg


def translation_text(msg) -> str:
    """A message's translation (the first plural form of a ``%n`` message)."""
    tr = msg.find("translation")
    forms = tr.findall("numerusform")
    return (forms[0].text or "") if forms else (tr.text or "")


@pytest.mark.parametrize("ts", sorted(TS_DIR.glob("*.ts")), ids=lambda p: p.name)
def test_every_ts_entry_is_finished(ts):
    unfinished = []
    for ctx, msg in ts_messages(ts):
        tr = msg.find("translation")
        src = msg.findtext("source")
        text = translation_text(msg)
        if tr.get("type") in ("unfinished", "vanished", "obsolete") or not text.strip():
            unfinished.append(f"{ctx}: {src!r}")
        elif src.count("{") != text.count("{") or "&" in src and "&" not in text:
            unfinished.append(f"{ctx}: {src!r} -> {text!r} (placeholders or mnemonic differ)")
    assert not unfinished, "unfinished translations:\n" + "\n".join(unfinished)


def test_placeholders_of_ts_translations_match():
    import re
    ph = re.compile(r"\{[a-z_0-9]*\}|%(?:n|\d)")
    bad = []
    for ctx, msg in ts_messages(TS_DIR / "nnstudio_zh_CN.ts"):
        src, dst = msg.findtext("source"), translation_text(msg)
        if sorted(ph.findall(src)) != sorted(ph.findall(dst)):
            bad.append(f"{ctx}: {src!r} -> {dst!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.skipif(not (BIN / "pyside6-lupdate").exists(), reason="pyside6-lupdate not installed")
def test_every_source_string_is_in_the_ts_and_translated(tmp_path):
    """lupdate over app/ and widgets/ finds no string that the zh_CN .ts lacks."""
    ts = tmp_path / "check.ts"
    shutil.copy(TS_DIR / "nnstudio_zh_CN.ts", ts)
    files = sorted(str(p) for d in ("app", "widgets") for p in (ROOT / d).rglob("*.py"))
    out = subprocess.run([str(BIN / "pyside6-lupdate"), *files, "-ts", str(ts), "-no-obsolete",
                          "-locations", "none"], capture_output=True, text=True, check=True).stdout
    new = [f"{c}: {m.findtext('source')!r}" for c, m in ts_messages(ts)
           if m.find("translation").get("type") == "unfinished"]
    assert not new, ("strings without a zh_CN translation (run the update command in docs/i18n.md):\n"
                     + "\n".join(new) + "\n" + out)


@pytest.mark.skipif(not (BIN / "pyside6-lrelease").exists(), reason="pyside6-lrelease not installed")
def test_shipped_qm_matches_the_ts(tmp_path):
    for ts in TS_DIR.glob("*.ts"):
        qm = tmp_path / (ts.stem + ".qm")
        subprocess.run([str(BIN / "pyside6-lrelease"), str(ts), "-qm", str(qm)], capture_output=True, check=True)
        shipped = ts.with_suffix(".qm")
        assert shipped.is_file(), f"{shipped.name} is missing: compile it (docs/i18n.md)"
        assert shipped.read_bytes() == qm.read_bytes(), f"{shipped.name} is stale: recompile it (docs/i18n.md)"


# ------------------------------------------------------------------ engine catalog
def test_every_layer_text_has_a_chinese_translation():
    cat = i18n.catalog("zh_CN")
    texts = set(CATEGORIES)
    for cls in all_layers():
        texts |= {cls.label, cls.description, cls.category}
        for fi in config_fields(cls.Config):
            texts |= {fi.label, fi.help}
    for t in all_templates():
        texts |= {t.name, t.description}
    missing = sorted(t for t in texts if t and t not in cat.literals)
    assert not missing, "engine/locale/zh_CN.json lacks:\n" + "\n".join(missing)


def test_descriptions_and_help_read_chinese():
    for cls in all_layers():
        assert _has_han(i18n.translate(cls.description, "zh_CN")), cls.type_id
    assert i18n.translate("Dense", "zh_CN") == "全连接层"
    assert i18n.translate("Conv2D", "zh_CN") == "二维卷积层"


def test_catalog_placeholders_match():
    import json
    import re
    ph = re.compile(r"\{[A-Za-z_0-9]+\}")
    data = json.loads((i18n.LOCALE_DIR / "zh_CN.json").read_text("utf-8"))
    for section in data.values():
        for src, dst in section.items():
            assert sorted(ph.findall(src)) == sorted(ph.findall(dst)), src


def test_english_and_unknown_texts_pass_through():
    assert i18n.translate("the file is empty", "en") == "the file is empty"
    assert i18n.translate("something nobody wrote a template for", "zh_CN") == "something nobody wrote a template for"
    assert i18n.resolve_language("zh-CN") == i18n.resolve_language("zh_Hans_CN") == "zh_CN"
    assert i18n.resolve_language("zh_TW") == "en" and i18n.resolve_language("de_DE") == "en"


def _zh(exc) -> str:
    return i18n.message(exc, "zh_CN")


def test_csv_errors_are_translated_with_values_untouched(tmp_path):
    bad = tmp_path / "my table.csv"
    bad.write_text("a,b,label\n1,2,x\n3,4\n")
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(bad)))
    zh = _zh(e.value)
    assert _has_han(zh) and "my table.csv" in zh and "3" in zh, zh
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(empty)))
    assert _zh(e.value) == "empty.csv：文件是空的"
    good = tmp_path / "t.csv"
    good.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(good), target="price"))
    zh = _zh(e.value)
    assert "找不到目标列“price”" in zh and "a, b, y" in zh and "t.csv" in zh, zh


def test_graph_errors_are_translated():
    g = demo_project().graph
    g2 = GraphSpec.from_dict({**g.to_dict(), "edges": []})
    err = analyse(g2).first_error()
    assert err is not None
    zh = _zh(err)
    assert _has_han(zh) and "Traceback" not in zh, (str(err), zh)
    assert _zh(analyse(GraphSpec()).first_error()) == "图是空的：请添加一个输入层，并在其后至少添加一层"
    # a shape error names the node and keeps the shape as written
    g3, _ = GraphSpec().add_node("Input.v1", {"shape": [28, 28, 1]}, node_id="in")
    g3, _ = g3.add_node("Dense.v1", {"units": 4}, node_id="d")
    g3 = g3.connect("in", "d")
    zh = _zh(analyse(g3).first_error())
    assert zh.startswith("Dense 'd' ") and "(None, 28, 28, 1)" in zh and "展平层" in zh, zh


def test_export_errors_are_translated(tmp_path):
    with pytest.raises(ExportError) as e:
        export_project(Project(graph=demo_project().graph), "onnx", tmp_path / "m.onnx")
    assert _zh(e.value).startswith("模型还没有训练好的权重"), _zh(e.value)
    from engine.export import export_model
    from engine.model import compile_graph
    with pytest.raises(ExportError) as e:
        export_model(compile_graph(demo_project().graph), "npz", tmp_path / "no such folder" / "w.npz", {})
    zh = _zh(e.value)
    assert _has_han(zh) and "no such folder" in zh, (str(e.value), zh)


def test_nested_and_multiline_messages():
    zh = i18n.translate("the graph cannot be compiled: the graph has no Input layer", "zh_CN")
    assert zh == "无法编译这个图：图中没有输入层"
    assert i18n.translate("data.csv, line 4: 3 fields, but the header has 4", "zh_CN") == \
        "data.csv，第 4 行：有 3 个字段，但表头有 4 个"
    assert np.isfinite(1.0)
