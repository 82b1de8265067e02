"""Text normalisation for ASR targets and scoring.

ASR is trained and scored on normalised transcripts, as CoVoST 2 reports WER: Unicode NFKC, lower case,
punctuation removed (apostrophes and hyphens inside words are kept: ``l'homme``, ``quatre-vingt-dix``),
whitespace collapsed. Chinese is scored by characters: punctuation and spaces removed. Translation targets
keep case and punctuation (BLEU is computed on detokenised text, as sacrebleu expects).

>>> normalize_asr('« Bonjour », dit-il : l\\'homme arrive !', "fr")
"bonjour dit-il l'homme arrive"
>>> normalize_asr("今天，狗在公园里。", "zh")
'今天狗在公园里'
"""

from __future__ import annotations

import re
import unicodedata

from soups.data.languages import CER_LANGS

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "`": "'"})


def _strip_punct(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if unicodedata.category(ch)[0] in "LNM" or ch.isspace():
            out.append(ch)
        elif ch in "'-" and 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum():
            out.append(ch)  # word-internal apostrophe or hyphen
        else:
            out.append(" ")
    return "".join(out)


def normalize_asr(text: str, lang: str) -> str:
    """The ASR target / scoring form of a transcript."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).lower()
    text = _strip_punct(text)
    if lang in CER_LANGS:
        return re.sub(r"\s+", "", text)
    return re.sub(r"\s+", " ", text).strip()


def min_target_units(text: str, lang: str) -> int:
    """A lower bound on the number of ASR target tokens: characters for CER languages, words otherwise
    (SentencePiece pieces never span a space, so every word is at least one piece)."""
    norm = normalize_asr(text, lang)
    return len(norm) if lang in CER_LANGS else len(norm.split())
