"""Run an original implementation and ours on the same data and seeds; print their curves and final metrics side
by side and write them as JSON.

    python -m tools.compare_original meta_seq2seq --original ~/src/meta_seq2seq --seeds 1-5 --out runs/compare/me
    python -m tools.compare_original lookup25 --original ~/src/hinton-problems --seeds 0-4 --out runs/compare/lookup

The families and the repositories they take (a checkout of the named commit; ``--allow-other-commit`` runs
another): meta_seq2seq (facebookresearch/meta_seq2seq), find (facebookresearch/FIND), transductions
(jaaack-wang/rnn-seq2seq-learning), lookup25 (yaroslavvb/hinton-problems). ``python -m tools.compare_original
FAMILY --help`` lists a family's options. What each comparison measured: docs/originals.md.
"""
import argparse

from seq_cli import OneLineArgumentParser, command_name, console
from tools import originals

PROG = command_name("python -m tools.compare_original")


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    families = parser.add_subparsers(dest="family", required=True, parser_class=OneLineArgumentParser)
    for name in originals.FAMILIES:
        module = originals.family(name)
        sub = families.add_parser(name, help=module.__doc__.splitlines()[0],
                                  description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--original", required=True, metavar="PATH",
                         help=f"a checkout of {module.REPOSITORY} (commit {module.COMMIT[:7]})")
        sub.add_argument("--allow-other-commit", action="store_true",
                         help="run a checkout whose files differ from the expected commit")
        sub.add_argument("--out", required=True, metavar="DIR", help="where both sides' runs and compare.json go")
        module.add_arguments(sub)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    module = originals.family(args.family)
    checkout = originals.verify_checkout(module, args.original, args.allow_other_commit)
    module.run(args, checkout)


def cli():
    """The seq-compare-original command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
