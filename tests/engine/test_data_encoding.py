"""Text encodings of CSV files: detected or chosen, decoded strictly, never a silent fallback.

The guarantee tested here is the rule in engine/data/encoding.py and docs/data.md:
a BOM decides; a file that decodes strictly as UTF-8 is UTF-8; any other file is either
decoded exactly (the detector's choice, verified on the whole file) or refused with a
message naming the file and the fix -- and with enough text (MIN_DISTINCT different Chinese characters)
it is always decoded exactly.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.data import DataError, DataSpec, load_dataset, preview_csv
from engine.data.encoding import decode, detect, normalise

ROOT = Path(__file__).resolve().parents[2]

IRIS_ZH = ["山鸢尾", "变色鸢尾", "维吉尼亚鸢尾"]
IRIS_TW = ["山鳶尾", "變色鳶尾", "維吉尼亞鳶尾"]
IRIS_JA = ["ヒオウギアヤメ", "ブルーフラッグ", "バージニカ"]
HEAD_ZH = ["花萼长度", "花萼宽度", "花瓣长度", "品种"]
HEAD_TW = ["花萼長度", "花萼寬度", "花瓣長度", "品種"]
HEAD_JA = ["がく片の長さ", "がく片の幅", "花びらの長さ", "品種"]


def iris_text(head, labels, n=45, delimiter=","):
    rng = np.random.default_rng(0)
    lines = [delimiter.join(head)]
    for i in range(n):
        k = i % 3
        a, b, c = rng.normal([5 + k, 3 + k / 2, 1.5 + 2 * k], 0.2)
        lines.append(delimiter.join([f"{a:.2f}", f"{b:.2f}", f"{c:.2f}", labels[k]]))
    return "\n".join(lines) + "\n"


HEAD_KO = ["꽃받침 길이", "꽃받침 너비", "꽃잎 길이", "품종"]
IRIS_KO = ["부채붓꽃", "버시컬러", "버지니카"]
HEAD_FR = ["longueur sépale", "largeur sépale", "longueur pétale", "espèce"]
IRIS_FR = ["sétosa", "versicolore", "virginica"]

CASES = [("euc_kr", HEAD_KO, IRIS_KO, "euc_kr"), ("cp1252", HEAD_FR, IRIS_FR, "cp1252"),
         ("latin-1", HEAD_FR, IRIS_FR, "cp1252"),  # the same text; cp1252 can write more
         ("gbk", HEAD_ZH, IRIS_ZH, "gb18030"), ("gb18030", HEAD_ZH, IRIS_ZH, "gb18030"),
         ("big5", HEAD_TW, IRIS_TW, "big5"), ("shift_jis", HEAD_JA, IRIS_JA, "shift_jis"),
         ("utf-16", HEAD_ZH, IRIS_ZH, "utf-16"), ("utf-8-sig", HEAD_JA, IRIS_JA, "utf-8-sig"),
         ("utf-8", HEAD_ZH, IRIS_ZH, "utf-8")]


@pytest.mark.parametrize("written, head, labels, detected", CASES, ids=[c[0] for c in CASES])
def test_cjk_files_load_exactly(tmp_path, written, head, labels, detected):
    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(head, labels).encode(written))
    info = preview_csv(str(p))
    assert info["encoding"] == detected and info["encoding_detected"]
    assert info["columns"] == head and info["rows"][0][3] == labels[0]
    ds = load_dataset(DataSpec(kind="csv", path=str(p), target=head[3]))
    assert ds.class_names == sorted(labels) and ds.feature_names == head[:3]
    assert ds.preprocessing["csv"]["encoding"] == detected


def test_chosen_encoding_is_used_and_saved(tmp_path):
    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH).encode("gbk"))
    spec = DataSpec.from_dict({"kind": "csv", "path": str(p), "encoding": "GBK"})
    assert spec.encoding == "gb18030" and DataSpec.from_dict(spec.to_dict()).encoding == "gb18030"
    info = preview_csv(str(p), encoding="gbk")
    assert info["columns"] == HEAD_ZH and not info["encoding_detected"]
    assert load_dataset(spec).class_names == sorted(IRIS_ZH)
    with pytest.raises(DataError, match="unknown text encoding 'klingon'"):
        DataSpec(kind="csv", path=str(p), encoding="klingon").validate()


def test_wrong_encoding_gives_the_clear_message(tmp_path):
    p = tmp_path / "iris gbk.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH).encode("gbk"))
    with pytest.raises(DataError) as e:
        load_dataset(DataSpec(kind="csv", path=str(p), encoding="utf-8"))
    msg = str(e.value)
    assert msg.startswith("iris gbk.csv, line 1 (byte 0): cannot be decoded as UTF-8 (the chosen encoding")
    assert "--encoding" in msg and "Encoding box" in msg
    # a later line is named as such
    q = tmp_path / "late.csv"
    q.write_bytes(b"a,b\n1,x\n2,y\n3,\xff\xfe\n")
    with pytest.raises(DataError, match=r"late.csv, line 4 \(byte 14\): cannot be decoded as Shift-JIS"):
        load_dataset(DataSpec(kind="csv", path=str(q), encoding="shift_jis"))


def test_no_silent_latin1_for_cjk_and_an_uncertain_file_is_refused(tmp_path):
    # the old behaviour: GBK decoded as Latin-1 without a word
    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH).encode("gbk"))
    assert preview_csv(str(p))["encoding"] not in ("latin-1", "cp1252")
    # two words: the detector cannot tell GB18030 from EUC-KR, so the user is asked
    q = tmp_path / "tiny.csv"
    q.write_bytes("花萼长度,花萼宽度,品种\n0.1,0.2,3\n".encode("gbk"))
    try:
        text, enc, _ = decode(q.read_bytes(), "tiny.csv")
    except DataError as exc:
        assert str(exc).startswith("tiny.csv: the text encoding is uncertain") and "--encoding" in str(exc)
    else:
        assert text == "花萼长度,花萼宽度,品种\n0.1,0.2,3\n", enc
    assert preview_csv(str(q), encoding="gbk")["columns"] == ["花萼长度", "花萼宽度", "品种"]


def test_utf8_and_ascii_never_run_the_detector(tmp_path, monkeypatch):
    import charset_normalizer

    def boom(*a, **k):
        raise AssertionError("the detector ran on a UTF-8 file")

    monkeypatch.setattr(charset_normalizer, "from_bytes", boom)
    big = tmp_path / "big.csv"
    big.write_text("x,y,名字\n" + "".join(f"{i},{i % 7},甲{i % 3}\n" for i in range(200_000)), encoding="utf-8")
    t0 = time.perf_counter()
    assert preview_csv(str(big))["encoding"] == "utf-8"
    ds = load_dataset(DataSpec(kind="csv", path=str(big), target="名字"))
    assert ds.class_names == ["甲0", "甲1", "甲2"]
    assert time.perf_counter() - t0 < 30


def test_large_file_detected_on_a_prefix_and_verified_whole(tmp_path):
    from engine.data import encoding

    body = iris_text(HEAD_ZH, IRIS_ZH, n=30_000)
    raw = body.encode("gb18030")
    assert len(raw) > 2 * encoding.SAMPLE_BYTES
    assert detect(raw) == "gb18030"
    # a byte no candidate accepts after the sampled prefix: the whole-file check finds it
    bad = raw + "山鸢尾".encode("big5", errors="ignore") + b"\x80\xff\n"
    with pytest.raises(DataError) as e:
        decode(bad, "big.csv", "gb18030")
    assert "big.csv, line 30002" in str(e.value)


def test_message_is_translated():
    from engine import i18n

    msg = ("iris.csv, line 3 (byte 40): cannot be decoded as UTF-8 (the chosen encoding; bytes bb a8); choose the "
           "file's encoding with --encoding or the Encoding box of the data panel")
    zh = i18n.translate(msg, "zh_CN")
    assert "iris.csv" in zh and "第 3 行" in zh and "--encoding" in zh and "编码" in zh, zh
    zh2 = i18n.translate("tiny.csv: the text encoding is uncertain: GB18030 (GBK) or EUC-KR (the text does not "
                         "tell them apart); choose the file's encoding with --encoding or the Encoding box of the data panel",
                         "zh_CN")
    assert "tiny.csv" in zh2 and "GB18030 (GBK)" in zh2 and "无法确定" in zh2, zh2


def test_normalise_aliases():
    assert normalise("GBK") == normalise("cp936") == "gb18030"
    assert normalise("UTF8") == "utf-8" and normalise("Shift-JIS") == "shift_jis" and normalise("") == "auto"
    assert normalise("euc-kr") == "euc_kr" and normalise("ISO-8859-1") == "latin-1"
    with pytest.raises(DataError, match="not a text encoding"):
        normalise("base64")


# ------------------------------------------------------------------ predictions
def _train_gbk(tmp_path, encoding_written="gbk", delimiter=",", chosen=None):
    from engine.io import Project
    from engine.spec import GraphSpec
    from engine.trainer import TrainConfig, Trainer

    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH, delimiter=delimiter).encode(encoding_written))
    spec = DataSpec(kind="csv", path=str(p), target="品种")
    if chosen is not None:  # the file read in the chosen encoding (its own column names then)
        spec = DataSpec(kind="csv", path=str(p), target=preview_csv(str(p), encoding=chosen)["columns"][3],
                        encoding=chosen)
    ds = load_dataset(spec)
    g = GraphSpec.from_dict({"schema_version": 1, "nodes": [
        {"id": "i", "type": "Input.v1", "config": {"shape": [3]}},
        {"id": "o", "type": "Dense.v1", "config": {"units": 3, "activation": "softmax"}}],
        "edges": [{"src": "i", "dst": "o"}]})
    tr = Trainer(g, ds, TrainConfig.from_dict({"epochs": 2, "batch_size": 16}))
    for _ in tr.run():
        pass
    proj = Project(graph=g, data_spec=spec.to_dict(), preprocessing=ds.preprocessing,
                   weights=tr.model.state_dict(), metadata={"task": "classification", "class_names": ds.class_names})
    return p, proj, tr.model


@pytest.mark.parametrize("written, delimiter, bom", [("gbk", ",", b""), ("gbk", ";", b""),
                                                     ("utf-8-sig", "\t", b"\xef\xbb\xbf")])
def test_predictions_file_round_trips_in_the_input_encoding(tmp_path, written, delimiter, bom):
    from engine.evaluate import predict_file

    p, proj, model = _train_gbk(tmp_path, written, delimiter)
    out = tmp_path / "pred.csv"
    n = predict_file(model, proj, str(p), str(out))
    raw = out.read_bytes()
    assert n == 45 and raw.startswith(bom) and (bom or not raw.startswith(b"\xef\xbb\xbf"))
    text = raw.decode("gb18030" if written == "gbk" else "utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    assert rows[0][:4] == HEAD_ZH and rows[0][4] == "prediction"
    assert {f"prob_{c}" for c in IRIS_ZH} <= set(rows[0])
    assert {r[4] for r in rows[1:]} <= set(IRIS_ZH) and rows[1][3] == IRIS_ZH[0]
    # the output is itself a valid input: read back with detection, same columns
    assert preview_csv(str(out))["columns"] == rows[0]


def test_predictions_that_the_input_encoding_cannot_hold(tmp_path):
    from engine.evaluate import EvaluateError, predict_file

    p, proj, model = _train_gbk(tmp_path)
    latin = tmp_path / "in.csv"
    latin.write_bytes("花萼长度,花萼宽度,花瓣长度\n5.1,3.5,1.4\n6.1,3.0,4.4\n".encode())
    latin.write_bytes(latin.read_text("utf-8").encode("utf-8"))
    proj.preprocessing = dict(proj.preprocessing)
    # write in cp1252 on purpose: Chinese class names do not fit
    with pytest.raises(EvaluateError, match=r"cannot be written in cp1252.*--out-encoding utf-8-sig"):
        predict_file(model, proj, str(latin), str(tmp_path / "o.csv"), out_encoding="cp1252")
    predict_file(model, proj, str(latin), str(tmp_path / "o.csv"), out_encoding="utf-8-sig")
    assert (tmp_path / "o.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_predicting_the_training_file_again_uses_its_saved_encoding(tmp_path):
    from engine.evaluate import EvaluateError, predict_file

    # GBK bytes are valid Big5 too: a project that chose Big5 has Big5 column names, which a
    # detected (GB18030) reading of the same bytes would not have
    p, proj, model = _train_gbk(tmp_path, chosen="big5")
    big5_head = preview_csv(str(p), encoding="big5")["columns"]
    assert big5_head != HEAD_ZH and proj.data_spec["encoding"] == "big5"
    out = tmp_path / "pred.csv"
    assert predict_file(model, proj, str(p), str(out)) == 45
    assert out.read_bytes().decode("big5").startswith(",".join(big5_head) + ",prediction")
    # a different file is never read in the saved encoding behind the user's back
    copy = tmp_path / "copy.csv"
    copy.write_bytes(p.read_bytes())
    with pytest.raises(EvaluateError):
        predict_file(model, proj, str(copy), str(tmp_path / "o.csv"))
    assert predict_file(model, proj, str(copy), str(tmp_path / "o.csv"), encoding="big5") == 45


# ------------------------------------------------------------------ CLI
def test_cli_target_in_chinese_train_evaluate_predict(tmp_path, capsys):
    from app.cli import main

    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH).encode("gbk"))
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps({"schema_version": 1, "nodes": [
        {"id": "i", "type": "Input.v1", "config": {"shape": [3]}},
        {"id": "o", "type": "Dense.v1", "config": {"units": 3, "activation": "softmax"}}],
        "edges": [{"src": "i", "dst": "o"}]}))
    out = tmp_path / "m.nnsp"
    assert main(["train", str(graph), "--data", str(p), "--target", "品种", "--epochs", "2", "--quiet",
                 "--out", str(out)]) == 0, capsys.readouterr().err
    from engine.io import load_project
    proj = load_project(out)
    assert proj.metadata["class_names"] == sorted(IRIS_ZH) and proj.data_spec["encoding"] == "auto"
    assert proj.preprocessing["csv"]["encoding"] == "gb18030"
    capsys.readouterr()
    assert main(["evaluate", str(out), "--split", "val"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 9
    pred = tmp_path / "pred.csv"
    assert main(["predict", str(out), "--data", str(p), "--out", str(pred), "--encoding", "gbk"]) == 0
    assert pred.read_bytes().decode("gb18030").startswith(",".join(HEAD_ZH) + ",prediction")
    # a wrong --encoding: one clear line naming the file, the place and the fix
    capsys.readouterr()
    assert main(["train", str(graph), "--data", str(p), "--target", "品种", "--encoding", "utf-8", "--epochs", "1",
                 "--out", str(tmp_path / "x.nnsp")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: iris.csv, line 1 (byte 0): cannot be decoded as UTF-8") and "--encoding" in err
    assert main(["evaluate", str(out), "--data", str(p), "--encoding", "ascii"]) == 1
    assert "line 1 (byte 0): cannot be decoded as ascii" in capsys.readouterr().err
    # a wrong encoding that happens to decode (GBK bytes are valid Big5): the columns show it
    assert main(["evaluate", str(out), "--data", str(p), "--encoding", "big5"]) == 1
    assert "target column '品种' not found" in capsys.readouterr().err
    assert main(["template", "mlp", "--data", str(p), "--target", "品种", "--encoding", "klingon"]) == 1
    assert "unknown text encoding 'klingon'" in capsys.readouterr().err


def test_cli_subprocess_target_in_chinese(tmp_path):
    p = tmp_path / "iris.csv"
    p.write_bytes(iris_text(HEAD_ZH, IRIS_ZH).encode("gbk"))
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "template", "mlp", "--data", str(p),
                        "--target", "品种", "--out", str(tmp_path / "g.json")], cwd=ROOT, capture_output=True,
                       text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "train", str(tmp_path / "g.json"), "--data", str(p),
                        "--target", "品种", "--epochs", "1", "--quiet", "--out", str(tmp_path / "m.nnsp")],
                       cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "--encoding NAME" in subprocess.run([sys.executable, str(ROOT / "main.py"), "predict", "--help"],
                                               cwd=ROOT, capture_output=True, text=True, timeout=240).stdout


# ------------------------------------------------------------------ property
COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行"
          "学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些"
          "然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月"
          "公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知"
          "较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压"
          "志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声"
          "报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容"
          "儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写"
          "存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞鸢尾萼瓣")
#: the documented threshold (24 was falsified: 26 distinct characters in 4 short cells tied with EUC-KR): a GB18030 file with at least this many different Chinese characters is
#: always detected (fewer may be refused: "一" repeated is also valid Shift-JIS katakana)
MIN_DISTINCT = 64


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _distinct_han(text: str) -> int:
    return len({ch for ch in text if "\u4e00" <= ch <= "\u9fff"})

word = st.text(alphabet=st.sampled_from(COMMON), min_size=1, max_size=5)
mixed = st.builds(lambda w, a: w + a, word, st.sampled_from(["", "", "A", "x1", "_b", "-9", " 2", "(kg)"]))
number = st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.3f}")
cell = st.one_of(word, mixed, number)
table = st.integers(2, 5).flatmap(lambda w: st.tuples(st.lists(word, min_size=w, max_size=w, unique=True),
                                                      st.lists(st.lists(cell, min_size=w, max_size=w),
                                                               min_size=1, max_size=12)))


def _csv(t) -> str:
    head, rows = t
    return "\n".join(",".join(r) for r in [head, *rows]) + "\n"


@settings(max_examples=300, deadline=None)
@given(t=table, enc=st.sampled_from(["gb18030", "gbk", "utf-8", "utf-8-sig", "utf-16"]))
def test_detected_text_is_exact_or_refused(t, enc):
    text = _csv(t)
    raw = text.encode(enc)
    han = _distinct_han(text)
    if enc in ("gb18030", "gbk") and _valid_utf8(raw):
        # rule 2: bytes that are valid UTF-8 are UTF-8 (short GB18030 text can be, by chance: "一,专")
        assert decode(raw, "t.csv")[:2] == (raw.decode("utf-8"), "utf-8")
        return
    try:
        got, chosen, detected = decode(raw, "t.csv")
    except DataError as exc:
        # only a non-UTF file may be refused, only for want of text, and always with the fix
        assert enc in ("gb18030", "gbk") and han < MIN_DISTINCT, (han, str(exc))
        assert "uncertain" in str(exc) and "--encoding" in str(exc)
        return
    assert got == text and detected
    if enc in ("utf-8", "utf-8-sig", "utf-16"):
        assert chosen == enc


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=table, enc=st.sampled_from(["gb18030", "utf-8", "utf-16"]))
def test_detected_tables_preview_exactly(tmp_path, t, enc):
    text = _csv(t)
    p = tmp_path / "t.csv"
    p.write_bytes(text.encode(enc))
    try:
        info = preview_csv(str(p))
    except DataError as exc:
        # the table itself may be unusable (e.g. a header the sniffer reads as data), never mis-decoded
        assert "\n" not in str(exc)
        return
    raw = p.read_bytes()
    decoded = raw.decode(info["encoding"]).lstrip("\ufeff")
    assert decoded == (raw.decode("utf-8") if _valid_utf8(raw) else text)


@settings(max_examples=300, deadline=None)
@given(t=table.filter(lambda t: _distinct_han(_csv(t)) >= MIN_DISTINCT))
def test_enough_chinese_text_is_always_detected(t):
    text = _csv(t)
    assume(not _valid_utf8(text.encode("gb18030")))  # rule 2 (vanishingly rare at this length)
    got, chosen, _ = decode(text.encode("gb18030"), "t.csv")
    assert got == text and chosen == "gb18030"
