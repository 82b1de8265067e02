"""Hand-built frames realized in English, German and Chinese: articles, case, word order, measure words."""

import pytest

from soups.data.synthetic import lexicon as lx
from soups.data.synthetic.frames import Clause, Frame
from soups.data.synthetic.frames import NounPhrase as NP
from soups.data.synthetic.grammar import realize

SEE = Clause(NP("dog"), "see", NP("cat"))


def en(frame):
    return realize(frame, "en")


def de(frame):
    return realize(frame, "de")


def zh(frame):
    return realize(frame, "zh")


def test_english_articles_a_an():
    assert en(Frame(Clause(NP("dog"), "see", NP("elephant", "indef")))) == "The dog sees an elephant."
    assert en(Frame(Clause(NP("dog"), "see", NP("dog", "indef", adj="old")))) == "The dog sees an old dog."
    assert en(Frame(Clause(NP("dog"), "see", NP("elephant", "indef", adj="big")))) == "The dog sees a big elephant."
    assert en(Frame(Clause(NP("man", "indef"), "find", NP("umbrella", "indef")))) == "A man finds an umbrella."


def test_english_do_support_plurals_and_tenses():
    assert en(Frame(SEE, question=True)) == "Does the dog see the cat?"
    assert en(Frame(Clause(NP("child", "def", 2), "see", NP("mouse", "num", 21), tense="past"))) == (
        "The children saw twenty-one mice.")
    assert en(Frame(Clause(NP("dog"), "see", NP("cat"), tense="past", negated=True))) == (
        "The dog did not see the cat.")
    assert en(Frame(Clause(NP("cat"), state="tired", tense="fut"), question=True, time="tomorrow")) == (
        "Will the cat be tired tomorrow?")
    assert en(Frame(Clause(NP("dog"), "sleep"), time="often")) == "The dog often sleeps."


def test_german_cases_and_articles():
    assert de(Frame(Clause(NP("cat"), "see", NP("dog")))) == "Die Katze sieht den Hund."
    assert de(Frame(Clause(NP("boy"), "help", NP("child", "def", 2)))) == "Der Junge hilft den Kindern."
    assert de(Frame(Clause(NP("woman"), "see", NP("lion", "indef", adj="big")))) == (
        "Die Frau sieht einen großen Löwen.")
    assert de(Frame(Clause(NP("dog"), "sleep"), place=NP("park"))) == "Der Hund schläft im Park."
    assert de(Frame(Clause(NP("dog"), "sleep"), place=NP("kitchen", adj="small"))) == (
        "Der Hund schläft in der kleinen Küche.")
    assert de(Frame(Clause(NP("dog"), "sleep"), place=NP("market"))) == "Der Hund schläft auf dem Markt."
    assert de(Frame(Clause(NP("dog"), "go"), place=NP("park"))) == "Der Hund geht in den Park."
    assert de(Frame(Clause(NP("dog"), "go"), place=NP("cinema"))) == "Der Hund geht ins Kino."


def test_german_verb_second_and_verb_final():
    assert de(Frame(SEE, time="today", front_time=True)) == "Heute sieht der Hund die Katze."
    assert de(Frame(SEE, because=Clause(NP("cat"), "look for", NP("ball")))) == (
        "Der Hund sieht die Katze, weil die Katze den Ball sucht.")
    assert de(Frame(SEE, because=Clause(NP("cat"), "look at", NP("ball")))) == (
        "Der Hund sieht die Katze, weil die Katze den Ball anschaut.")
    assert de(Frame(Clause(NP("dog"), "see", NP("cat"), tense="past"), because=Clause(
        NP("cat"), "look for", NP("ball"), tense="past"))) == (
        "Der Hund hat die Katze gesehen, weil die Katze den Ball gesucht hat.")
    assert de(Frame(SEE, question=True)) == "Sieht der Hund die Katze?"
    assert de(Frame(Clause(NP("dog"), "look at", NP("cat")), time="tomorrow", front_time=True)) == (
        "Morgen schaut der Hund die Katze an.")


def test_german_numbers_negation_perfect_and_future():
    assert de(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 21)))) == "Die Frau kauft einundzwanzig Katzen."
    assert de(Frame(Clause(NP("dog"), "see", NP("cat", "indef"), negated=True))) == "Der Hund sieht keine Katze."
    assert de(Frame(Clause(NP("dog"), "see", NP("cat"), negated=True))) == "Der Hund sieht die Katze nicht."
    assert de(Frame(Clause(NP("girl", "def", 2), "go", tense="past"), place=NP("station"))) == (
        "Die Mädchen sind zum Bahnhof gegangen.")
    assert de(Frame(Clause(NP("child"), "hide.self", tense="fut"))) == "Das Kind wird sich verstecken."
    assert de(Frame(Clause(NP("dog"), "eat", NP("apple")))) == "Der Hund frisst den Apfel."
    assert de(Frame(Clause(NP("man"), "eat", NP("apple")))) == "Der Mann isst den Apfel."


def test_chinese_order_aspect_and_measure_words():
    frame = Frame(Clause(NP("dog"), "see", NP("cat", "num", 3), tense="past"), place=NP("park"), time="today",
                  front_time=True)
    assert zh(frame) == "今天狗在公园里看见了三只猫。"
    assert zh(Frame(Clause(NP("woman"), "buy", NP("book", "num", 2)))) == "女人买两本书。"
    assert zh(Frame(Clause(NP("woman"), "buy", NP("car", "num", 5)))) == "女人买五辆汽车。"
    assert zh(Frame(Clause(NP("boy"), "drink", NP("coffee", "num", 4)))) == "男孩喝四杯咖啡。"
    assert zh(Frame(Clause(NP("boy"), "see", NP("man", "indef")))) == "男孩看见一个男人。"
    assert zh(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 12)))) == "女人买十二只猫。"
    assert zh(Frame(Clause(NP("woman"), "buy", NP("cat", "num", 22)))) == "女人买二十二只猫。"


def test_chinese_negation_questions_and_states():
    assert zh(Frame(Clause(NP("dog"), "eat", NP("apple"), tense="past", negated=True))) == "狗没吃苹果。"
    assert zh(Frame(Clause(NP("dog"), "eat", NP("apple"), negated=True))) == "狗不吃苹果。"
    assert zh(Frame(Clause(NP("dog"), "eat", NP("apple"), tense="fut"), question=True)) == "狗会吃苹果吗？"
    assert zh(Frame(Clause(NP("cat"), state="tired"))) == "猫很累。"
    assert zh(Frame(Clause(NP("ball"), state="red"), question=True)) == "球是红色的吗？"
    assert zh(Frame(Clause(NP("man"), "call", NP("mother"), tense="past"))) == "男人给妈妈打电话了。"
    assert zh(Frame(Clause(NP("child", "def", 2), "go", tense="past"), place=NP("park"))) == "孩子们去了公园。"


@pytest.mark.parametrize("noun", sorted(lx.NOUNS))
def test_chinese_countable_nouns_take_their_own_measure_word(noun):
    word, *measure = lx.NOUNS[noun].spec("zh").split("|")
    frame = Frame(Clause(NP("woman"), "see", NP(noun, "num", 2)))
    if "mass" in lx.NOUNS[noun].tags:
        assert not measure  # milk, rice... are never counted
    else:
        assert zh(frame) == f"女人看见两{measure[0]}{word}。"
