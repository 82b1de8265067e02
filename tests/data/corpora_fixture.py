"""Handmade LibriSpeech and AISHELL-1 trees in their exact release layouts, with selectable traps.

Audio is synthesized once per process by the built-in espeak-ng synthesizer (one English and one Mandarin
clip) and written to every file that needs it. ``build_librispeech(root, traps)`` and ``build_aishell(root,
traps)`` write a clean corpus plus the named traps, so that strict-mode tests can hold exactly one problem.
"""

from __future__ import annotations

import functools
import io
import tarfile
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000


@functools.lru_cache(maxsize=None)
def speech(lang: str) -> np.ndarray:
    """About 1.5 s of synthetic speech (English words or Mandarin pinyin)."""
    from soups.data.synthetic.tts import Espeak, Voice

    text = "hello world this is a test" if lang == "en" else "ni3 hao3 shi4 jie4 jin1 tian1"
    return Espeak().synthesize(text, Voice(lang, "m1", 160, 50))


def write_audio(path: Path, lang: str = "en", seconds: float | None = None, rate: int = RATE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = speech(lang) if seconds is None else speech(lang)[: int(seconds * RATE)]
    if rate != RATE:
        audio = audio[:: RATE // rate]
    sf.write(path, audio, rate, format=path.suffix.lstrip(".").upper())


# ---- LibriSpeech ------------------------------------------------------------------------------------------

SPEAKERS_TXT = """\
; Some comment lines, as in the release
;ID  |SEX| SUBSET           |MINUTES| NAME
19   | F | train-clean-100  | 25.19 | Kara Shallenberg
26   | M | train-clean-100  | 25.08 | Denny Sayers
60   | M | train-clean-100  | 20.18 | |CBW|Simon
"""
LIBRI_TRAPS = ("no_transcript", "no_audio", "duplicate", "bad_utf8", "empty", "corrupt", "short",
               "missing_part", "speakers_bad")
# where strict mode must point for each trap: (file name ending, line or None)
LIBRI_LOCATION = {
    "no_transcript": ("19-198-0002.flac", None), "no_audio": ("19-198.trans.txt", 3),
    "duplicate": ("19-198.trans.txt", 4), "bad_utf8": ("19-198.trans.txt", 5), "empty": ("19-198.trans.txt", 6),
    "corrupt": ("26-495.trans.txt", 2), "short": ("26-495.trans.txt", 3), "missing_part": ("test-clean", None),
    "speakers_bad": ("SPEAKERS.TXT", 6),
}


def build_librispeech(root: Path, traps: tuple[str, ...] = LIBRI_TRAPS) -> Path:
    """``root/LibriSpeech`` with train-clean-100 (19/198, 26/495), dev-clean (19/200), test-clean (unless
    ``missing_part``) and train-clean-360 (26/496, for --unlabeled). Returns the LibriSpeech folder."""
    ls = root / "LibriSpeech"
    ls.mkdir(parents=True, exist_ok=True)
    speakers = SPEAKERS_TXT.encode()
    if "speakers_bad" in traps:
        speakers += b"999  | X | train-clean-100  | 1.00 | Nobody\n" + b"998  | F | dev | 1 | Caf\xe9 latin-1\n"
    (ls / "SPEAKERS.TXT").write_bytes(speakers)
    ch = ls / "train-clean-100" / "19" / "198"
    lines = [b"19-198-0000 HELLO WORLD", b"19-198-0001 THIS IS A TEST"]
    write_audio(ch / "19-198-0000.flac")
    write_audio(ch / "19-198-0001.flac")
    if "no_transcript" in traps:
        write_audio(ch / "19-198-0002.flac")
    lines.append(b"19-198-0003 NO AUDIO FOR THIS LINE" if "no_audio" in traps else b"")
    lines.append(b"19-198-0000 HELLO AGAIN" if "duplicate" in traps else b"")
    lines.append(b"19-198-0005 CAF\xc9 IN LATIN ONE" if "bad_utf8" in traps else b"")
    if "empty" in traps:
        write_audio(ch / "19-198-0006.flac")
        lines.append(b"19-198-0006   ")
    (ch / "19-198.trans.txt").write_bytes(b"\n".join(lines) + b"\n")
    ch = ls / "train-clean-100" / "26" / "495"
    write_audio(ch / "26-495-0000.flac")
    lines = [b"26-495-0000 HELLO WORLD"]
    if "corrupt" in traps:
        (ch / "26-495-0001.flac").write_bytes(b"fLaC but not really" * 10)
    lines.append(b"26-495-0001 A BROKEN FILE" if "corrupt" in traps else b"")
    if "short" in traps:
        write_audio(ch / "26-495-0002.flac", seconds=0.1)
        lines.append(b"26-495-0002 FAR TOO MANY WORDS FOR A TENTH OF A SECOND OF AUDIO")
    (ch / "26-495.trans.txt").write_bytes(b"\n".join(lines) + b"\n")
    write_audio(ls / "dev-clean" / "19" / "200" / "19-200-0000.flac")
    (ls / "dev-clean" / "19" / "200" / "19-200.trans.txt").write_text("19-200-0000 HELLO WORLD\n")
    if "missing_part" not in traps:
        write_audio(ls / "test-clean" / "60" / "300" / "60-300-0000.flac")
        (ls / "test-clean" / "60" / "300" / "60-300.trans.txt").write_text("60-300-0000 HELLO WORLD\n")
    un = ls / "train-clean-360" / "26" / "496"
    write_audio(un / "26-496-0000.flac")
    write_audio(un / "26-496-0001.flac")
    (un / "26-496.trans.txt").write_text("26-496-0000 IGNORED\n")  # transcripts of unlabeled parts are not read
    return ls


# ---- AISHELL-1 --------------------------------------------------------------------------------------------

AISHELL_TRAPS = ("no_transcript", "no_audio", "duplicate", "bad_utf8", "empty", "corrupt_tar", "evil_tar")
AISHELL_LOCATION = {
    "no_transcript": ("BAC009S0002W0124.wav", None), "no_audio": ("aishell_transcript_v0.8.txt", 5),
    "duplicate": ("aishell_transcript_v0.8.txt", 6), "bad_utf8": ("aishell_transcript_v0.8.txt", 7),
    "empty": ("aishell_transcript_v0.8.txt", 8), "corrupt_tar": ("S0900.tar.gz", None),
    "evil_tar": ("S0666.tar.gz", None),
}


def wav_bytes(lang: str = "zh") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, speech(lang), RATE, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def make_tar(path: Path, members: list[tuple]) -> None:
    """``members``: ``(name, bytes)`` regular files, ``(name, "sym"|"lnk", target)`` links,
    ``(name, "fifo")`` special files, ``(name, "dir")`` directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            info = tarfile.TarInfo(m[0])
            if isinstance(m[1], bytes):
                info.size = len(m[1])
                tar.addfile(info, io.BytesIO(m[1]))
                continue
            info.type = {"sym": tarfile.SYMTYPE, "lnk": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE,
                         "dir": tarfile.DIRTYPE}[m[1]]
            if len(m) > 2:
                info.linkname = m[2]
            tar.addfile(info)


def build_aishell(root: Path, traps: tuple[str, ...] = AISHELL_TRAPS) -> Path:
    """``root/data_aishell``: S0002 (train) and S0724 (dev) as archives, S0764 (test) already extracted;
    traps add a wav without transcript, a line without wav, a duplicate / non-UTF-8 / empty line, a corrupt
    archive (S0900) and a malicious one (S0666, with one legitimate wav). Returns ``root``."""
    base = root / "data_aishell"
    wav = wav_bytes()
    s0002 = [("train", "dir"), ("train/S0002", "dir"), ("train/S0002/BAC009S0002W0122.wav", wav),
             ("train/S0002/BAC009S0002W0123.wav", wav)]
    if "no_transcript" in traps:
        s0002.append(("train/S0002/BAC009S0002W0124.wav", wav))
    if "empty" in traps:
        s0002.append(("train/S0002/BAC009S0002W0125.wav", wav))
    make_tar(base / "wav" / "S0002.tar.gz", s0002)
    make_tar(base / "wav" / "S0724.tar.gz", [("./dev/S0724/BAC009S0724W0121.wav", wav)])
    (base / "wav" / "test" / "S0764").mkdir(parents=True)
    (base / "wav" / "test" / "S0764" / "BAC009S0764W0121.wav").write_bytes(wav)
    lines = ["BAC009S0002W0122 而 对 楼市 成交", "BAC009S0002W0123 一 家  公司", "BAC009S0724W0121 今天 天气",
             "BAC009S0764W0121 你好 世界"]
    lines.append("BAC009S0002W0999 没有 音频" if "no_audio" in traps else "")
    lines.append("BAC009S0002W0122 重复" if "duplicate" in traps else "")
    data = [ln.encode() for ln in lines] + [b"BAC009S0002W0126 \xb6\xd4" if "bad_utf8" in traps else b""]
    data.append(b"BAC009S0002W0125" if "empty" in traps else b"")
    if "evil_tar" in traps:
        make_tar(base / "wav" / "S0666.tar.gz", [
            ("../evil.wav", wav), ("/tmp/soups_abs_evil.wav", wav), ("train/S0666/../../../up.wav", wav),
            ("train/S0666/link.wav", "sym", "/etc/passwd"), ("train/S0666/hard.wav", "lnk", "../outside.wav"),
            ("train/S0666/BAC009S0666W0001.wav", wav)])
        data.append("BAC009S0666W0001 安全 的 文件".encode())
    if "corrupt_tar" in traps:
        good = base / "wav" / "S0900.tmp.tar.gz"
        make_tar(good, [("train/S0900/BAC009S0900W0001.wav", wav)])
        (base / "wav" / "S0900.tar.gz").write_bytes(good.read_bytes()[:-200])  # truncated gzip
        good.unlink()
        data.append("BAC009S0900W0001 坏 的 包".encode())  # its wav is never extracted: no_audio
    (base / "transcript").mkdir(parents=True)
    (base / "transcript" / "aishell_transcript_v0.8.txt").write_bytes(b"\n".join(data) + b"\n")
    return root
