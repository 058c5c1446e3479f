"""Command-line plumbing shared by every command of the toolkit: bad input ends in one line and exit 2."""
import argparse
import os
import sys


class UsageError(Exception):
    """A problem with the user's input, reported as one line without a traceback."""


class OneLineArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


# every console script of setup.py starts with it (tests/test_entry_points.py checks)
COMMAND_PREFIX = "seq-"


def command_name(module_form):
    """The name usage and error lines show: the console script's (seq-fpa) when run as one, else how the module
    is run (``python -m tools.fpa``)."""
    name = os.path.basename(sys.argv[0])
    return name if name.startswith(COMMAND_PREFIX) else module_form


def run_main(main, prog, argv=None):
    """Run ``main(argv)``; a UsageError becomes one line on stderr and exit status 2."""
    try:
        return main(argv)
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)


def console(main, prog):
    """What a console script of setup.py and ``python -m`` run: ``main`` on the command line with one-line errors;
    the exit status is main's when it returns an int (the sweep's 1 when runs failed), else 0."""
    status = run_main(main, prog)
    sys.exit(status if isinstance(status, int) else 0)


def parse_int_ranges(text, option, minimum=1):
    """'1-5,16-30' -> [1, ..., 5, 16, ..., 30]; empty, inverted or overlapping ranges, and values below
    ``minimum``, are errors."""
    values = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise UsageError(f"{option}: empty range in {text!r}")
        low, sep, high = part.partition("-")
        try:
            low, high = int(low), int(high) if sep else int(low)
        except ValueError:
            raise UsageError(f"{option}: {part!r} is not a range like 6-15") from None
        if low > high:
            raise UsageError(f"{option}: inverted range {part!r}")
        if low < minimum:
            raise UsageError(f"{option}: values must be at least {minimum}, got {part!r}")
        values.extend(range(low, high + 1))
    if len(set(values)) != len(values):
        raise UsageError(f"{option}: overlapping ranges in {text!r}")
    return sorted(values)


def report_usage_errors_in_one_line():
    """Inside stock fairseq commands (fairseq-train ...), a UsageError raised by a plugin component ends the
    process with one line on stderr instead of a traceback; every other exception keeps its traceback."""
    previous = sys.excepthook

    def hook(exc_type, exc, traceback):
        if issubclass(exc_type, UsageError):
            print(f"{os.path.basename(sys.argv[0] or 'python')}: error: {exc}", file=sys.stderr)
        else:
            previous(exc_type, exc, traceback)

    sys.excepthook = hook
