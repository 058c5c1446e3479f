"""fairseq-fixed drops a last batch that is not a multiple of --required-batch-size-multiple (default 8), so a
20-example split would be evaluated on 16. Every task of ours mixes this in to batch every example."""


class ExactBatchesMixin:
    def get_batch_iterator(self, dataset, *args, **kwargs):
        if len(args) >= 5:  # required_batch_size_multiple passed positionally
            args = args[:4] + (1,) + args[5:]
        else:
            kwargs["required_batch_size_multiple"] = 1
        return super().get_batch_iterator(dataset, *args, **kwargs)
