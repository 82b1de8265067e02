"""``soups prepare synthetic|covost2|librispeech|aishell|audio-dir …``: corpora on disk -> lhotse manifests
(a prepared data directory).

Examples::

    soups prepare synthetic --out data/synthetic-tiny --size tiny --seed 0
    soups prepare covost2 --cv-root cv-corpus-4 --covost-dir covost_tsv --langs fr,de,es,ca,en --out data/covost2
    soups prepare librispeech --root LibriSpeech --out data/librispeech \
        --parts train-clean-100,dev-clean,dev-other,test-clean,test-other --unlabeled train-clean-360,train-other-500
    soups prepare aishell --root /corpora/aishell --out data/aishell
    soups prepare audio-dir --root my_recordings --lang en --out data/my-ssl --split train
"""

from __future__ import annotations

import json

from soups.data.languages import ALL_LANGS, COVOST_LANGS, parse_langs


def _add_common(p) -> None:
    p.add_argument("--out", required=True, help="prepared data directory to write")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first bad item with its file and line (default: skip, count and report)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def register(sub) -> None:
    p = sub.add_parser("prepare", help="prepare a corpus into lhotse manifests")
    psub = p.add_subparsers(dest="corpus", metavar="CORPUS", required=True)

    syn = psub.add_parser("synthetic", help="synthesize the built-in multilingual corpus (espeak-ng) and prepare it")
    _add_common(syn)
    syn.add_argument("--size", choices=["tiny", "demo", "small", "medium"], default="tiny")
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--langs", default=",".join(ALL_LANGS), help="comma-separated (default: all six)")
    syn.add_argument("--workers", type=int, default=2, help="synthesis processes")
    syn.add_argument("--audio-format", choices=["flac", "mp3"], default="flac",
                     help="flac (default, fast) or mp3 (like the Common Voice release, ~3x slower to write)")
    syn.add_argument("--noisy-share", type=float, default=0.3, help="share of utterances with added noise")
    syn.add_argument("--snr", default="5,25", help="SNR range in dB of the noisy utterances (LOW,HIGH)")
    syn.add_argument("--lexicon-fraction", type=float, default=None,
                     help="use only the most common share of each word category (default: the size's own: 0.05 "
                          "for demo, the dense corpus; 1.0 otherwise)")
    syn.set_defaults(func=run_synthetic)

    cov = psub.add_parser("covost2", help="read Common Voice clips + CoVoST 2 TSVs")
    _add_common(cov)
    cov.add_argument("--cv-root", required=True, help="Common Voice root with <lang>/validated.tsv and <lang>/clips/")
    cov.add_argument("--covost-dir", required=True, help="folder with covost_v2.<src>_<tgt>.tsv files")
    cov.add_argument("--langs", default=",".join(COVOST_LANGS), help="comma-separated (default: fr,de,es,ca,en)")
    cov.add_argument("--threads", type=int, default=4, help="threads probing audio files")
    cov.set_defaults(func=run_covost2)
    _register_more(psub)


LIBRISPEECH_PARTS = "train-clean-100,dev-clean,dev-other,test-clean,test-other"


def _register_more(psub) -> None:
    libri = psub.add_parser("librispeech", help="read LibriSpeech parts (flac + trans.txt, SPEAKERS.TXT genders)")
    _add_common(libri)
    libri.add_argument("--root", required=True, help="the LibriSpeech folder (holds SPEAKERS.TXT and the parts)")
    libri.add_argument("--parts", default=LIBRISPEECH_PARTS,
                       help=f"comma-separated labeled parts; each becomes a split (default: {LIBRISPEECH_PARTS})")
    libri.add_argument("--unlabeled", default="",
                       help="comma-separated parts read as audio only, for the SSL objective "
                            "(the paper's 860 h: train-clean-360,train-other-500)")
    libri.add_argument("--threads", type=int, default=4, help="threads probing audio files")
    libri.set_defaults(func=run_librispeech)

    ais = psub.add_parser("aishell", help="read AISHELL-1 (per-speaker .tar.gz extracted safely, transcript v0.8)")
    _add_common(ais)
    ais.add_argument("--root", required=True, help="the folder holding data_aishell/ (or data_aishell itself)")
    ais.add_argument("--threads", type=int, default=4, help="threads probing audio files")
    ais.set_defaults(func=run_aishell)

    adir = psub.add_parser("audio-dir", help="any folder of wav/flac/mp3 -> an unlabeled (SSL-only) stream")
    _add_common(adir)
    adir.add_argument("--root", required=True, help="folder searched recursively for .wav/.flac/.mp3")
    adir.add_argument("--lang", required=True, help="language code of the audio (e.g. en, zh)")
    adir.add_argument("--split", default="train", help="split name of the manifest (default: train)")
    adir.add_argument("--threads", type=int, default=4, help="threads probing audio files")
    adir.set_defaults(func=run_audio_dir)


