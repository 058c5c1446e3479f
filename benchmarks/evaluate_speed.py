"""Greedy decoding speed of tools.evaluate: fairseq's SequenceGenerator (beam 1) against seq_plugins.greedy's loop,
on the ood split of total reduplication (input lengths 1-5 and 16-30), for lstm_seq2seq with additive attention at
the toolkit's default sizes (embedding 128, hidden 512).

    python benchmarks/evaluate_speed.py [--per-length 1000] [--updates 150] [--checkpoint PATH] [--threads 1]

Generates the data (--per-length strings per ood length: the full split has 5,000, i.e. 100,000 strings), trains a
checkpoint with fairseq-train for --updates updates unless --checkpoint is given, decodes the split with each
decoder through tools.evaluate.predict_split, and prints strings per second (wall clock and process CPU time, which
the machine's other load disturbs less), the ratio, the time for 100,000 strings, whether both decoders gave the
same tokens, and the load average.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FULL_SPLIT = 100_000


def run(command, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONWARNINGS="ignore")
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[:3])} failed:\n{result.stderr[-3000:]}")


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-length", type=int, default=1000, help="ood strings per input length")
    parser.add_argument("--updates", type=int, default=150, help="training updates of the checkpoint made here")
    parser.add_argument("--checkpoint", help="an lstm_seq2seq checkpoint instead of training one")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "total_redup")
        run([sys.executable, "-m", "preprocess.transductions", "--task", "total_reduplication", "--out", data,
             "--ood-size", str(args.per_length), "--test-size", "10", "--dev-size", "10"], args.threads)
        checkpoint = args.checkpoint
        if checkpoint is None:
            run([os.path.join(os.path.dirname(sys.executable), "fairseq-train"), os.path.join(data, "data-bin"),
                 "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction", "--arch", "lstm_seq2seq",
                 "--attention", "additive", "--criterion", "cross_entropy_acc", "--optimizer", "adam", "--lr", "2e-3",
                 "--batch-size", "200", "--max-update", str(args.updates), "--seed", "1", "--num-workers", "0",
                 "--disable-validation", "--no-epoch-checkpoints", "--save-dir", os.path.join(tmp, "ck")],
                args.threads)
            checkpoint = os.path.join(tmp, "ck", "checkpoint_last.pt")
        import torch

        from tools.evaluate import load_model, predict_split

        torch.set_num_threads(args.threads)
        model, task = load_model(checkpoint, os.path.join(data, "data-bin"))
        before = load_average()
        rates, outputs = {}, {}
        for name, generator in (("SequenceGenerator", True), ("greedy loop", False)):
            wall, cpu = time.perf_counter(), time.process_time()
            outputs[name] = {i: p for i, _s, p, _t in predict_split(model, task, "ood", args.batch_size,
                                                                     sequence_generator=generator)}
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            rates[name] = (len(outputs[name]) / wall, len(outputs[name]) / cpu)
            print(f"{name}: {rates[name][0]:.0f} strings/s wall, {rates[name][1]:.0f} strings/s CPU "
                  f"(100,000 strings: {FULL_SPLIT / rates[name][0] / 60:.1f} min wall)", flush=True)
    old, new = rates["SequenceGenerator"], rates["greedy loop"]
    same = outputs["SequenceGenerator"] == outputs["greedy loop"]
    print(f"ratio {new[0] / old[0]:.2f}x wall, {new[1] / old[1]:.2f}x CPU; {len(outputs['greedy loop'])} ood strings "
          f"({args.per_length} per length), batch {args.batch_size}, {args.threads} thread(s); identical tokens: "
          f"{'yes' if same else 'NO'}; load average {before} before, {load_average()} after")


if __name__ == "__main__":
    main()
