"""Cardinal numbers 1..99 spelled out in the six languages, with the agreement they show before a noun.

``cardinal(n, lang)`` is the counting form; ``number_words(n, lang, gender)`` the form before a noun of
that gender: French *vingt et une*, Spanish *veintiún / veintiuna*, Catalan *dues / vint-i-una*, German
*ein / eine* for 1 (compounds never change: *einundzwanzig*), Chinese 两 for a bare 2 before a measure
word (两只猫, but 十二只猫, 二十二只猫). The measure word itself is the noun's business.

>>> number_words(71, "fr"), number_words(21, "es", "f"), number_words(2, "ca", "f"), number_words(2, "zh")
('soixante et onze', 'veintiuna', 'dues', '两')
"""

from __future__ import annotations

_EN_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
             "sixteen seventeen eighteen nineteen").split()
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_FR_UNITS = "zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize".split()
_FR_TENS = ("", "", "vingt", "trente", "quarante", "cinquante", "soixante")
_DE_UNITS = ("null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn fünfzehn "
             "sechzehn siebzehn achtzehn neunzehn").split()
_DE_TENS = ("", "", "zwanzig", "dreißig", "vierzig", "fünfzig", "sechzig", "siebzig", "achtzig", "neunzig")
# Spanish writes 16-29 as one word, with the stress accents of veintidós, veintitrés, veintiséis.
_ES_UNITS = ("cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis "
             "diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés veinticuatro veinticinco "
             "veintiséis veintisiete veintiocho veintinueve").split()
_ES_TENS = ("", "", "", "treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")
_CA_UNITS = ("zero un dos tres quatre cinc sis set vuit nou deu onze dotze tretze catorze quinze setze disset "
             "divuit dinou vint").split()
_CA_TENS = ("", "", "vint", "trenta", "quaranta", "cinquanta", "seixanta", "setanta", "vuitanta", "noranta")
_ZH_DIGITS = "零一二三四五六七八九"


def _en(n: int) -> str:
    if n < 20:
        return _EN_UNITS[n]
    tens, unit = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_UNITS[unit]}" if unit else "")


def _fr(n: int) -> str:
    if n <= 16:
        return _FR_UNITS[n]
    if n < 20:
        return "dix-" + _FR_UNITS[n - 10]
    if n < 70:
        tens, unit = divmod(n, 10)
        if unit == 0:
            return _FR_TENS[tens]
        return _FR_TENS[tens] + (" et un" if unit == 1 else "-" + _FR_UNITS[unit])
    if n < 80:  # 70-79 = 60 + 10..19: soixante-dix, soixante et onze, soixante-douze
        return "soixante et onze" if n == 71 else "soixante-" + _fr(n - 60)
    # 80-99 = 4 x 20 + 0..19: quatre-vingts takes its -s only when nothing follows; no "et" in 81, 91
    return "quatre-vingts" if n == 80 else "quatre-vingt-" + _fr(n - 80)


def _de(n: int) -> str:
    if n < 20:
        return _DE_UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _DE_TENS[tens]
    return ("ein" if unit == 1 else _DE_UNITS[unit]) + "und" + _DE_TENS[tens]  # einundzwanzig: units first


def _es(n: int) -> str:
    if n < 30:
        return _ES_UNITS[n]
    tens, unit = divmod(n, 10)
    return _ES_TENS[tens] + (f" y {_ES_UNITS[unit]}" if unit else "")


def _ca(n: int) -> str:
    """Masculine form before a noun: un, vint-i-un, trenta-un (the counting form of 1 is *u*)."""
    if n <= 20:
        return _CA_UNITS[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return _CA_TENS[tens]
    return _CA_TENS[tens] + ("-i-" if tens == 2 else "-") + _CA_UNITS[unit]  # vint-i-dos, trenta-dos


def _zh(n: int) -> str:
    tens, unit = divmod(n, 10)
    if tens == 0:
        return _ZH_DIGITS[unit]
    prefix = "" if tens == 1 else _ZH_DIGITS[tens]  # 十二, not 一十二
    return prefix + "十" + (_ZH_DIGITS[unit] if unit else "")


_SPELL = {"en": _en, "fr": _fr, "de": _de, "es": _es, "ca": _ca, "zh": _zh}


def _check(n: int, lang: str) -> None:
    if lang not in _SPELL:
        raise ValueError(f"unknown language {lang!r}")
    if not 1 <= n <= 99:
        raise ValueError(f"numbers are spelled out for 1..99 only, got {n}")


def cardinal(n: int, lang: str) -> str:
    """The counting form: one, un, eins, uno, u, 一; twenty-one, vingt et un, veintiuno, vint-i-u, 二十一."""
    _check(n, lang)
    text = _SPELL[lang](n)
    if lang == "es" and text.endswith("uno"):
        return text
    if lang == "ca" and n % 10 == 1 and n != 11:
        return text[:-2] + "u"  # u, vint-i-u, trenta-u
    return text


def number_words(n: int, lang: str, gender: str = "m") -> str:
    """The number before a noun of grammatical ``gender`` ("m", "f" or, in German, "n")."""
    _check(n, lang)
    text = _SPELL[lang](n)
    if lang == "zh":
        return "两" if n == 2 else text
    if lang == "de":
        return {"m": "ein", "n": "ein", "f": "eine"}[gender] if n == 1 else text
    ends_in_one = text.endswith("un")  # 1, 21, 31, ... but not onze (11, 71, 91)
    if lang == "fr" and ends_in_one and gender == "f":
        return text + "e"  # vingt et une, quatre-vingt-une
    if lang == "es" and text.endswith("uno"):
        if gender == "f":
            return text[:-1] + "a"  # una, veintiuna, treinta y una
        return "veintiún" if n == 21 else text[:-1]  # un, veintiún, treinta y un
    if lang == "ca" and gender == "f":
        if ends_in_one:
            return text + "a"  # una, vint-i-una
        if n % 10 == 2 and n != 12:
            return text[:-3] + "dues"  # dues, vint-i-dues, trenta-dues
    return text

