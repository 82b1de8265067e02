"""ASR text normalisation and tokenizers (round trips per language, special ids, persistence)."""

import pytest

from soups.data.text import min_target_units, normalize_asr
from soups.data.tokenizer import (BOS, EOS, NUM_SPECIAL, PAD, UNK, CharTokenizer, SentencePieceTokenizer,
                                  load_tokenizers, save_tokenizers, train_tokenizer)
from soups.errors import DataError

SAMPLES = {
    "en": ["The big red dog sees twenty-one cats.", "Does the teacher eat an apple?", "We don't swim today."],
    "fr": ["Le petit chat voit quatre-vingt-dix souris.", "L'homme mange une pomme rouge.", "Est-ce qu'il pleut ?"],
    "de": ["Heute sieht der Hund einundzwanzig Katzen.", "Die Lehrerin isst im Park, weil sie Hunger hat.",
           "Äpfel, Öl und Süßigkeiten."],
    "es": ["El perro rojo ve veintiún gatos.", "¿Come la niña una manzana?", "Mañana llueve en la ciudad."],
    "ca": ["El gos vermell veu vint-i-un gats.", "L'home menja dues pomes.", "Demà plou a la ciutat."],
    "zh": ["今天狗在公园里看见了三只猫。", "老师吃苹果吗？", "我们明天不去学校。"],
}


def test_normalisation_lowercases_and_strips_punctuation_but_keeps_word_internal_marks():
    assert normalize_asr("« Bonjour », dit-il : l’homme arrive !", "fr") == "bonjour dit-il l'homme arrive"
    assert normalize_asr("¿Come la niña una manzana?", "es") == "come la niña una manzana"
    assert normalize_asr('"Twenty-one," she said - loudly.', "en") == "twenty-one she said loudly"
    assert normalize_asr("今天，狗在 公园里。", "zh") == "今天狗在公园里"
    assert min_target_units("Il pleut beaucoup.", "fr") == 3
    assert min_target_units("今天下雨。", "zh") == 4


# Chinese: characters only (too many distinct ones for a 60-piece SentencePiece model)
@pytest.mark.parametrize("lang,kind", [(lang, kind) for lang in sorted(SAMPLES) for kind in ("spm", "char")
                                       if not (lang == "zh" and kind == "spm")])
def test_tokenizer_round_trip_per_language(lang, kind):
    texts = [normalize_asr(t, lang) for t in SAMPLES[lang]] * 20
    tok = train_tokenizer(kind, texts, vocab_size=60)
    for text in texts[:3]:
        ids = tok.encode(text)
        assert ids and min(ids) >= NUM_SPECIAL  # specials never produced for known text
        assert tok.decode(ids) == text


def test_char_tokenizer_word_boundaries():
    tok = CharTokenizer.train(["le chat dort", "un chien"], vocab_size=NUM_SPECIAL + 4)
    assert "▁" in tok.chars and tok.vocab_size == NUM_SPECIAL + 4  # the boundary is kept within the budget
    ids = tok.encode(" le  chat ")
    assert len(ids) == len("le▁chat") and ids[2] == tok.encode("a b")[1]
    full = CharTokenizer.train(["le chat dort", "un chien"], vocab_size=100)
    assert full.decode(full.encode("chat  chien")) == "chat chien"
    zh = CharTokenizer.train(["今天下雨", "明天晴"], vocab_size=100)
    assert "▁" not in zh.chars and zh.encode("今 天") == zh.encode("今天")  # no spaces in training: dropped


def test_special_ids_are_shared_by_both_kinds():
    spm = SentencePieceTokenizer.train(["a b c d e f g"] * 10, vocab_size=20)
    for i, piece in zip((PAD, UNK, BOS, EOS), ("<pad>", "<unk>", "<s>", "</s>")):
        assert spm.sp.id_to_piece(i) == piece
    char = CharTokenizer.train(["abc"], vocab_size=10)
    assert char.encode("az") == [char.encode("a")[0], UNK]
    assert char.decode([PAD, BOS, *char.encode("ab"), EOS]) == "ab"


def test_char_vocab_keeps_the_most_frequent_characters():
    tok = CharTokenizer.train(["aaab", "aac", "d"], vocab_size=NUM_SPECIAL + 2)
    assert tok.chars == ["a", "b"] or tok.chars == ["a", "c"]
    assert tok.vocab_size == NUM_SPECIAL + 2 and tok.encode("d") == [UNK]


def test_training_is_deterministic_and_persistence_round_trips(tmp_path):
    texts = [normalize_asr(t, "de") for t in SAMPLES["de"]] * 10
    a, b = (SentencePieceTokenizer.train(texts, 40) for _ in range(2))
    assert a.model_proto == b.model_proto
    save_tokenizers({"asr_de": a, "asr_zh": CharTokenizer(["今", "天"])}, tmp_path / "tok.json")
    loaded = load_tokenizers(tmp_path / "tok.json")
    assert loaded["asr_de"].encode(texts[0]) == a.encode(texts[0])
    assert loaded["asr_zh"].encode("今天") == [NUM_SPECIAL, NUM_SPECIAL + 1]


def test_bad_tokenizer_requests():
    with pytest.raises(DataError, match="unknown tokenizer kind"):
        train_tokenizer("bpe-ish", ["a"], 10)
    with pytest.raises(DataError, match="empty text"):
        train_tokenizer("spm", ["", "  "], 10)
    with pytest.raises(DataError, match="not found"):
        load_tokenizers("/nonexistent/tok.json")
