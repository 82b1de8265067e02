"""``soups data …``: build lhotse manifests from corpora on disk (placeholder until the readers land)."""


def register(sub):
    p = sub.add_parser("data", help="prepare a corpus into lhotse manifests")
    p.set_defaults(func=lambda args: 0)
