"""seq_plugins: a fairseq --user-dir for studying how sequence-to-sequence learners generalize.

fairseq auto-imports only the tasks/ and models/ of a user dir, so criterions and modules are imported here, and
checkpoint loading is made safe for torch >= 2.6 before any checkpoint is read, and the per-update reseeding skips
accelerators this process cannot use (seeding.py). The user dir is imported before
fairseq composes its hydra config, so the hydra deprecation warnings that fairseq's own calls and config files cause
(nothing a user can fix) are silenced here, each by its message, and no other warning.
"""
import warnings

import seq_cli

from . import checkpoint_safety, seeding

HYDRA_DEPRECATIONS = (
    r"hydra\.experimental\.(initialize|compose)\(\) is no longer experimental",
    r"\s*The version_base parameter is not specified",
    r"In '[^']*': Usage of deprecated keyword in package header '# @package _group_'",
    r"\s*'[^']*' is validated against ConfigStore schema with the same name",
    r"\s*The strict flag in the compose API is deprecated",
)
for message in HYDRA_DEPRECATIONS:
    warnings.filterwarnings("ignore", message=message, category=UserWarning)

checkpoint_safety.allow_fairseq_checkpoint_globals()
seeding.skip_seeding_unavailable_accelerators()
seq_cli.report_usage_errors_in_one_line()

from . import criterions, models, modules, tasks  # noqa: E402,F401  (registration side effects)
from . import optim  # noqa: E402,F401  (registers fast_adam, shrink_sgd)
