"""Forward + backward time per time step of RigLSTM, RIM and nn.LSTM at the same total hidden size and batch.

    python benchmarks/riglstm_speed.py --threads 1 --batch 64 --steps 100 --cell-size 64
    python benchmarks/riglstm_speed.py --device cuda

The recurrences get random inputs of --input-size features; the loss is the sum of squares of every output.
nn.LSTM runs the whole sequence in one call (oneDNN on CPU, cuDNN on CUDA); RigLSTM and RIM step in Python, with
all cells of a step in batched matrix products. The models take turns, --repeats rounds, and each model's time is
its median round, so that other load on the machine hits all three alike. Prints one JSON line per model.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script from anywhere


def milliseconds_per_step(model, x, device):
    """One forward and backward pass over the sequence, in ms per time step."""
    import torch

    start = time.perf_counter()
    model(x)[0].pow(2).sum().backward()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / x.size(0) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--input-size", type=int, default=16)
    parser.add_argument("--num-cells", type=int, default=6)
    parser.add_argument("--cell-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import torch
    from torch import nn

    from seq_plugins.modules import RigLSTMCell, RIMCell

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hidden = args.num_cells * args.cell_size
    models = {
        "nn.LSTM": nn.LSTM(args.input_size, hidden),
        "riglstm": RigLSTMCell(args.input_size, num_cells=args.num_cells, cell_size=args.cell_size),
        "rim": RIMCell(args.input_size, num_cells=args.num_cells, cell_size=args.cell_size),
    }
    x = torch.randn(args.steps, args.batch, args.input_size, device=args.device)
    models = {name: model.to(args.device) for name, model in models.items()}
    for model in models.values():  # warm-up
        milliseconds_per_step(model, x, args.device)
    rounds = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            rounds[name].append(milliseconds_per_step(model, x, args.device))
    results = {name: statistics.median(times) for name, times in rounds.items()}
    for name, ms in results.items():
        print(json.dumps({"model": name, "ms_per_step": round(ms, 3), "ratio_to_lstm": round(ms / results["nn.LSTM"], 2),
                          "total_hidden": hidden, "batch": args.batch, "steps": args.steps,
                          "threads": args.threads, "device": args.device, "repeats": args.repeats}))


if __name__ == "__main__":
    main()
