from .additive_attention import AdditiveAttention
from .riglstm_cell import RigLSTMCell
from .rim_cell import RIMCell

__all__ = ["AdditiveAttention", "RigLSTMCell", "RIMCell"]
