"""How our tasks batch their data.

fairseq-fixed drops a last batch that is not a multiple of --required-batch-size-multiple (default 8), so a
20-example split would be evaluated on 16. Every task of ours mixes ExactBatchesMixin in to batch every example.

With a training set that fits in one batch (FIND's single example), every update is a whole fairseq epoch and
fairseq's per-epoch work costs as much as a small model's update. RepeatedBatches makes one epoch pass over the
batches several times; fairseq seeds dropout by update number, so with one full batch the weights are exactly
those of the same number of one-update epochs.
"""
from fairseq.data import BaseWrapperDataset


class ExactBatchesMixin:
    def get_batch_iterator(self, dataset, *args, **kwargs):
        if len(args) >= 5:  # required_batch_size_multiple passed positionally
            args = args[:4] + (1,) + args[5:]
        else:
            kwargs["required_batch_size_multiple"] = 1
        return super().get_batch_iterator(dataset, *args, **kwargs)


class RepeatedBatches(BaseWrapperDataset):
    def __init__(self, dataset, passes):
        super().__init__(dataset)
        self.passes = passes

    def __getattr__(self, name):  # the wrapped dataset's own attributes (src, tgt, ...), as if unwrapped
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def batch_by_size(self, indices, *args, **kwargs):
        return list(self.dataset.batch_by_size(indices, *args, **kwargs)) * self.passes
