"""A lower bound on one FIND LSTM-attention update on this CPU: only the matrix-vector products it cannot avoid.

    python benchmarks/lstm_floor.py [--threads 1] [--steps 41]

With one example, each decoder step multiplies one vector by each of the decoder's four weight matrices (the LSTM's
input and recurrent weights, attention's input and output projections: 11.5 MB at hidden 512) going forward, and
by their transposes going backward; step t needs step t-1's result, so they cannot be batched. This times exactly
those products (41 steps for add-or-mul/20's 40-symbol target plus end-of-sequence), forward and backward, with
nothing else: reading the weights from memory is the floor that any implementation of the update pays. It then
reads the same weights with no arithmetic (``sum``), for comparison.
"""
import argparse
import time

import torch


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=41)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--embed", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    h, e = args.hidden, args.embed
    weights = [torch.randn(4 * h, e + h), torch.randn(4 * h, h), torch.randn(h, h), torch.randn(h, 2 * h)]
    inputs = [torch.randn(1, w.size(1)) for w in weights]
    grads = [torch.randn(1, w.size(0)) for w in weights]

    def update():
        for _ in range(args.steps):
            for w, x in zip(weights, inputs):
                torch.mm(x, w.t())
        for _ in range(args.steps):
            for w, g in zip(weights, grads):
                torch.mm(g, w)

    update()
    start = time.perf_counter()
    for _ in range(args.repeats):
        update()
    per_update = (time.perf_counter() - start) / args.repeats
    megabytes = sum(w.numel() for w in weights) * 4 / 1e6
    traffic = 2 * args.steps * megabytes / 1e3
    print(f"{per_update * 1e3:.1f} ms per update ({traffic:.2f} GB of weight reads, {traffic / per_update:.1f} GB/s); "
          f"3,000 updates: at least {per_update * 3000:.0f} s  (threads={args.threads}, weights {megabytes:.1f} MB)")
    # the same weights read with no arithmetic at all: what the products' rate is to be compared with
    start = time.perf_counter()
    for _ in range(args.repeats * args.steps):
        for w in weights:
            w.sum()
    read = args.repeats * args.steps * megabytes / 1e3 / (time.perf_counter() - start)
    print(f"plain reads of the same weights (sum): {read:.1f} GB/s")


if __name__ == "__main__":
    main()
