"""Language codes: ours (``en fr de es ca zh``) and Common Voice / CoVoST 2 directory codes (``zh-CN``)."""

from __future__ import annotations

from soups.errors import DataError

COVOST_LANGS = ("en", "fr", "de", "es", "ca")
ALL_LANGS = COVOST_LANGS + ("zh",)
_CV_CODE = {"zh": "zh-CN"}
_FROM_CV = {v: k for k, v in _CV_CODE.items()}
# Languages scored by character error rate instead of word error rate.
CER_LANGS = frozenset({"zh", "ja"})


def cv_code(lang: str) -> str:
    """Our code -> the Common Voice / CoVoST directory and file code (``zh`` -> ``zh-CN``)."""
    return _CV_CODE.get(lang, lang)


def from_cv_code(code: str) -> str:
    """Common Voice code -> ours (``zh-CN`` -> ``zh``)."""
    return _FROM_CV.get(code, code)


def parse_langs(text: str, allowed: tuple[str, ...] = ALL_LANGS, option: str = "--langs") -> list[str]:
    """``"fr,de"`` -> ``["fr", "de"]``, rejecting unknown or repeated codes with a clear message."""
    langs = [from_cv_code(t.strip()) for t in text.split(",") if t.strip()]
    bad = [lang for lang in langs if lang not in allowed]
    if bad or not langs:
        raise DataError(f"{option}: unknown language(s) {bad or text!r}; valid: {','.join(allowed)}")
    if len(set(langs)) != len(langs):
        raise DataError(f"{option}: a language is listed twice in {text!r}")
    return langs
