"""Spelled-out numbers 1..99 in the six languages, with agreement before a noun."""

import pytest

from soups.data.synthetic.grammar import LANGUAGES
from soups.data.synthetic.numbers import cardinal, number_words


@pytest.mark.parametrize(("n", "expected"), [
    (1, "un"), (16, "seize"), (17, "dix-sept"), (21, "vingt et un"), (22, "vingt-deux"), (60, "soixante"),
    (70, "soixante-dix"), (71, "soixante et onze"), (72, "soixante-douze"), (79, "soixante-dix-neuf"),
    (80, "quatre-vingts"), (81, "quatre-vingt-un"), (90, "quatre-vingt-dix"), (91, "quatre-vingt-onze"),
    (99, "quatre-vingt-dix-neuf"),
])
def test_french(n, expected):
    assert number_words(n, "fr") == expected


def test_french_feminine_one():
    assert [number_words(n, "fr", "f") for n in (1, 21, 71, 81, 91)] == [
        "une", "vingt et une", "soixante et onze", "quatre-vingt-une", "quatre-vingt-onze"]


def test_german():
    assert cardinal(1, "de") == "eins"
    assert [number_words(n, "de", g) for n, g in ((1, "m"), (1, "f"), (1, "n"))] == ["ein", "eine", "ein"]
    assert [number_words(n, "de") for n in (16, 17, 21, 30, 37, 99)] == [
        "sechzehn", "siebzehn", "einundzwanzig", "dreißig", "siebenunddreißig", "neunundneunzig"]


def test_spanish_agreement_of_one():
    assert cardinal(21, "es") == "veintiuno"
    assert number_words(21, "es", "m") == "veintiún"
    assert number_words(21, "es", "f") == "veintiuna"
    assert number_words(31, "es", "m") == "treinta y un"
    assert number_words(31, "es", "f") == "treinta y una"
    assert [number_words(n, "es") for n in (16, 22, 32, 99)] == ["dieciséis", "veintidós", "treinta y dos",
                                                                  "noventa y nueve"]


def test_catalan_agreement_of_one_and_two():
    assert [number_words(n, "ca", "f") for n in (1, 2, 12, 21, 22, 32)] == [
        "una", "dues", "dotze", "vint-i-una", "vint-i-dues", "trenta-dues"]
    assert [number_words(n, "ca", "m") for n in (2, 21, 22, 32)] == ["dos", "vint-i-un", "vint-i-dos", "trenta-dos"]
    assert cardinal(1, "ca") == "u" and cardinal(21, "ca") == "vint-i-u"


def test_english():
    assert [number_words(n, "en") for n in (13, 21, 40, 99)] == ["thirteen", "twenty-one", "forty", "ninety-nine"]


def test_chinese_liang_only_for_a_bare_two():
    assert [number_words(n, "zh") for n in (2, 10, 12, 20, 22, 99)] == ["两", "十", "十二", "二十", "二十二", "九十九"]
    assert cardinal(2, "zh") == "二"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_all_distinct_and_digit_free(lang):
    for gender in ("m", "f"):
        words = [number_words(n, lang, gender) for n in range(1, 100)]
        assert len(set(words)) == 99
        assert not any(ch.isdigit() for word in words for ch in word)


def test_out_of_range():
    with pytest.raises(ValueError):
        number_words(0, "en")
    with pytest.raises(ValueError):
        cardinal(100, "fr")
    with pytest.raises(ValueError):
        cardinal(5, "xx")
