from . import cross_entropy_accuracy  # noqa: F401  (registers cross_entropy_acc)
from . import prequential_mdl  # noqa: F401  (registers prequential_mdl)
from . import lookup_squared_error  # noqa: F401  (registers lookup_squared_error)
from . import label_cross_entropy  # noqa: F401  (registers label_cross_entropy)
