"""``--task meta_seq2seq_episodes``: meta seq2seq training of Lake (2019) in stock fairseq-train, no data directory.

One episode is one batch and one update: the batch carries the support set (``support_src``, ``support_tgt``)
next to the queries (``src_tokens``, ``prev_output_tokens``, ``target``). With the support loss (the default) the
support items are also scored as queries in training; validation scores the queries alone. The ``--valid-episodes``
validation episodes are drawn first, from ``--seed``, and no training episode reuses their identifiers. Training
episode i of epoch e is drawn from the seed (``--seed``, e, i): the same seed gives the same episodes.

Each episode type has its own dictionaries, as in Lake's code (``me``: the four pseudowords and four colours; the
SCAN types: SCAN's words and actions plus the type's extra primitives), so the output softmax is the original's;
``--shared-vocabulary`` gives every type the union of all of them instead.
"""
from dataclasses import dataclass, field

import numpy as np
import torch
from fairseq.data import FairseqDataset, iterators
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.tasks import FairseqTask, register_task
from omegaconf import II

from seq_cli import UsageError
from seq_plugins.tasks import episodes

_VALID_STREAM, _TRAIN_STREAM, _TEST_STREAM = 0, 1, 2


@dataclass
class MetaSeq2SeqEpisodesConfig(FairseqDataclass):
    episode_type: ChoiceEnum(list(episodes.EPISODE_TYPES)) = field(
        default="scan_prim_permutation", metadata={"help": "how episodes are made"})
    num_support: int = field(default=0, metadata={"help": "support items per episode (0: the type's default)"})
    num_queries: int = field(default=0, metadata={"help": "queries per episode (0: the type's default)"})
    episodes_per_epoch: int = field(default=1000, metadata={"help": "training episodes (updates) per epoch"})
    valid_episodes: int = field(default=5, metadata={"help": "validation episodes, held out from training"})
    no_support_loss: bool = field(default=False, metadata={"help": "do not score support items as queries"})
    shared_vocabulary: bool = field(default=False, metadata={
        "help": "one vocabulary for all episode types (34 output symbols) instead of the type's own, as Lake's code "
                "has it; a departure that keeps mutual exclusivity on its chance plateau far longer "
                "(docs/results/meta_seq2seq.md)"})
    seed: int = II("common.seed")


def encode(dictionary, words, what):
    """Token ids of ``words`` plus end-of-sequence; a UsageError names a word the vocabulary lacks."""
    ids = []
    for word in words:
        index = dictionary.index(word)
        if index == dictionary.unk():
            raise UsageError(f"{what} holds the word {word!r}, which is not in the vocabulary")
        ids.append(index)
    return ids + [dictionary.eos()]


def pad_right(sequences, pad):
    out = torch.full((len(sequences), max(map(len, sequences), default=0)), pad, dtype=torch.long)
    for i, seq in enumerate(sequences):
        out[i, :len(seq)] = torch.tensor(seq)
    return out, torch.tensor([len(s) for s in sequences], dtype=torch.long)


def collate_episode(episode, src_dict, tgt_dict, score_support):
    """The tensors of one episode; right-padded. ``score_support`` appends the support items to the queries."""
    support_src = [encode(src_dict, s, "a support input") for s, _ in episode["support"]]
    support_tgt = [encode(tgt_dict, t, "a support output") for _, t in episode["support"]]
    pairs = episode["query"] + (episode["support"] if score_support else [])
    query_src = [encode(src_dict, s, "a query") for s, _ in pairs]
    target = [encode(tgt_dict, t, "a query output") for _, t in pairs]
    src_tokens, src_lengths = pad_right(query_src, src_dict.pad())
    target_tokens, _ = pad_right(target, tgt_dict.pad())
    prev, _ = pad_right([[tgt_dict.eos()] + t[:-1] for t in target], tgt_dict.pad())
    s_src, s_src_lengths = pad_right(support_src, src_dict.pad())
    s_tgt, s_tgt_lengths = pad_right(support_tgt, tgt_dict.pad())
    return {
        "id": torch.arange(len(pairs)),
        "nsentences": len(pairs),
        "ntokens": sum(map(len, target)),
        "net_input": {"src_tokens": src_tokens, "src_lengths": src_lengths, "prev_output_tokens": prev,
                      "support_src": s_src, "support_src_lengths": s_src_lengths,
                      "support_tgt": s_tgt, "support_tgt_lengths": s_tgt_lengths},
        "target": target_tokens,
    }


