from . import transduction  # noqa: F401  (registers the task)
from . import prequential  # noqa: F401  (registers prequential_translation)
from . import sequence_lookup  # noqa: F401  (registers sequence_lookup)
from . import meta_seq2seq_episodes  # noqa: F401  (registers meta_seq2seq_episodes)
