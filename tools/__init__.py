"""Command-line tools of the toolkit (runs, evaluation, tables, sweeps)."""
import logging

# fairseq leaves the root logger at DEBUG; matplotlib would log its start-up chatter through it
logging.getLogger("matplotlib").setLevel(logging.WARNING)
