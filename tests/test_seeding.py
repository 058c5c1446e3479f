"""The per-update reseeding skips accelerators this process cannot use, and seeds the CPU as torch does."""
import torch

import seq_plugins  # noqa: F401  (as fairseq's --user-dir imports it)


def test_reseeding_queues_nothing_for_unavailable_accelerators():
    for backend in (torch.cuda, torch.xpu, torch.mtia):
        assert (backend.manual_seed_all.__module__ == "seq_plugins.seeding") != backend.is_available()
    if not torch.cuda.is_available():
        tracker = torch.cuda._lazy_seed_tracker
        queued = tracker.manual_seed_all_cb, list(tracker.call_order)
        torch.manual_seed(7)
        assert (tracker.manual_seed_all_cb, tracker.call_order) == queued


def test_cpu_stream_is_torchs():
    torch.manual_seed(11)
    ours = torch.rand(5), torch.nn.functional.dropout(torch.ones(8), 0.5)
    torch.default_generator.manual_seed(11)
    assert torch.equal(ours[0], torch.rand(5))
    assert torch.equal(ours[1], torch.nn.functional.dropout(torch.ones(8), 0.5))
