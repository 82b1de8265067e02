"""A handmade Common Voice + CoVoST 2 layout with one example of every trap the reader must handle.

Each *case* is one utterance: its validated.tsv row, its CoVoST row and its clip (any may be absent or
broken). ``build_fixture(root, cases)`` writes any selection of cases, so strict-mode tests can hold exactly
one problem. Audio is synthetic; ``.mp3`` clips are 48 kHz as in the real release (decoding + resampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccent"
COVOST_HEADER = "path\tsentence\ttranslation\tsplit"


@dataclass(frozen=True)
class Case:
    name: str
    cv_row: str | None          # validated.tsv line (None: absent)
    covost_row: str | None      # covost_v2.fr_en.tsv line (None: absent)
    clip: tuple | None          # (file name, seconds, rate) or ("file", b"bytes")
    expect: str                 # "train"/"dev"/"test" when kept, else the skip reason
    located_in: str = "validated.tsv"  # where strict mode must point


def tone(seconds: float, rate: int = 48000, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


FR_CASES = [
    Case("ok1", 'spk1\tok1.mp3\t"Bonjour", dit-il.\t2\t0\tthirties\tmale\t',
         'ok1.mp3\t\\"Bonjour\\", dit-il.\t\\"Hello,\\" he said.\ttrain', ("ok1.mp3", 2.0, 48000), "train"),
    Case("ok2", "spk2\tok2.mp3\tLe chat dort.\t2\t0\t\tfemale_feminine\t",
         "ok2.mp3\tLe chat dort.\tThe cat sleeps.\ttrain", ("ok2.mp3", 1.5, 48000), "train"),
    Case("ok3", "spk1\tok3.mp3\tIl pleut.\t2\t0\t\tmale\t",
         "ok3.mp3\tIl pleut.\tIt is raining.\ttrain_covost", ("ok3.mp3", 1.2, 48000), "train"),
    Case("dev1", "spk3\tdev1.mp3\tLe chien court.\t2\t0\t\t\t",
         "dev1.mp3\tLe chien court.\tThe dog runs.\tdev", ("dev1.mp3", 1.0, 48000), "dev"),
    Case("test1", "spk4\ttest1.mp3\tLa maison est rouge.\t2\t0\t\t\t",
         "test1.mp3\tLa maison est rouge.\tThe house is red.\ttest", ("test1.mp3", 1.0, 48000), "test"),
    Case("missing", "spk4\tmissing.mp3\tIl fait beau.\t2\t0\t\t\t",
         "missing.mp3\tIl fait beau.\tThe weather is nice.\ttrain", None, "missing_clip"),
    Case("corrupt", "spk4\tcorrupt.mp3\tIl fait froid.\t2\t0\t\t\t",
         "corrupt.mp3\tIl fait froid.\tIt is cold.\ttrain", ("corrupt.mp3", b"not audio at all" * 20),
         "unreadable_audio"),
    Case("bad_row", "spk5\tbad_row.mp3\ttoo few fields", None, None, "bad_row"),
    Case("escape", "spk5\t../../escape.mp3\tJe sors.\t2\t0\t\t\t",
         "../../escape.mp3\tJe sors.\tI am going out.\ttrain", None, "path_escape"),
    Case("empty", "spk5\tempty.mp3\t  \t2\t0\t\t\t", "empty.mp3\t \tNothing.\ttrain",
         ("empty.mp3", 1.0, 48000), "empty_transcript"),
    Case("short", "spk5\tshort.mp3\tUne phrase bien trop longue pour ce son.\t2\t0\t\t\t",
         "short.mp3\tUne phrase bien trop longue pour ce son.\tA sentence far too long.\ttrain",
         ("short.mp3", 0.12, 48000), "too_short_for_ctc"),
    Case("cvonly", "spk6\tcvonly.mp3\tPas de traduction.\t2\t0\t\t\t", None, ("cvonly.mp3", 1.0, 48000),
         "no_translation"),
    Case("covostonly", None, "covostonly.mp3\tSans audio.\tWithout audio.\ttrain", None, "no_audio_row",
         "covost_v2.fr_en.tsv"),
    Case("weird", "spk6\tweird.mp3\tBizarre.\t2\t0\t\t\t", "weird.mp3\tBizarre.\tOdd.\tvalidation",
         ("weird.mp3", 1.0, 48000), "unknown_split", "covost_v2.fr_en.tsv"),
]
GOOD = [c for c in FR_CASES if c.expect in ("train", "dev", "test")]


def _write_clip(clips: Path, clip: tuple) -> None:
    clips.mkdir(parents=True, exist_ok=True)
    if isinstance(clip[1], bytes):
        (clips / clip[0]).write_bytes(clip[1])
    else:
        name, seconds, rate = clip
        sf.write(clips / name, tone(seconds, rate), rate, format=Path(name).suffix.lstrip(".").upper())


def line_of(case: Case, cases: list[Case]) -> int:
    """1-based line of the case's row in the file strict mode must name."""
    rows = [c for c in cases if (c.cv_row if case.located_in == "validated.tsv" else c.covost_row) is not None]
    return 2 + rows.index(case)


def build_fixture(root: Path, cases: list[Case] = FR_CASES, with_english: bool = True) -> None:
    cv, cov = root / "cv", root / "covost"
    fr = cv / "fr"
    fr.mkdir(parents=True, exist_ok=True)
    cov.mkdir(parents=True, exist_ok=True)
    for case in cases:
        if case.clip is not None:
            _write_clip(fr / "clips", case.clip)
    _write_clip(root, ("escape.mp3", 1.0, 48000))  # exists, but outside the clips directory
    (fr / "validated.tsv").write_text("\n".join([CV_HEADER] + [c.cv_row for c in cases if c.cv_row]) + "\n")
    (cov / "covost_v2.fr_en.tsv").write_text(
        "\n".join([COVOST_HEADER] + [c.covost_row for c in cases if c.covost_row]) + "\n")
    if with_english:  # English: ASR only, split from an en_xx TSV
        en = cv / "en"
        _write_clip(en / "clips", ("en1.wav", 1.5, 16000))
        _write_clip(en / "clips", ("en2.wav", 1.5, 16000))
        (en / "validated.tsv").write_text(CV_HEADER + "\ne1\ten1.wav\tHello there.\t2\t0\t\tmale\t\n"
                                          "e2\ten2.wav\tGood morning.\t2\t0\t\tfemale\t\n")
        (cov / "covost_v2.en_de.tsv").write_text(COVOST_HEADER + "\nen1.wav\tHello there.\tHallo.\ttrain\n"
                                                 "en2.wav\tGood morning.\tGuten Morgen.\ttest\n")
