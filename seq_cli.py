"""Command-line plumbing shared by every command of the toolkit: bad input ends in one line and exit 2.

A top-level module, not part of seq_plugins: importing anything inside seq_plugins runs its __init__, which registers
the plugin with fairseq (seconds of torch and fairseq imports), and commands check their arguments before that. It
imports nothing outside the standard library (tests/test_fast_errors.py checks).
"""
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
    """Run ``main(argv)``; a UsageError, or an OSError of a file (an output directory that cannot be made, a full
    disk), becomes one line on stderr naming it, and exit status 2."""
    try:
        return main(argv)
    except UsageError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:
        if err.filename is None:
            raise
        print(f"{prog}: error: {err.filename}: {err.strerror}", file=sys.stderr)
        sys.exit(2)


def console(main, prog):
    """What a console script of setup.py and ``python -m`` run: ``main`` on the command line with one-line errors;
    the exit status is main's when it returns an int (the sweep's 1 when runs failed), else 0."""
    status = run_main(main, prog)
    sys.exit(status if isinstance(status, int) else 0)


def file_problem(path):
    """Why ``path`` is not a file to read (it does not exist, is empty or unreadable), or None."""
    if not os.path.isfile(path):
        return "does not exist"
    try:
        with open(path, "rb") as f:
            if not f.read(1):
                return "empty file"
    except OSError as err:  # e.g. not readable by us
        return err.strerror
    return None


def check_input_file(path, what):
    """A UsageError "<what> <path>: <problem>" when file_problem finds one: commands check the files that their
    arguments name before they load torch or fairseq."""
    problem = file_problem(path)
    if problem:
        raise UsageError(f"{what} {path}: {problem}")


# A list of n ints takes 40 bytes a value (8 for the pointer, 32 for the int): `/usr/bin/time -f %M` of
# `values.extend(range(1, 10**7 + 1))` took 392 MiB more than of one value.
BYTES_PER_RANGE_VALUE = 40


def memory_bound():
    """What a command may build in memory from its arguments: a quarter of this machine's memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4


def parse_int_ranges(text, option, minimum=1):
    """'1-5,16-30' -> [1, ..., 5, 16, ..., 30]; empty, inverted or overlapping ranges, values below ``minimum``, and
    more values than memory_bound() holds are errors, found before the list is built."""
    ranges = []
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
        ranges.append((low, high))
    ranges.sort()
    if any(low <= previous_high for (_, previous_high), (low, _) in zip(ranges, ranges[1:])):
        raise UsageError(f"{option}: overlapping ranges in {text!r}")
    count, most = sum(high - low + 1 for low, high in ranges), memory_bound() // BYTES_PER_RANGE_VALUE
    if count > most:
        raise UsageError(f"{option}: {text!r} names {count:,} values, above the bound of {most:,} (what a quarter "
                         "of this machine's memory holds)")
    values = []
    for low, high in ranges:
        values.extend(range(low, high + 1))
    return values


# fairseq-train's assertion when neither is given (fairseq_cli/train.py), checked before any task is set up
FAIRSEQ_NO_BATCH_SIZE = "Must specify batch size either with --max-tokens or --batch-size"


def report_usage_errors_in_one_line():
    """Inside stock fairseq commands (fairseq-train ...), a UsageError raised by a plugin component, and fairseq's
    own assertion that no batch size was given, end the process with one line on stderr instead of a traceback;
    every other exception keeps its traceback."""
    previous = sys.excepthook

    def hook(exc_type, exc, traceback):
        prog = os.path.basename(sys.argv[0] or "python")
        if issubclass(exc_type, UsageError):
            print(f"{prog}: error: {exc}", file=sys.stderr)
        elif issubclass(exc_type, AssertionError) and str(exc) == FAIRSEQ_NO_BATCH_SIZE:
            print(f"{prog}: error: no batch size: give --batch-size N (sequences, or episodes for "
                  "meta_seq2seq_episodes, per batch) or --max-tokens N", file=sys.stderr)
        else:
            previous(exc_type, exc, traceback)

    sys.excepthook = hook


# One small training runs fastest on one thread on this project's 2-core CPU: a second thread cost it several times
# its speed (docs/benchmarks.md, "Threads of one training").
ONE_RUN_THREADS = 1


def add_threads_option(parser, default, *aliases):
    """--threads N: the intra-op CPU threads of each training (OMP_NUM_THREADS, torch.set_num_threads)."""
    parser.add_argument("--threads", *aliases, dest="threads", type=int, default=None, metavar="N",
                        help=f"CPU threads of each training (default: {default})")


def cpu_cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def choose_threads(requested, workers=None):
    """(threads of each training, where that number came from): --threads when given, else the cores divided among
    ``workers`` trainings at once, else (one training at a time) ONE_RUN_THREADS."""
    if requested is not None:
        if requested < 1:
            raise UsageError(f"--threads must be at least 1, got {requested}")
        return requested, "--threads"
    if workers is None:
        return ONE_RUN_THREADS, "the fastest for one small training here, docs/benchmarks.md; --threads to change"
    cores = cpu_cores()
    return max(1, cores // workers), f"{cores} cores / {plural(workers, 'worker')}; --threads to change"


def plural(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def threads_phrase(threads, why):
    """'1 thread per run (why)': part of the first line of every command that starts trainings."""
    return f"{plural(threads, 'thread')} per run ({why})"
