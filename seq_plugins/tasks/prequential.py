"""``--task prequential_translation``: prequential (online) description length computed by stock fairseq-train.

The first ``--mdl-train-examples`` lines of the train split are T; the other lines (the hold-out) are shuffled
with ``--seed`` and cut into blocks B_1 .. B_K of ``--mdl-block-size``. Block B_k is transmitted with a model
trained on T and B_1 .. B_{k-1}, from the same initial weights, with a fresh optimizer state and a restarted
learning-rate schedule, for ``--mdl-updates-per-block`` updates; its code length is the sum over its examples of
-log2 p(target), end-of-sequence included, in bits. The description length is the sum over blocks (plus, with
``--mdl-encode-first-block``, T under a uniform code over the target symbols and end-of-sequence).

One fairseq-train run performs all K trainings back to back; the task sets ``--max-update`` to K times the updates
per block. They run from the most data to the least, so the last one, trained on T alone, ends as
``checkpoint_last.pt``: the model whose greedy outputs give FPA. Each training also replays the same dropout seeds
(``--seed`` + its own update count), so that model is exactly the one a plain T-only run would give.

Results go to ``--mdl-output`` (default ``<save-dir>/mdl.json``), written atomically at the end; progress after
each block is kept in ``<save-dir>/mdl_progress.pt`` so a resumed fairseq-train continues where it stopped.

With ``--arch seed_ensemble`` (seq_plugins/models/seed_ensemble.py) every seed s performs the K trainings of a
single run with ``--seed s``: its own hold-out permutation, hence its own batch at every update (the seeds' batches
are padded to common shapes and stacked, seed_ensemble_steps.stack_samples), its own dropout seeds (s + the
training's update count) and its own code lengths, written to ``--mdl-output`` with ``{seed}`` replaced by s
(default ``<save-dir>/mdl_seed{seed}.json``), each with ``"seed": s``. With dropout 0 each file equals the single
run's up to floating-point summation order (tests/test_seed_ensemble.py); with dropout on each seed draws its own
masks, but of the padded batch's shape, so they differ from the single run's whenever another seed's batch is wider.
"""
import json
import math
import os
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
from fairseq import utils
from fairseq.optim.lr_scheduler import build_lr_scheduler
from fairseq.tasks import register_task

from seq_cli import UsageError
from seq_plugins.models.seed_ensemble import parse_seeds
from seq_plugins.tasks.seed_ensemble_steps import stack_samples
from seq_plugins.tasks.transduction import TransductionConfig, TransductionTask

RULES_FILE = "rules.json"  # written by preprocess.find two levels above data-bin


@dataclass
class PrequentialConfig(TransductionConfig):
    mdl_train_examples: int = field(default=0, metadata={
        "help": "the first N lines of the train split are T (0: N from the rules.json of preprocess.find)"})
    mdl_block_size: Optional[int] = field(default=None, metadata={
        "help": "hold-out examples per transmitted block (default: the block_size of rules.json, else 1)"})
    mdl_updates_per_block: int = field(default=0, metadata={
        "help": "updates of each training (0: --max-update, so one grid sets the training length of FPA and MDL)"})
    mdl_batch_size: int = field(default=0, metadata={"help": "examples per update (0: every example, full batch)"})
    mdl_encode_first_block: bool = field(default=False, metadata={
        "help": "also encode T with a uniform code, so the total is a complete code length (off in FIND)"})
    mdl_output: str = field(default="", metadata={
        "help": "result JSON (default: <save-dir>/mdl.json); with --arch seed_ensemble one per seed, {seed} in the "
                "path replaced by the seed (default: <save-dir>/mdl_seed{seed}.json)"})


class BlockPlan:
    """Which training examples each of the K trainings sees, and which block it encodes."""

    def __init__(self, n_examples, n_train, block_size, seed):
        if block_size < 1:
            raise UsageError(f"--mdl-block-size must be at least 1, got {block_size}")
        if not 0 < n_train < n_examples:
            raise UsageError(f"--mdl-train-examples {n_train} must be between 1 and the train split's size "
                             f"{n_examples} minus 1, so that something is held out")
        self.block_size = block_size
        self.train_ids = list(range(n_train))
        holdout = np.random.default_rng(seed).permutation(np.arange(n_train, n_examples)).tolist()
        self.blocks = [holdout[i:i + block_size] for i in range(0, len(holdout), block_size)]

    def __len__(self):
        return len(self.blocks)

    def block_index(self, stage):
        """Stage s (chronological) encodes block K - s (0-based K - 1 - s): most training data first."""
        return len(self.blocks) - 1 - stage

    def seen_ids(self, stage):
        return self.train_ids + [i for block in self.blocks[:self.block_index(stage)] for i in block]


