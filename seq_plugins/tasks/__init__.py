from . import transduction  # noqa: F401  (registers the task)
