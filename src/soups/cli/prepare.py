"""``soups prepare synthetic|covost2 …``: corpora on disk -> lhotse manifests (a prepared data directory).

Examples::

    soups prepare synthetic --out data/synthetic-tiny --size tiny --seed 0
    soups prepare covost2 --cv-root cv-corpus-4 --covost-dir covost_tsv --langs fr,de,es,ca,en --out data/covost2
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
    syn.add_argument("--size", choices=["tiny", "small", "medium"], default="tiny")
    syn.add_argument("--seed", type=int, default=0)
    syn.add_argument("--langs", default=",".join(ALL_LANGS), help="comma-separated (default: all six)")
    syn.add_argument("--workers", type=int, default=2, help="synthesis processes")
    syn.add_argument("--audio-format", choices=["mp3", "flac"], default="mp3")
    syn.set_defaults(func=run_synthetic)

    cov = psub.add_parser("covost2", help="read Common Voice clips + CoVoST 2 TSVs")
    _add_common(cov)
    cov.add_argument("--cv-root", required=True, help="Common Voice root with <lang>/validated.tsv and <lang>/clips/")
    cov.add_argument("--covost-dir", required=True, help="folder with covost_v2.<src>_<tgt>.tsv files")
    cov.add_argument("--langs", default=",".join(COVOST_LANGS), help="comma-separated (default: fr,de,es,ca,en)")
    cov.add_argument("--threads", type=int, default=4, help="threads probing audio files")
    cov.set_defaults(func=run_covost2)


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

    langs = parse_langs(args.langs)
    report = prepare_synthetic(args.out, args.size, args.seed, tuple(langs), args.workers, args.audio_format,
                               args.strict)
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
