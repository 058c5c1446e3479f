"""``--task sequence_lookup``: the 25-sequence look-up of Rumelhart, Hinton & Williams (1986), data built in memory.

A fixed random teacher maps each five-letter sequence over {A, B, C, D, E} to a 3-bit code (targets +-1). 25
distinct sequences are drawn; 20 are trained on (split ``train``), 5 are held out (split ``valid``), so fairseq's
validation reports held-out accuracy. With ``--max-timing`` above 1 every letter is held for 1 .. max_timing steps,
from the random streams of the reference implementation (yaroslavvb/hinton-problems, sequence-lookup-25), so that
its runs and ours can be compared seed by seed. The holds of all 25 sequences continue the stream of
``--dataset-seed`` after the split: the held-out sequences keep theirs, the training sequences' serve only to
evaluate after training. The training holds are drawn afresh for every sweep, in turn, from
``default_rng(--seed + 99991)``: sweep u gets the stream's (u + 1)-th draw whatever the order of the calls (a
resumed run replays the stream). Holds never change a target.

Training is full batch: one update is one sweep over the 20 sequences. A fairseq epoch holds ``--sweeps-per-epoch``
sweeps, because fairseq's per-epoch work (iterators, logging, checkpoint checks) costs far more than one sweep of
this network. The task keeps a per-sweep history (training loss and accuracy, held-out accuracy and outputs, all
before that sweep's update) in its state, which fairseq saves in every checkpoint as ``task_state``; it covers the
sweeps of one process (fairseq does not restore a task's state when it resumes training).
"""
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from fairseq.data import FairseqDataset, iterators
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import FairseqTask, register_task
from omegaconf import II

from seq_cli import UsageError

LETTERS = "ABCDE"
LENGTH = 5
N_BITS = 3
N_SEQUENCES = 25
N_TRAIN = 20
TEACHER_SEED = 1234
SWEEP_STREAM_OFFSET = 99_991  # the reference's stream of training holds is default_rng(seed + 99991)
# per sweep, measured in its forward pass (before its update); accuracies as counts of sequences and of bits
HISTORY_KEYS = ("loss", "train_correct", "train_bit_correct", "heldout_correct", "heldout_bit_correct",
                "heldout_outputs")


