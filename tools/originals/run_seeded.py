"""Run an original script as ``__main__`` from its checkout with every random stream seeded and one thread:

    python -m tools.originals.run_seeded --checkout PATH --seed S SCRIPT [script arguments...]

The originals seed nothing themselves (or not every stream); seeding ``random``, numpy and torch here makes a run a
function of its seed. Python's string hashing, which orders sets, is fixed by the caller's ``PYTHONHASHSEED``.
"""
import argparse
import os
import random
import runpy
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkout", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("script")
    args, script_args = parser.parse_known_args()
    import numpy as np
    import torch

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    script = os.path.join(args.checkout, args.script)
    sys.path.insert(0, args.checkout)
    sys.argv = [script, *script_args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
