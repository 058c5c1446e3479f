"""seq_plugins: a fairseq --user-dir for studying how sequence-to-sequence learners generalize.

fairseq auto-imports only the tasks/ and models/ of a user dir, so criterions and modules are imported here, and
checkpoint loading is made safe for torch >= 2.6 before any checkpoint is read.
"""
from . import checkpoint_safety, cli

checkpoint_safety.allow_fairseq_checkpoint_globals()
cli.report_usage_errors_in_one_line()

from . import criterions, models, modules, tasks  # noqa: E402,F401  (registration side effects)
from . import optim  # noqa: E402,F401  (registers shrink_sgd)
