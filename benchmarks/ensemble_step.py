"""Seed-updates per second of the bare step of ``--arch seed_ensemble`` (forward, backward, per-seed clipping,
torch's Adam), outside fairseq-train: the ceiling that fairseq-train's ensembles (benchmarks/ensemble_speed.py)
would reach if fairseq's trainer added nothing.

    python benchmarks/ensemble_step.py [--learner transformer_small] [--ks 1 16 64] [--dropout 0.5] [--seconds 5]

The learner's grid (hyperparams/default/<learner>.json) on FIND's add-or-mul/20 T, as in ensemble_speed.py;
``--dropout`` overrides the grid's (0 shows what the per-seed masks cost).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

from benchmarks.ensemble_speed import LEARNERS, ROOT, add_or_mul_data, ensemble_flags, grid_flags  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learner", default="transformer_small", choices=LEARNERS)
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument("--dropout", type=float, help="default: the grid's")
    parser.add_argument("--seconds", type=float, default=5.0, help="about how long each K is timed")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    import logging

    import torch
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    logging.disable(logging.INFO)
    torch.set_num_threads(args.threads)
    flags = grid_flags(args.learner, dropout=args.dropout)
    with tempfile.TemporaryDirectory() as tmp:
        data = add_or_mul_data(tmp)
        print(f"{args.learner}, dropout {flags[flags.index('--dropout') + 1]}, {args.threads} thread(s), "
              f"load average {os.getloadavg()[0]:.2f} at start")
        for k in args.ks:
            argv = [data, "--user-dir", os.path.join(ROOT, "seq_plugins"), *ensemble_flags(flags, k), "--cpu"]
            sys.argv = ["fairseq-train", *argv]  # the ensemble reads --ensemble-arch from the command line
            cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_training_parser(), argv))
            task = tasks.setup_task(cfg.task)
            task.load_dataset("train")
            model, criterion = task.build_model(cfg.model).train(), task.build_criterion(cfg.criterion)
            dataset = task.dataset("train")
            sample = dataset.collater([dataset[i] for i in range(len(dataset))])
            optimizer = torch.optim.Adam(model.parameters(), 1e-3)

            def update(number):
                model.begin_update(number)
                losses = model.seed_losses(criterion, sample)[0]
                optimizer.zero_grad()
                losses.sum().backward()
                model.clip_per_seed(25.0, 1.0)
                optimizer.step()

            for number in range(3):  # warm-up
                update(number)
            began, updates = time.perf_counter(), 0
            while time.perf_counter() - began < args.seconds or updates < 5:
                update(3 + updates)
                updates += 1
            per_update = (time.perf_counter() - began) / updates
            print(f"  K = {k:>3}: {1000 * per_update:7.1f} ms per update, {k / per_update:7.1f} seed-updates/s "
                  f"({updates} updates)", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
