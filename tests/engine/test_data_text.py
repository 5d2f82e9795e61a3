"""The text tokenizer (issue 12): word/char modes, fitted vocabulary, fixed length, JSON round trip."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.data import DataError
from engine.data.text import MAX_LEN, OOV, PAD, TextVocab, detect_mode, tokenize

texts = st.lists(st.text(alphabet=st.sampled_from(list("ab cd,.!é你好世界GPU_ \t\n")), max_size=40), min_size=1,
                 max_size=20)


def test_word_and_char_tokens():
    assert tokenize("Don't stop, it's GREAT!", "word") == ["don", "'", "t", "stop", ",", "it", "'", "s", "great", "!"]
    assert tokenize("这部电影很好看，GPU 很快", "word") == ["这", "部", "电", "影", "很", "好", "看", "，", "gpu", "很", "快"]
    assert tokenize("好看 GPU", "char") == ["好", "看", "g", "p", "u"]
    assert tokenize(None, "word") == [] and tokenize(float("nan"), "word") == []
    assert tokenize("ÉCOLE", "word", lowercase=False) == ["ÉCOLE"]


def test_auto_chooses_characters_for_chinese():
    assert detect_mode(["这部电影很好看", "太差了"]) == "char"
    assert detect_mode(["a great movie", "awful"]) == "word"
    assert detect_mode(["很好 but the ending was weak and far too long"]) == "word"
    assert TextVocab.fit(["这部电影很好看", "太差了"]).mode == "char"


def test_fit_encode_pad_truncate_and_unknown_words():
    v = TextVocab.fit(["a good movie", "a bad movie", "good good good"], max_len=4)
    assert v.tokens[0] == "good" and v.vocab_size == len(v.tokens) + 2
    ids = v.encode(["good movie zzz", "", "good a good a good"])
    assert ids.shape == (3, 4) and ids.dtype == np.int64
    assert ids[0, 2] == OOV and ids[0, 3] == PAD and (ids[1] == PAD).all()
    assert v.decode(ids[2]) == ["good", "a", "good", "a"]          # truncated after max_len tokens


def test_length_from_the_training_texts():
    v = TextVocab.fit([" ".join(["w"] * n) for n in range(1, 101)])
    assert v.max_len == 96                                          # 95th percentile of 1..100, rounded up
    assert TextVocab.fit(["w " * 5000]).max_len == MAX_LEN


def test_vocabulary_is_capped_by_frequency():
    words = [f"w{i}" for i in range(50_000)]
    v = TextVocab.fit([" ".join(words), "common common common"], max_tokens=1000)
    assert v.vocab_size == 1000 and v.tokens[0] == "common"
    assert v.report["distinct_tokens"] == 50_001 and v.report["kept_tokens"] == 998


@pytest.mark.parametrize("kw, message", [
    (dict(mode="bpe"), "unknown text tokenization"), (dict(max_tokens=2), "vocabulary size"),
    (dict(max_len=0), "sequence length"), (dict(max_len=MAX_LEN + 1), "sequence length")])
def test_bad_settings_are_refused(kw, message):
    with pytest.raises(DataError, match=message):
        TextVocab.fit(["some text"], **kw)


def test_all_empty_training_texts_are_refused():
    with pytest.raises(DataError, match="all empty"):
        TextVocab.fit(["", "  ", None])


@pytest.mark.parametrize("bad", [None, {}, {"mode": "word", "tokens": "abc", "max_len": 3},
                                 {"mode": "word", "tokens": ["a", "a"], "max_len": 3},
                                 {"mode": "word", "tokens": ["a"], "max_len": 10**6},
                                 {"mode": "char", "tokens": [1, 2], "max_len": 3}])
def test_a_damaged_saved_tokenizer_is_refused(bad):
    with pytest.raises(DataError, match="damaged"):
        TextVocab.from_dict(bad)


@settings(max_examples=150, deadline=None)
@given(train=texts, mode=st.sampled_from(["auto", "word", "char"]))
def test_round_trip(train, mode):
    if not any(tokenize(t, "char") for t in train):
        with pytest.raises(DataError):
            TextVocab.fit(train, mode=mode)
        return
    v = TextVocab.fit(train, mode=mode, max_tokens=10_000, max_len=MAX_LEN)
    again = TextVocab.from_dict(json.loads(json.dumps(v.to_dict())))
    np.testing.assert_array_equal(again.encode(train), v.encode(train))
    assert TextVocab.fit(train, mode=mode, max_tokens=10_000, max_len=MAX_LEN).tokens == v.tokens   # repeatable
    for t, row in zip(train, v.encode(train)):
        assert v.decode(row) == tokenize(t, v.mode)[:MAX_LEN]      # every training token is in the vocabulary
