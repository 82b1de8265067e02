"""``soups prepare …``: build lhotse manifests from corpora on disk (placeholder until the readers land)."""


def register(sub):
    p = sub.add_parser("prepare", help="prepare a corpus into lhotse manifests")
    p.set_defaults(func=lambda args: 0)
