"""Milliseconds per optimizer step of stock ``--optimizer adam`` (fairseq's Python Adam) and ``--optimizer fast_adam``
(seq_plugins' fused one) on the parameters of each FIND learner (its ``_small`` grid), alternately in one process.

    python benchmarks/adam_speed.py [--steps 30] [--threads 1]

Each step is what fairseq-train's ``optimizer.step()`` does once per update; the saving per update is the
difference, whatever the rest of the update costs. Alternating the two in one process makes whatever else runs
on the machine slow both alike.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

from benchmarks.ensemble_speed import LEARNERS, ROOT, grid_flags  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import logging

    import torch
    from fairseq import optim, options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    from preprocess.binarize import binarize

    logging.disable(logging.INFO)
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        binarize({"train": (["a " * 19 + "a"], ["b " * 39 + "b"])}, tmp)
        for learner in LEARNERS:
            def build(name):
                parsed = options.parse_args_and_arch(options.get_training_parser(), [
                    tmp, "--user-dir", os.path.join(ROOT, "seq_plugins"), *grid_flags(learner, optimizer=name)])
                cfg = convert_namespace_to_omegaconf(parsed)
                torch.manual_seed(0)
                params = list(tasks.setup_task(cfg.task).build_model(cfg.model).parameters())
                for p in params:
                    p.grad = torch.randn_like(p)
                return optim.build_optimizer(cfg.optimizer, params), sum(p.numel() for p in params)

            optimizers = {name: build(name) for name in ("adam", "fast_adam")}
            times = {name: [] for name in optimizers}
            for step in range(args.steps + 3):  # the first three are warm-up
                for name, (optimizer, _) in optimizers.items():
                    began = time.perf_counter()
                    optimizer.step()
                    if step >= 3:
                        times[name].append(time.perf_counter() - began)
            stock, fused = (statistics.median(times[name]) * 1000 for name in optimizers)
            print(f"{learner}: {optimizers['adam'][1] / 1e6:.2f} M parameters; adam {stock:.1f} ms, fast_adam "
                  f"{fused:.1f} ms per step ({stock / fused:.1f}x, {stock - fused:.1f} ms less per update)")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
