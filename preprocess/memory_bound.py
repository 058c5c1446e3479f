"""The upper bound on the data a generator builds in memory, checked with the arguments: options that ask for more
than seq_cli.memory_bound() (a quarter of this machine's memory) are refused before anything is generated or
written."""
from seq_cli import UsageError, memory_bound

# Peak memory of a generator above that of a tiny run (333 MiB), per pair of lines and per symbol of a pair (its
# lists, strings and tensors), with preprocess.transductions' drawn strings on top (BYTES_PER_DRAWN_SYMBOL there).
# Upper bounds of `/usr/bin/time -f %M python -m preprocess.transductions --out /tmp/m --ood-lengths 1 --dev-size 1
# --test-size 1 --ood-size 1` with: --task reversal --id-lengths 6-15 --train-size 100000 (597 MiB for 1.0 M pairs,
# 21 M symbols); --task reversal --id-lengths 30 --train-size 300000 (598 MiB: 0.3 M pairs, 18 M symbols); --task
# quadratic_copying --id-lengths 300 --train-size 200 (244 MiB: 18 M symbols); --task identity --id-lengths 3
# --train-size 100 --ood-size 2000000 (627 MiB: 2 M pairs of 2 symbols); and of the defaults of --task
# input_specified_reduplication (1,134 MiB: 0.96 M pairs, 82.5 M symbols). preprocess.find took 4-6 bytes a symbol
# (--task add-or-mul --sizes 100000; --task hierar-or-linear --probe-depths 2-3000).
BYTES_PER_PAIR, BYTES_PER_SYMBOL = 400, 16


def pairs_bytes(pairs, symbols):
    return pairs * BYTES_PER_PAIR + symbols * BYTES_PER_SYMBOL


def check_fits(requests):
    """``requests`` maps options, as the user gave them, to the bytes they ask for. When all together need more
    than the bound, a UsageError names the options that ask for the most and says the bound."""
    needed, bound = sum(requests.values()), memory_bound()
    if needed > bound:
        raise UsageError(f"{max(requests, key=requests.get)}: the data would take about {needed / 2**30:,.1f} GiB of "
                         f"memory to generate, above the bound of {bound / 2**30:.1f} GiB (a quarter of this "
                         "machine's memory); ask for less")