def _print_report(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=1, ensure_ascii=False))
        return
    for lang, splits in sorted(report["utterances"].items()):
        print(f"{lang}: " + ", ".join(f"{s}={n}" for s, n in sorted(splits.items())))
    print(report["summary"])
    for reason, examples in report["skipped"]["examples"].items():
        for ex in examples:
            print(f"  {reason}: {ex}")


def run_synthetic(args) -> int:
    from soups.data.prepare import prepare_synthetic

    from soups.data.synthetic.corpus import Conditions
    from soups.errors import SoupsError

    from soups.data.synthetic.corpus import corpus_size

    langs = parse_langs(args.langs)
    corpus_size(args.size, tuple(langs))
    try:
        low, high = (float(x) for x in args.snr.split(","))
        conditions = Conditions(args.noisy_share, (low, high), args.lexicon_fraction)
    except ValueError as err:
        raise SoupsError(f"--noisy-share/--snr/--lexicon-fraction: {err}") from None
    report = prepare_synthetic(args.out, args.size, args.seed, tuple(langs), args.workers, args.audio_format,
                               args.strict, conditions=conditions)
    _print_report(report, args.json)
    if not args.json:
        print(f"corpus: {report['corpus']['utterances']} utterances ({report['corpus']['synthesized_now']} "
              f"synthesized now, {report['corpus']['reused']} reused) in {report['synthesis_s']} s; "
              f"manifests in {args.out}")
    return 0


def run_covost2(args) -> int:
    from soups.data.prepare import prepare_covost2

    langs = parse_langs(args.langs)
    report = prepare_covost2(args.cv_root, args.covost_dir, langs, args.out, args.strict, args.threads)
    _print_report(report, args.json)
    return 0


def _parts(text: str) -> list[str]:
    return [p.strip() for p in text.split(",") if p.strip()]


def run_librispeech(args) -> int:
    from soups.data.prepare import prepare_librispeech

    report = prepare_librispeech(args.root, _parts(args.parts), args.out, _parts(args.unlabeled), args.strict,
                                 args.threads)
    _print_report(report, args.json)
    if not args.json:
        for warning in report["warnings"]:
            print(f"warning: {warning}")
        if report["unlabeled"]:
            print(f"unlabeled (SSL-only, no text): {','.join(report['unlabeled'])}")
        print(f"utterances without gender: {report['items_without_gender']}; manifests in {args.out}")
    return 0


def run_aishell(args) -> int:
    from soups.data.prepare import prepare_aishell

    report = prepare_aishell(args.root, args.out, args.strict, args.threads)
    _print_report(report, args.json)
    if not args.json:
        a = report["archives"]
        print(f"wavs without transcript: {report['wavs_without_transcript']}; "
              f"transcripts without wav: {report['transcripts_without_wav']}")
        print(f"archives: {a['total']} ({a['extracted_now']} extracted now, {a['reused']} already extracted, "
              f"{a['corrupt']} corrupt); manifests in {args.out}")
    return 0


def run_audio_dir(args) -> int:
    from soups.data.prepare import prepare_audio_dir

    report = prepare_audio_dir(args.root, args.lang, args.out, args.split, args.strict, args.threads)
    _print_report(report, args.json)
    if not args.json:
        print(f"unlabeled (SSL-only, no text); manifests in {args.out}")
    return 0
