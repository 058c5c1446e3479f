"""Stock fairseq `lstm` against `fast_lstm` (the same model, its decoder loop with a hand-written backward):
milliseconds per training update on FIND's add-or-mul/20 shape (one 20-symbol input, 40-symbol target), FIND's
settings.

    python benchmarks/fast_lstm_speed.py [--threads 1] [--updates 10]

The two models are built from the same seed and updated alternately in one process, so that whatever else runs on
the machine slows both alike; the ratio is the robust figure. Also prints how far apart their losses are.
"""
import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIND_LSTM = ["--encoder-embed-dim", "16", "--decoder-embed-dim", "16", "--encoder-hidden-size", "512",
             "--decoder-hidden-size", "512", "--dropout", "0.5"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--updates", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    import torch
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    from preprocess.binarize import binarize

    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        example = (["a " * 19 + "a"], ["b " * 39 + "b"])
        binarize({"train": example}, tmp)

        def build(arch, attention):
            parsed = options.parse_args_and_arch(options.get_training_parser(), [
                tmp, "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", "--arch", arch,
                "--decoder-attention", attention, *FIND_LSTM])
            cfg = convert_namespace_to_omegaconf(parsed)
            task = tasks.setup_task(cfg.task)
            task.load_dataset("train")
            dataset = task.dataset("train")
            torch.manual_seed(0)
            model = task.build_model(cfg.model).train()
            return model, torch.optim.Adam(model.parameters(), 1e-3), dataset.collater([dataset[0]])

        def update(model, optimizer, sample):
            torch.manual_seed(1)
            start = time.perf_counter()
            lprobs = model.get_normalized_probs(model(**sample["net_input"]), log_probs=True)
            loss = -lprobs.gather(-1, sample["target"].unsqueeze(-1)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return time.perf_counter() - start, loss.item()

        for attention in ("1", "0"):
            learners = {arch: build(arch, attention) for arch in ("lstm", "fast_lstm")}
            times = {arch: [] for arch in learners}
            gap = 0.0
            for step in range(args.updates + 2):  # the first two are warm-up
                losses = {}
                for arch, learner in learners.items():
                    seconds, losses[arch] = update(*learner)
                    if step >= 2:
                        times[arch].append(seconds)
                gap = max(gap, abs(losses["lstm"] - losses["fast_lstm"]) / abs(losses["lstm"]))
            stock, fast = (statistics.median(times[a]) * 1000 for a in ("lstm", "fast_lstm"))
            print(f"decoder attention {attention}: lstm {stock:.0f} ms/update, fast_lstm {fast:.0f} ms/update, "
                  f"{stock / fast:.2f}x; largest relative loss difference {gap:.1e}  (threads={args.threads})")


if __name__ == "__main__":
    main()
