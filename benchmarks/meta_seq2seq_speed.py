"""Seconds per meta-training episode of ``--arch meta_seq2seq`` (Lake 2019's add-jump setting).

    python benchmarks/meta_seq2seq_speed.py --threads 2 --episodes 30

Each episode is one update exactly as fairseq-train does it: scan_prim_permutation, 20 support items and 20
queries, support loss on (40 scored sequences), m = 200, dropout 0.5, forward, cross-entropy summed over tokens,
backward, gradient norm clipped at 50, Adam. Episodes are drawn and collated beforehand (fairseq's data loader
does that in parallel with training), so the number is the model's update time. Prints the median and mean wall
time over the timed episodes (after warm-up ones), the process's CPU time per episode (all threads together; on a
shared, overloaded CPU closer to what an idle one would take than wall time) and the machine's load average;
``--count-flops`` adds the floating-point operations of the matrix products per update (what bounds the speed).
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
    parser.add_argument("--episode-type", default="scan_prim_permutation")
    parser.add_argument("--count-flops", action="store_true",
                        help="also print the matrix-product FLOPs of forward and backward per update")
    args = parser.parse_args()

    import torch
    from torch.nn import functional as F

    from seq_plugins.models.meta_seq2seq import MetaSeq2Seq, MetaSeq2SeqConfig
    from seq_plugins.tasks.meta_seq2seq_episodes import (MetaSeq2SeqEpisodesConfig, MetaSeq2SeqEpisodesTask,
                                                         collate_episode)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    task = MetaSeq2SeqEpisodesTask.setup_task(
        MetaSeq2SeqEpisodesConfig(episode_type=args.episode_type, seed=args.seed))
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

    wall, cpu = [], []
    for i, batch in enumerate(batches):
        start, start_cpu = time.perf_counter(), time.process_time()
        update(batch)
        if i >= args.warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    if args.count_flops:
        from torch.utils.flop_counter import FlopCounterMode

        flops = []
        for batch in batches:
            with FlopCounterMode(display=False) as counter:
                update(batch)
            flops.append(counter.get_total_flops())
        print(f"matrix products: {statistics.mean(flops) / 1e9:.2f} GFLOP per update (forward and backward; "
              f"{min(flops) / 1e9:.2f} to {max(flops) / 1e9:.2f} over {len(flops)} episodes)")
    load = os.getloadavg()
    print(f"{args.episode_type}: device {args.device}, threads {args.threads}, {args.episodes} episodes after {args.warmup} warm-up: "
          f"wall median {statistics.median(wall):.4f} s, mean {statistics.mean(wall):.4f} s per episode; "
          f"CPU time of the process median {statistics.median(cpu):.4f} s per episode; "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
