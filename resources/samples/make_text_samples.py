"""Generate the two small text-classification samples in ``resources/samples/`` (run by hand).

    python resources/samples/make_text_samples.py

The sentences are **generated from templates by this script**, not collected from people: short
film reviews (``sentiment.csv`` in English, ``sentiment_zh.csv`` in Simplified Chinese) built from a
subject, an optional degree word, an adjective of one polarity and an ending, some of them negated
("the plot was not boring" is positive).  The label is the polarity the template was built with.
They are meant for trying the text pipeline and the LSTM template, not as a benchmark.  Written
for NN Studio and released with it under the same licence.

Deterministic: the same Python version gives the same files byte for byte (``random.Random(seed)``;
UTF-8 without a BOM, ``\\n`` line ends, columns ``text,class``).
"""
from __future__ import annotations

import csv
import io
import os
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_ROWS = 800

EN = {
    "subjects": ["the movie", "this film", "the plot", "the acting", "the soundtrack", "the ending", "the story",
                 "the cast", "the script", "the dialogue", "this show", "the camera work", "the pacing",
                 "the main character", "the special effects", "the second half"],
    "positive": ["great", "wonderful", "brilliant", "moving", "delightful", "excellent", "charming", "beautiful",
                 "gripping", "superb", "fun", "clever", "touching", "funny", "fresh", "solid"],
    "negative": ["terrible", "boring", "awful", "dull", "disappointing", "weak", "clumsy", "painful",
                 "forgettable", "messy", "slow", "bland", "predictable", "silly", "flat", "confusing"],
    "degrees": ["", "really ", "truly ", "very ", "quite ", "absolutely ", "so "],
    "frames": ["{s} was {d}{a}", "{s} is {d}{a}", "i thought {s} was {d}{a}", "honestly, {s} felt {d}{a}",
               "{s} was {d}{a} and {s2} was {a2}", "overall {s} is {d}{a}"],
    "negated": ["{s} was not {a}", "{s} is not {d}{a} at all", "i did not find {s} {a}", "{s} never felt {a}"],
    "endings": {"positive": ["", ".", "!", ", i would watch it again.", ", highly recommended."],
                "negative": ["", ".", "!", ", a waste of time.", ", i would not recommend it."]},
    "space": " ",
    "labels": {"positive": "positive", "negative": "negative"},
}

ZH = {
    "subjects": ["这部电影", "这部片子", "剧情", "演员的表演", "配乐", "结局", "故事", "画面", "剧本", "台词",
                 "这部剧", "镜头语言", "节奏", "主角", "特效", "后半段"],
    "positive": ["精彩", "感人", "出色", "有趣", "动人", "好看", "细腻", "流畅", "温暖", "真实", "扎实", "惊艳",
                 "幽默", "用心", "新颖", "震撼"],
    "negative": ["无聊", "糟糕", "乏味", "平庸", "拖沓", "混乱", "生硬", "做作", "空洞", "俗套", "难看", "敷衍",
                 "幼稚", "尴尬", "单调", "粗糙"],
    "degrees": ["", "很", "非常", "特别", "相当", "十分", "真"],
    "frames": ["{s}{d}{a}", "我觉得{s}{d}{a}", "说实话，{s}{d}{a}", "{s}{d}{a}，{s2}也很{a2}", "总的来说{s}{d}{a}",
               "看完觉得{s}{d}{a}"],
    "negated": ["{s}不{a}", "{s}一点也不{a}", "我不觉得{s}{a}", "{s}并不{a}"],
    "endings": {"positive": ["", "。", "！", "，值得一看。", "，推荐给大家。"],
                "negative": ["", "。", "！", "，浪费时间。", "，不推荐。"]},
    "space": "",
    "labels": {"positive": "正面", "negative": "负面"},
}


def sentence(lang: dict, rng: random.Random) -> tuple[str, str]:
    """One review and its label."""
    polarity = rng.choice(["positive", "negative"])
    other = "negative" if polarity == "positive" else "positive"
    s, s2 = rng.sample(lang["subjects"], 2)
    d = rng.choice(lang["degrees"])
    if rng.random() < 0.25:   # negated: the adjective of the other polarity, "not" in front
        text = rng.choice(lang["negated"]).format(s=s, d=d, a=rng.choice(lang[other]))
    else:
        text = rng.choice(lang["frames"]).format(s=s, d=d, a=rng.choice(lang[polarity]), s2=s2,
                                                 a2=rng.choice(lang[polarity]))
    text += rng.choice(lang["endings"][polarity])
    if lang["space"] and rng.random() < 0.5:
        text = text[0].upper() + text[1:]
    return text, lang["labels"][polarity]


def make(lang: dict, seed: int, n: int = N_ROWS) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < n:
        text, label = sentence(lang, rng)
        if text.lower() not in seen:
            seen.add(text.lower())
            rows.append((text, label))
    return rows


def write(name: str, rows: list[tuple[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["text", "class"])
    w.writerows(rows)
    final = HERE / f"{name}.csv"
    tmp = HERE / f".{name}.tmp.csv"
    tmp.write_bytes(buf.getvalue().encode("utf-8"))
    os.replace(tmp, final)
    print(f"wrote {final} ({len(rows)} rows, {final.stat().st_size} bytes)")


def main() -> None:
    write("sentiment", make(EN, seed=12))
    write("sentiment_zh", make(ZH, seed=13))


if __name__ == "__main__":
    main()
