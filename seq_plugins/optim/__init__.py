from . import fast_adam, shrink_sgd  # noqa: F401  (register fast_adam, shrink_sgd)