class EpisodeDataset(FairseqDataset):
    """Item i is one whole episode; the collater turns a list of exactly one episode into a batch."""

    def __init__(self, draw, size, src_dict, tgt_dict, score_support):
        self.draw, self.size_, self.epoch = draw, size, 1
        self.src_dict, self.tgt_dict, self.score_support = src_dict, tgt_dict, score_support

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __getitem__(self, index):
        return self.draw(self.epoch, index)

    def __len__(self):
        return self.size_

    def collater(self, samples):
        if len(samples) != 1:
            raise ValueError(f"one episode per batch, got {len(samples)}")
        return collate_episode(samples[0], self.src_dict, self.tgt_dict, self.score_support)

    def num_tokens(self, index):
        return 1

    def size(self, index):
        return 1

    def ordered_indices(self):
        return np.arange(len(self))


@register_task("meta_seq2seq_episodes", dataclass=MetaSeq2SeqEpisodesConfig)
class MetaSeq2SeqEpisodesTask(FairseqTask):
    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg)
        self.src_dict, self.tgt_dict = src_dict, tgt_dict
        self.kind = episodes.episode_type(str(cfg.episode_type), cfg.num_support or None, cfg.num_queries or None)
        self._valid = None

    @classmethod
    def setup_task(cls, cfg, **kwargs):
        from preprocess.binarize import build_dictionary

        if cfg.episodes_per_epoch < 1 or cfg.valid_episodes < 1:
            raise UsageError("--episodes-per-epoch and --valid-episodes must be at least 1")
        kind = episodes.episode_type(str(cfg.episode_type))
        words, actions = episodes.shared_vocabularies() if cfg.shared_vocabulary else kind.vocabulary()
        return cls(cfg, build_dictionary(words), build_dictionary(actions))

    def build_model(self, cfg, from_checkpoint=False):
        if not self.kind.reads_support and not getattr(cfg, "no_memory", True):
            raise UsageError(f"--episode-type {self.cfg.episode_type} trains standard seq2seq without a support set: "
                             "add --no-memory")
        return super().build_model(cfg, from_checkpoint)

    @property
    def source_dictionary(self):
        return self.src_dict

    @property
    def target_dictionary(self):
        return self.tgt_dict

    def max_positions(self):
        return None

    def validation_episodes(self):
        if self._valid is None:
            rng = np.random.default_rng([self.cfg.seed, _VALID_STREAM])
            self._valid = episodes.validation_episodes(self.kind, rng, self.cfg.valid_episodes)
        return self._valid

    def training_episode(self, epoch, index):
        held_out = {e["id"] for e in self.validation_episodes()}
        return episodes.training_episode(self.kind, np.random.default_rng([self.cfg.seed, _TRAIN_STREAM, epoch, index]),
                                         held_out)

    def test_episode(self):
        return self.kind.test_episode(np.random.default_rng([self.cfg.seed, _TEST_STREAM]))

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        if split == "train":
            dataset = EpisodeDataset(self.training_episode, self.cfg.episodes_per_epoch, self.src_dict,
                                     self.tgt_dict, not self.cfg.no_support_loss)
        elif split == "valid":
            valid = self.validation_episodes()
            dataset = EpisodeDataset(lambda _epoch, i: valid[i], len(valid), self.src_dict, self.tgt_dict, False)
        else:
            raise UsageError(f"--task meta_seq2seq_episodes has the splits train and valid, not {split!r}; "
                             "evaluate test episodes with python -m tools.meta_seq2seq_eval")
        dataset.set_epoch(epoch)
        self.datasets[split] = dataset

    def get_batch_iterator(self, dataset, max_tokens=None, max_sentences=None, max_positions=None,
                           ignore_invalid_inputs=False, required_batch_size_multiple=1, seed=1, num_shards=1,
                           shard_id=0, num_workers=0, epoch=1, data_buffer_size=0, disable_iterator_cache=False,
                           skip_remainder_batch=False, grouped_shuffling=False, update_epoch_batch_itr=False):
        # one episode per batch, whatever --batch-size says; episodes are already random, so no shuffling
        return iterators.EpochBatchIterator(
            dataset=dataset, collate_fn=dataset.collater, batch_sampler=[[i] for i in range(len(dataset))],
            seed=seed, num_shards=num_shards, shard_id=shard_id, num_workers=num_workers, epoch=epoch,
            buffer_size=data_buffer_size, disable_shuffling=True)
