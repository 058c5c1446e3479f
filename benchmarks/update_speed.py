"""Milliseconds per training update (forward, backward, Adam) of a fairseq model on one 20-symbol input with a
40-symbol target, the shape of FIND's add-or-mul/20 example, outside fairseq-train's loop.

    python benchmarks/update_speed.py --threads 1 -- --arch lstm --decoder-attention 1 --encoder-hidden-size 512 ...

Everything after ``--`` is passed to fairseq's parser (with --user-dir seq_plugins and --task transduction).
"""
import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--updates", type=int, default=50)
    parser.add_argument("model_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    import torch
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    from preprocess.binarize import binarize

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model_args = [a for a in args.model_args if a != "--"]
    with tempfile.TemporaryDirectory() as tmp:
        example = (["a " * 19 + "a"], ["b " * 39 + "b"])
        binarize({"train": example, "valid": example}, tmp)
        parsed = options.parse_args_and_arch(options.get_training_parser(), [
            tmp, "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", *model_args])
        cfg = convert_namespace_to_omegaconf(parsed)
        task = tasks.setup_task(cfg.task)
        task.load_dataset("train")
        dataset = task.dataset("train")
        sample = dataset.collater([dataset[0]])
        model = task.build_model(cfg.model).train()
        optimizer = torch.optim.Adam(model.parameters(), 1e-3)

        def update():
            net_output = model(**sample["net_input"])
            lprobs = model.get_normalized_probs(net_output, log_probs=True)
            loss = -lprobs.gather(-1, sample["target"].unsqueeze(-1)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        for _ in range(5):  # warm-up
            update()
        start = time.perf_counter()
        for _ in range(args.updates):
            update()
        per_update = (time.perf_counter() - start) / args.updates * 1000
    print(f"{per_update:.1f} ms/update  threads={args.threads}  {' '.join(model_args)}")


if __name__ == "__main__":
    main()