@register_task("prequential_translation", dataclass=PrequentialConfig)
class PrequentialTranslationTask(TransductionTask):
    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        self.ensemble = False
        self.seeds = None  # the run's seed, or the ensemble's seeds
        self.plans = None  # one per seed
        self.updates_per_block = None
        self.initial_weights = None
        self.lr_scheduler = None
        self.results = {}  # seed -> one dict per encoded block, in stage order
        self.stage_batch = None
        self.criterion = None

    # -- configuration -----------------------------------------------------------------------------------------
    def _root(self):
        """The whole fairseq configuration (the task's own node keeps a link to it)."""
        root = self.cfg._get_parent()
        if root is None or "optimization" not in root:
            raise UsageError("--task prequential_translation computes description length inside fairseq-train only")
        return root

    def _rules(self, data_dir):
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(data_dir))), RULES_FILE)
        if not os.path.isfile(path):
            return path, {}
        with open(path) as f:
            return path, json.load(f)

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        super().load_dataset(split, epoch=epoch, combine=combine, **kwargs)
        if split == self.cfg.train_subset and self.plans is None:
            self._plan_blocks(self.datasets[split])

    def _plan_blocks(self, dataset):
        root = self._root()
        data_dir = self.cfg.data.split(os.pathsep)[0]
        rules_path, rules = self._rules(data_dir)
        rules_train = rules.get("train")
        n_train = self.cfg.mdl_train_examples or (len(rules_train) if rules_train else 0)
        if n_train == 0:
            raise UsageError(f"--mdl-train-examples is not set and there is no {rules_path} to read it from")
        block_size = rules.get("block_size", 1) if self.cfg.mdl_block_size is None else self.cfg.mdl_block_size
        self.ensemble = getattr(root.model, "arch", None) == "seed_ensemble"
        self.seeds = parse_seeds(getattr(root.model, "ensemble_seeds", None)) if self.ensemble else [root.common.seed]
        if self.ensemble and self.cfg.mdl_output and "{seed}" not in self.cfg.mdl_output:
            raise UsageError(f"--mdl-output {self.cfg.mdl_output!r} must contain {{seed}}: --arch seed_ensemble "
                             "writes one result per seed")
        self.plans = [BlockPlan(len(dataset), n_train, block_size, seed) for seed in self.seeds]
        if rules_train is not None:
            for i, (src, tgt) in enumerate(rules_train[:n_train]):
                line = (self.src_dict.string(dataset.src[i]), self.tgt_dict.string(dataset.tgt[i]))
                if line != (src, tgt):
                    raise UsageError(f"train line {i + 1} of {data_dir} is {line[0]!r} -> {line[1]!r} but T in "
                                     f"{rules_path} has {src!r} -> {tgt!r}: the candidate data must start with T")
        self.updates_per_block = self.cfg.mdl_updates_per_block or root.optimization.max_update
        if self.updates_per_block < 1:
            raise UsageError("set --mdl-updates-per-block or --max-update: the length of each training")
        root.optimization.max_update = len(self.plans[0]) * self.updates_per_block  # as many blocks for every seed

    @property
    def save_dir(self):
        return self._root().checkpoint.save_dir

    # -- the K trainings ---------------------------------------------------------------------------------------
    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False, **kwargs):
        if not hasattr(criterion, "code_lengths"):
            raise UsageError("--task prequential_translation needs --criterion prequential_mdl")
        self.criterion = criterion
        stage, local = divmod(update_num, self.updates_per_block)
        if local == 0:
            self._begin_stage(stage, model, optimizer)
        elif self.initial_weights is None:
            self._resume(stage, local)
        utils.set_torch_seed(self._root().common.seed + local)  # the dropout seeds of a fresh run
        batch = self._batch(stage, local, model)
        return super().train_step(batch, model, criterion, optimizer, update_num, ignore_grad, **kwargs)

    def dropout_update(self, update_num):
        return update_num % self.updates_per_block  # each training replays a fresh run's dropout seeds

    def optimizer_step(self, optimizer, model, update_num):
        stage, local = divmod(update_num, self.updates_per_block)
        if self.lr_scheduler is None:
            self.lr_scheduler = build_lr_scheduler(self._root().lr_scheduler, optimizer)
        self.lr_scheduler.step_update(local)  # the schedule restarts with every training
        optimizer.step()
        if local == self.updates_per_block - 1:
            self._end_stage(stage, model)

    def _begin_stage(self, stage, model, optimizer):
        if stage == 0:
            self.initial_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.results = {seed: [] for seed in self.seeds}
            self._save_progress()
        else:
            if self.initial_weights is None:
                self._resume(stage, 0)
            model.load_state_dict(self.initial_weights)
        optimizer.optimizer.state.clear()  # Adam's moments and step counts start afresh
        self.stage_batch = None

    def _batch(self, stage, local, model):
        size = self.cfg.mdl_batch_size
        if size and size < len(self.plans[0].seen_ids(stage)):  # every seed has seen as many examples
            rngs = [np.random.default_rng([seed, plan.block_index(stage), local])
                    for seed, plan in zip(self.seeds, self.plans)]
            return self._collate([sorted(rng.choice(plan.seen_ids(stage), size=size, replace=False).tolist())
                                  for rng, plan in zip(rngs, self.plans)], model)
        if self.stage_batch is None:  # the full batch is the same for every update of a training
            self.stage_batch = self._collate([plan.seen_ids(stage) for plan in self.plans], model)
        return self.stage_batch

    def _collate(self, ids_per_seed, model):
        """The batch of each seed's ``ids``: the only one of a single run, or an ensemble's stacked."""
        dataset = self.datasets[self.cfg.train_subset]
        batches = [dataset.collater([dataset[i] for i in ids]) for ids in ids_per_seed]
        sample = stack_samples(dataset, batches) if self.ensemble else batches[0]
        device = next(model.parameters()).device
        return utils.apply_to_sample(lambda t: t.to(device), sample)

    def _end_stage(self, stage, model):
        block_index = self.plans[0].block_index(stage)
        blocks = [plan.blocks[block_index] for plan in self.plans]
        was_training = model.training
        model.eval()
        sample = self._collate(blocks, model)
        bits, ids = self.criterion.code_lengths(model, sample), sample["id"].tolist()
        model.train(was_training)
        if not self.ensemble:
            bits, ids = [bits], [ids]
        for seed, plan, block, seed_bits, seed_ids in zip(self.seeds, self.plans, blocks, bits, ids):
            by_id = dict(zip(seed_ids, seed_bits))  # the collater orders a batch by source length
            self.results[seed].append({"block": block_index + 1, "ids": block, "bits": [by_id[i] for i in block],
                                       "examples_seen": len(plan.seen_ids(stage))})
        self._save_progress()
        if stage == len(self.plans[0]) - 1:
            self._write_output()

    # -- results and resumption --------------------------------------------------------------------------------
    def _progress_path(self):
        return os.path.join(self.save_dir, "mdl_progress.pt")

    def _save_progress(self):
        os.makedirs(self.save_dir, exist_ok=True)
        path = self._progress_path()
        torch.save({"initial_weights": self.initial_weights, "results": self.results}, path + ".tmp")
        os.replace(path + ".tmp", path)

    def _resume(self, stage, local):
        path = self._progress_path()
        if not os.path.isfile(path):
            raise UsageError(f"resuming at update {stage * self.updates_per_block + local} needs {path}, which is "
                             "missing; remove the checkpoints to start over")
        state = torch.load(path, weights_only=True)
        if not isinstance(state.get("results"), dict) or set(state["results"]) != set(self.seeds):
            raise UsageError(f"{path} holds no results for seeds {','.join(map(str, self.seeds))} (written for other "
                             "seeds, or by a seq_plugins older than per-seed results); remove it and the "
                             "checkpoints to start over")
        self.initial_weights = state["initial_weights"]
        self.results = {seed: results[:stage] for seed, results in state["results"].items()}

    def first_block_bits(self):
        """T under a uniform code over the symbols a target can hold: the real target symbols and end-of-sequence
        (not the never-seen symbols that pad the dictionary, which count 0)."""
        dataset = self.datasets[self.cfg.train_subset]
        alphabet = sum(1 for n in self.tgt_dict.count[self.tgt_dict.nspecial:] if n > 0) + 1
        return sum(len(dataset.tgt[i]) for i in self.plans[0].train_ids) * math.log2(alphabet)

    def _output_path(self, seed):
        default = os.path.join(self.save_dir, "mdl_seed{seed}.json" if self.ensemble else "mdl.json")
        return (self.cfg.mdl_output or default).replace("{seed}", str(seed))

    def _write_output(self):
        for seed, plan in zip(self.seeds, self.plans):
            by_block = sorted(self.results[seed], key=lambda r: r["block"])
            block_bits = [sum(r["bits"]) for r in by_block]
            record = {
                "description_length": sum(block_bits),
                "block_codelengths": block_bits,
                "examples_seen": [r["examples_seen"] for r in by_block],
                "examples": [{"line": i + 1, "block": r["block"], "bits": b}
                             for r in by_block for i, b in zip(r["ids"], r["bits"])],
                "train_examples": len(plan.train_ids),
                "block_size": plan.block_size,
                "updates_per_block": self.updates_per_block,
                "seed": seed,
            }
            if self.cfg.mdl_encode_first_block:
                record["first_block_bits"] = self.first_block_bits()
                record["description_length"] += record["first_block_bits"]
            path = self._output_path(seed)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path + ".tmp", "w") as f:
                json.dump(record, f, indent=1)
            os.replace(path + ".tmp", path)
