"""Progress of long steps (decoding, data generation): a tqdm bar with rate and ETA when stderr is a terminal,
otherwise one plain line on stderr every SEQ_PROGRESS_SECONDS (default 30) seconds, which logs keep readable.

    with Progress(total=len(dataset), desc="decoding test", unit="strings") as progress:
        for batch in batches:
            ...
            progress.update(len(batch))
"""
import os
import shutil
import sys
import time

from seq_cli import UsageError

INTERVAL_VARIABLE = "SEQ_PROGRESS_SECONDS"


def duration(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class Progress:
    def __init__(self, total, desc, unit="it"):
        self.total, self.desc, self.unit, self.done = total, desc, unit, 0
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm  # here, not at import: tools whose argument errors must be fast import this module

            # shutil's size falls back to 80 x 24 where a terminal reports 0 x 0, in which tqdm draws nothing
            columns, lines = shutil.get_terminal_size()
            self.bar = tqdm(total=total, desc=desc, unit=f" {unit}", file=sys.stderr, ncols=columns, nrows=lines)
        try:
            self.interval = float(os.environ.get(INTERVAL_VARIABLE, 30))
        except ValueError:
            raise UsageError(f"{INTERVAL_VARIABLE}={os.environ[INTERVAL_VARIABLE]}: not a number of seconds") from None
        self.start = self.last = time.monotonic()

    def update(self, n=1):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            rate = self.done / max(now - self.start, 1e-9)
            eta = duration((self.total - self.done) / rate) if rate else "?"
            print(f"{self.desc}: {self.done}/{self.total} {self.unit} ({100 * self.done / max(self.total, 1):.0f}%), "
                  f"{rate:.1f} {self.unit}/s, elapsed {duration(now - self.start)}, ETA {eta}",
                  file=sys.stderr, flush=True)

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        if self.bar is not None:
            self.bar.close()
