"""The three per-example metrics of Wang (2023), on token sequences that end with end-of-sequence."""


def sequence_metrics(prediction, target):
    """(full-sequence accuracy, first-n-symbol accuracy, overlap rate) of one prediction, each in [0, 1].

    full: the whole prediction equals the target. first-n: length of the longest correct prefix over the target
    length. overlap: fraction of target positions whose predicted symbol is right. Lengths include the
    end-of-sequence symbol, so stopping early or late is an error.
    """
    prediction, target = list(prediction), list(target)
    if not target:
        raise ValueError("target must hold at least the end-of-sequence symbol")
    matches = [p == t for p, t in zip(prediction, target)]
    prefix = next((i for i, match in enumerate(matches) if not match), len(matches))
    return float(prediction == target), prefix / len(target), sum(matches) / len(target)
