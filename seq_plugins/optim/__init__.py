from . import shrink_sgd  # noqa: F401  (registers shrink_sgd)
