"""``soups data stats``: utterance counts and the lexical density of a handmade prepared directory."""

import json

from lhotse import MonoCut, Recording, SupervisionSegment
from lhotse.audio import AudioSource

from soups.cli import main
from soups.data.manifests import manifest_path, save_cuts
from soups.data.stats import data_stats, density, format_stats, words_of


def _cut(i: int, lang: str, text: str, translation: str | None = None, speaker: str = "s1"):
    rec = Recording(id=f"{lang}-{i}", sources=[AudioSource(type="file", channels=[0], source=f"{lang}-{i}.wav")],
                    sampling_rate=16000, num_samples=16000, duration=1.0)
    custom = {"translation": translation, "translation_lang": "en"} if translation else None
    sup = SupervisionSegment(id=rec.id, recording_id=rec.id, start=0.0, duration=1.0, text=text, language=lang,
                             speaker=speaker, gender="female", custom=custom)
    return MonoCut(id=rec.id, start=0.0, duration=1.0, channel=0, recording=rec, supervisions=[sup])


def _write(tmp_path, lang, split, rows):
    cuts = [_cut(i, lang, *row) for i, row in enumerate(rows)]
    save_cuts(cuts, manifest_path(tmp_path, lang, split))


def test_density_counts_on_a_handmade_corpus(tmp_path):
    # training words: le x3, chat x2, dort x1, chien x2, mange x1 -> 5 types, 9 tokens, counts [1,1,2,2,3]
    _write(tmp_path, "fr", "train", [("Le chat dort.", "The cat sleeps."), ("Le chien mange le chat !", "The dog eats the cat!"),
                                     ("Chien.", "Dog.")])
    # dev: le, chat (seen), court, vite (unseen) -> 2 of 4 tokens OOV; translation: "the" seen, "runs" not
    _write(tmp_path, "fr", "dev", [("le chat court vite", "The runs.")])
    _write(tmp_path, "zh", "train", [("今天下雨。",), ("今天晴",)])
    _write(tmp_path, "zh", "test", [("明天下雨",)])
    stats = data_stats(tmp_path)
    train, dev = stats["fr"]["train"], stats["fr"]["dev"]
    assert (train["word_types"], train["word_tokens"], train["word_count_min"], train["word_count_median"]) == (5, 9, 1, 2.0)
    assert train["oov_rate"] is None and dev["oov_rate"] == 0.5
    assert (dev["word_types"], dev["word_tokens"], dev["word_count_median"]) == (4, 4, 1.0)
    # translations: train "the cat sleeps the dog eats the cat dog" -> the x3, cat x2, dog x2, sleeps, eats
    assert (train["translation"]["word_types"], train["translation"]["word_tokens"]) == (5, 9)
    assert dev["translation"]["oov_rate"] == 0.5
    # Chinese counts characters: train 今天下雨今天晴 -> 今 2, 天 2, 下 1, 雨 1, 晴 1; test 明 unseen (1 of 4)
    assert (stats["zh"]["train"]["word_types"], stats["zh"]["train"]["word_tokens"]) == (5, 7)
    assert stats["zh"]["test"]["oov_rate"] == 0.25 and "translation" not in stats["zh"]["test"]
    # the old keys stay
    assert {"utterances", "hours", "speakers", "genders", "skipped"} <= set(train)
    table = format_stats(stats)
    assert "types" in table.splitlines()[0] and "50.0" in table


def test_density_of_tokenised_sentences_and_words_of():
    assert density([["a", "b"], ["a"]], train=None) == {"word_types": 2, "word_tokens": 3, "word_count_min": 1,
                                                       "word_count_median": 1.5, "oov_rate": None}
    assert density([], train=None)["word_types"] == 0
    assert words_of("« Bonjour », dit-il.", "fr") == ["bonjour", "dit-il"]
    assert words_of("今天，晴。", "zh") == ["今", "天", "晴"]


def test_cli_json_keeps_its_keys_and_adds_density(tmp_path, capsys):
    _write(tmp_path, "en", "train", [("a b a",)])
    _write(tmp_path, "en", "test", [("a c",)])
    assert main(["data", "stats", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["en"]["test"]["oov_rate"] == 0.5 and out["en"]["train"]["word_count_min"] == 1
    assert out["en"]["train"]["utterances"] == 1
