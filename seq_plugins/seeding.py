"""Reseeding torch without queuing seedings for accelerators this process cannot use.

fairseq's trainer reseeds torch before every update (``Trainer._set_seed``). ``torch.manual_seed`` seeds the CPU
generator and, for each accelerator backend (CUDA, XPU, MTIA) not initialized yet, queues a lazy seeding together
with a formatted Python stack trace: 0.5–1 ms per update, up to a fifth of the Transformer learner's update on a CPU
(``benchmarks/profile_update.py``). A backend that is not available can never be initialized in this process, so
its queued seedings would never run; for such a backend the queuing is skipped. Available backends keep torch's own
function, and the CPU generator is seeded as before.
"""
import torch


def _skip_unavailable(seed):
    pass


def skip_seeding_unavailable_accelerators():
    for backend in (torch.cuda, torch.xpu, torch.mtia):
        if not backend.is_available():
            backend.manual_seed_all = _skip_unavailable