def teacher(seed=TEACHER_SEED):
    """(W of shape (3, 5), positional weights (5,), biases (3,)), drawn in this order."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((N_BITS, len(LETTERS)))
    pos_weight = np.linspace(1.0, 0.2, LENGTH) + 0.15 * rng.standard_normal(LENGTH)
    b = 0.2 * rng.standard_normal(N_BITS)
    return w, pos_weight, b


def teacher_targets(sequences, weights=None):
    """+-1 codes of letter-index sequences (n, 5): bit i = sign(sum_t pos[t] W[i, letter_t] + b[i]), 0 -> +1."""
    w, pos_weight, b = weights or teacher()
    scores = (pos_weight[None, :, None] * w.T[np.asarray(sequences)]).sum(axis=1) + b
    return np.where(scores >= 0, 1.0, -1.0)


def draw_sequences(dataset_seed, max_timing=1):
    """(training letters, held-out letters, training holds, held-out holds): the first 25 distinct draws, a
    permutation that splits them 20 / 5, then the holds of the 25 in the order drawn, all from one stream."""
    rng = np.random.default_rng(dataset_seed)
    seen, sequences = set(), []
    while len(sequences) < N_SEQUENCES:
        candidate = tuple(int(x) for x in rng.integers(0, len(LETTERS), size=LENGTH))
        if candidate not in seen:
            seen.add(candidate)
            sequences.append(candidate)
    sequences = np.array(sequences)
    perm = rng.permutation(N_SEQUENCES)
    holds = draw_holds(rng, N_SEQUENCES, max_timing)
    train, heldout = perm[:N_TRAIN], perm[N_TRAIN:]
    return sequences[train], sequences[heldout], holds[train], holds[heldout]


def spell(sequence):
    return "".join(LETTERS[i] for i in sequence)


def draw_holds(rng, n, max_timing):
    """How many steps each letter of n sequences is held, uniform in 1 .. max_timing (one draw of rng: the same
    numbers as n draws of one sequence each, since NumPy's PCG64 keeps unused 32-bit halves in its state)."""
    if max_timing == 1:
        return np.ones((n, LENGTH), dtype=np.int64)
    return rng.integers(1, max_timing + 1, size=(n, LENGTH))


class SweepHolds:
    """The training holds of each sweep: sweep u gets the (u + 1)-th draw of ``default_rng(seed + 99991)``."""

    def __init__(self, seed, n, max_timing):
        self.seed, self.n, self.max_timing = seed, n, max_timing
        self._drawn = None

    def __call__(self, update):
        if self._drawn is None or update < self._drawn - 1:  # first call, or an earlier sweep: replay the stream
            self._rng, self._drawn = np.random.default_rng(self.seed + SWEEP_STREAM_OFFSET), 0
        while self._drawn <= update:
            self._last = draw_holds(self._rng, self.n, self.max_timing)
            self._drawn += 1
        return self._last


class LookupDataset(FairseqDataset):
    """Letter sequences with their codes and holds; a batch is the stretched letters, padded, and their lengths."""

    def __init__(self, split, letters, targets, holds):
        self.split, self.letters, self.targets, self.holds = split, letters, targets, holds

    def __len__(self):
        return len(self.letters)

    def __getitem__(self, index):
        return index

    def num_tokens(self, index):
        return int(self.holds[index].sum())

    def size(self, index):
        return self.num_tokens(index)

    def collater(self, samples, holds=None):
        """``holds`` (one row per sample) replaces the dataset's own, for a sweep's fresh timing."""
        ids = np.asarray(samples, dtype=np.int64)
        holds = self.holds[ids] if holds is None else holds
        lengths = holds.sum(axis=1)
        tokens = np.zeros((len(ids), lengths.max()), dtype=np.int64)  # padding is never read: see lookup_rnn
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        rows = np.repeat(np.arange(len(ids)), lengths)
        tokens[rows, np.arange(len(rows)) - starts] = np.repeat(self.letters[ids].ravel(), holds.ravel())
        return {
            "id": torch.from_numpy(ids),
            "nsentences": len(ids),
            "ntokens": int(lengths.sum()),
            "net_input": {"src_tokens": torch.from_numpy(tokens), "src_lengths": torch.from_numpy(lengths)},
            "target": torch.from_numpy(self.targets[ids]),
            "letters": torch.from_numpy(self.letters[ids]),
            "holds": torch.from_numpy(holds),
        }


@dataclass
class SequenceLookupConfig(FairseqDataclass):
    dataset_seed: int = field(default=0, metadata={"help": "seed of the 25 sequences and their evaluation timings"})
    max_timing: int = field(default=1, metadata={
        "help": "each letter is held for 1 .. max_timing steps (1: fixed timing, one step per letter)"})
    sweeps_per_epoch: int = field(default=100, metadata={"help": "full-batch sweeps in one fairseq epoch"})
    seed: int = II("common.seed")


@register_task("sequence_lookup", dataclass=SequenceLookupConfig)
class SequenceLookupTask(FairseqTask):
    def __init__(self, cfg):
        super().__init__(cfg)
        if cfg.max_timing < 1:
            raise UsageError(f"--max-timing must be at least 1, got {cfg.max_timing}")
        if cfg.sweeps_per_epoch < 1:
            raise UsageError(f"--sweeps-per-epoch must be at least 1, got {cfg.sweeps_per_epoch}")
        self.train_letters, self.heldout_letters, self.train_holds, self.heldout_holds = draw_sequences(
            cfg.dataset_seed, cfg.max_timing)
        self.sweep_holds = SweepHolds(cfg.seed, N_TRAIN, cfg.max_timing)
        self.state.merge_state_dict({"history": {key: [] for key in HISTORY_KEYS}})
        self._loop_start = None
        self._heldout_batch = None

    @classmethod
    def setup_task(cls, cfg, **kwargs):
        return cls(cfg)

    @property
    def history(self):
        return self.state.history

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        self.datasets[split] = self.build_split(split)

    def build_split(self, split):
        if split == "train":
            letters, holds = self.train_letters, self.train_holds
        elif split == "valid":
            letters, holds = self.heldout_letters, self.heldout_holds
        else:
            raise UsageError(f"--task sequence_lookup has the splits train and valid (held out), not {split!r}")
        return LookupDataset(split, letters, teacher_targets(letters), holds)

    def get_batch_iterator(self, dataset, max_tokens=None, max_sentences=None, seed=1, epoch=1, **kwargs):
        # Full batch (which also means no last batch is ever dropped, the job of ExactBatchesMixin elsewhere).
        if max_tokens is not None or (max_sentences or 0) < len(dataset):
            raise UsageError(f"--task sequence_lookup trains on the full batch: use --batch-size {N_TRAIN} (or more) "
                             "and no --max-tokens")
        sweeps = self.cfg.sweeps_per_epoch if dataset.split == "train" else 1
        return iterators.EpochBatchIterator(dataset, collate_fn=dataset.collater, seed=seed, epoch=epoch,
                                            batch_sampler=[np.arange(len(dataset))] * sweeps)

    def sweep_sample(self, sample, update_num):
        """The training batch with this sweep's fresh holds (fixed timing: unchanged)."""
        if self.cfg.max_timing == 1:
            return sample
        ids = sample["id"].tolist()
        return self.dataset("train").collater(ids, self.sweep_holds(update_num)[ids])

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False, **kwargs):
        if self._loop_start is None:
            self._loop_start = time.perf_counter(), time.process_time()
        sample = self.sweep_sample(sample, update_num)
        # FairseqTask.train_step without its profiler ranges and (mixed-precision) autocast context, which cost
        # a tenth of a sweep here; this float64 network never runs in mixed precision
        model.train()
        model.set_num_updates(update_num)
        loss, sample_size, logging_output = criterion(model, sample)
        if ignore_grad:
            loss *= 0
        optimizer.backward(loss)
        if not ignore_grad:
            self.record_sweep(model, logging_output)
        return loss, sample_size, logging_output

    def record_sweep(self, model, train_log):
        """Append this sweep's numbers (the weights before its update) to the history."""
        if self._heldout_batch is None:
            heldout = self.build_split("valid")
            self._heldout_batch = heldout.collater(list(range(len(heldout))))
        batch = self._heldout_batch
        with torch.no_grad():
            outputs = model(**batch["net_input"]).numpy()
        right = sign_matches(outputs, batch["target"].numpy())
        history = self.history
        history["loss"].append(float(train_log["loss"]) / train_log["nsentences"])
        history["train_correct"].append(train_log["n_correct"])
        history["train_bit_correct"].append([train_log[f"bit{i}_correct"] for i in range(N_BITS)])
        history["heldout_correct"].append(int(right.all(axis=1).sum()))
        history["heldout_bit_correct"].append(right.sum(axis=0).tolist())
        history["heldout_outputs"].append(outputs.tolist())

    def optimizer_step(self, optimizer, model, update_num):
        super().optimizer_step(optimizer, model, update_num)
        # from the start of the first sweep to the end of the last update, fairseq's own per-update work included
        self.state.merge_state_dict({"loop_seconds": time.perf_counter() - self._loop_start[0],
                                     "loop_cpu_seconds": time.process_time() - self._loop_start[1]})

    def max_positions(self):
        return None

    @property
    def source_dictionary(self):
        return None

    @property
    def target_dictionary(self):
        return None


def sign_matches(outputs, targets):
    """Per sequence and bit (NumPy arrays): does the output's sign (0 counted as +1) match the +-1 target?"""
    return np.where(outputs >= 0, 1.0, -1.0) == targets
