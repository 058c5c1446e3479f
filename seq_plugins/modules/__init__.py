from .additive_attention import AdditiveAttention

__all__ = ["AdditiveAttention"]
