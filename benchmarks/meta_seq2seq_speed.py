"""Seconds per meta-training episode of ``--arch meta_seq2seq`` (Lake 2019's add-jump setting).

    python benchmarks/meta_seq2seq_speed.py --threads 2 --episodes 30

Each episode is one update exactly as fairseq-train does it: scan_prim_permutation, 20 support items and 20
queries, support loss on (40 scored sequences), m = 200, dropout 0.5, forward, cross-entropy summed over tokens,
backward, gradient norm clipped at 50, Adam. Episodes are drawn and collated beforehand (fairseq's data loader
does that in parallel with training), so the number is the model's update time. Prints the median and mean wall
time over the timed episodes (after warm-up ones), the process's CPU time per episode (all threads together; on a
shared, overloaded CPU closer to what an idle one would take than wall time) and the machine's load average;
``--count-flops`` adds the floating-point operations of the matrix products per update (what bounds the speed).

``--original PATH`` (a checkout of facebookresearch/meta_seq2seq) also times the original's own ``train()`` (its
model, masked loss, per-module clipping at 50 and two Adams) on episodes from its own generator for each of
``--episode-types`` (default: ``me`` and ``scan_prim_permutation``), in the same process and thread count, and
prints the ratio of CPU time per episode, original over ours:

    OMP_NUM_THREADS=1 python benchmarks/meta_seq2seq_speed.py --threads 1 --original ~/src/meta_seq2seq
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=30, help="timed episodes")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--episode-types", default="me,scan_prim_permutation",
                        help="comma-separated episode types, each timed in turn")
    parser.add_argument("--original", metavar="PATH", help="also time the original code from this checkout")
    parser.add_argument("--count-flops", action="store_true",
                        help="also print the matrix-product FLOPs of forward and backward per update")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    for episode_type in args.episode_types.split(","):
        ours = time_ours(args, episode_type)
        if args.original:
            original = time_original(args, episode_type)
            print(f"{episode_type}: CPU time per episode, original / ours = {original:.4f} / {ours:.4f} s = "
                  f"{original / ours:.2f}x")


def report(args, who, episode_type, wall, cpu):
    load = os.getloadavg()
    print(f"{who}, {episode_type}: device {args.device}, threads {args.threads}, {len(wall)} episodes after "
          f"{args.warmup} warm-up: wall median {statistics.median(wall):.4f} s, mean {statistics.mean(wall):.4f} s "
          f"per episode; CPU time of the process median {statistics.median(cpu):.4f} s per episode; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return statistics.median(cpu)


def timed(args, batches, update):
    wall, cpu = [], []
    for i, batch in enumerate(batches):
        start, start_cpu = time.perf_counter(), time.process_time()
        update(batch)
        if i >= args.warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def time_ours(args, episode_type):
    import torch
    from torch.nn import functional as F

    from seq_plugins.models.meta_seq2seq import MetaSeq2Seq, MetaSeq2SeqConfig
    from seq_plugins.tasks.meta_seq2seq_episodes import (MetaSeq2SeqEpisodesConfig, MetaSeq2SeqEpisodesTask,
                                                         collate_episode)

    torch.manual_seed(args.seed)
    task = MetaSeq2SeqEpisodesTask.setup_task(MetaSeq2SeqEpisodesConfig(episode_type=episode_type, seed=args.seed))
    model = MetaSeq2Seq(MetaSeq2SeqConfig(), task.src_dict, task.tgt_dict).to(args.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    pad = task.tgt_dict.pad()
    batches = []
    for i in range(args.warmup + args.episodes):
        batch = collate_episode(task.training_episode(1, i), task.src_dict, task.tgt_dict, score_support=True)
        batches.append({"net_input": {k: v.to(args.device) for k, v in batch["net_input"].items()},
                        "target": batch["target"].to(args.device)})

    def update(batch):
        logits, _ = model(**batch["net_input"])
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch["target"].reshape(-1), ignore_index=pad,
                               reduction="sum")
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 50)
        optimizer.step()
        if args.device != "cpu":
            torch.cuda.synchronize()

    wall, cpu = timed(args, batches, update)
    if args.count_flops:
        from torch.utils.flop_counter import FlopCounterMode

        flops = []
        for batch in batches:
            with FlopCounterMode(display=False) as counter:
                update(batch)
            flops.append(counter.get_total_flops())
        print(f"matrix products: {statistics.mean(flops) / 1e9:.2f} GFLOP per update (forward and backward; "
              f"{min(flops) / 1e9:.2f} to {max(flops) / 1e9:.2f} over {len(flops)} episodes)")
    return report(args, "ours", episode_type, wall, cpu)


def time_original(args, episode_type):
    """The original's train() on its own episodes; its module globals that train.py sets under __main__ are set
    to train.py's values (clip 50, support loss on)."""
    import importlib
    import random

    import numpy as np
    import torch

    sys.path.insert(0, os.path.abspath(args.original))
    original = importlib.import_module("train")
    original.clip, original.use_resconstruct_loss, original.max_try_novel = 50.0, True, 100
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    cwd = os.getcwd()
    os.chdir(args.original)  # its SCAN loaders read data/ relative to the working directory
    try:
        generate, _, input_lang, output_lang = original.get_episode_generator(
            "ME" if episode_type == "me" else episode_type)
        samples = [generate(set()) for _ in range(args.warmup + args.episodes)]
    finally:
        os.chdir(cwd)
    encoder = original.MetaNetRNN(200, input_lang.n_symbols, output_lang.n_symbols, 2, 0.5)
    decoder = original.AttnDecoderRNN(200, output_lang.n_symbols, 2, 0.5)
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-3)
    wall, cpu = timed(args, samples, lambda sample: original.train(
        sample, encoder, decoder, encoder_optimizer, decoder_optimizer, input_lang, output_lang))
    return report(args, "original", episode_type, wall, cpu)


if __name__ == "__main__":
    main()
