"""Binarize parallel text into a fairseq data-bin with fairseq's own Dictionary and indexed-dataset builders.

Unlike fairseq-preprocess, the dictionaries are built from *every* split (so out-of-distribution symbols are
never <unk>) and split names are ours (``test``, ``ood`` ...) instead of ``test``, ``test1`` ...
"""
import os
from collections import Counter

import torch
from fairseq.data import Dictionary, indexed_dataset

from seq_plugins.progress import Progress

SOURCE_LANG, TARGET_LANG = "src", "tgt"


def build_dictionary(lines, padding_factor=1):
    """A fairseq Dictionary holding every whitespace-separated symbol of ``lines``, in a fixed order (most frequent
    first, as fairseq-preprocess sorts). ``padding_factor`` > 1 appends never-seen "madeupwordNNNN" symbols until
    the size is a multiple of it, as fairseq-preprocess does by default (8): they are extra output logits."""
    counts = Counter(symbol for line in lines for symbol in line.split())
    dictionary = Dictionary()
    for symbol in sorted(counts, key=lambda s: (-counts[s], s)):
        dictionary.add_symbol(symbol, n=counts[symbol])
    dictionary.pad_to_multiple_(padding_factor)
    return dictionary


def _write_side(dictionary, lines, prefix, progress):
    # Dictionary.encode_line fills a tensor one element at a time: 20x slower than this on 340,000 lines.
    index, eos = dictionary.indices, dictionary.eos()
    builder = indexed_dataset.make_builder(prefix + ".bin", impl="mmap", vocab_size=len(dictionary))
    for line in lines:
        try:
            ids = [index[symbol] for symbol in line.split()]
        except KeyError as err:
            raise ValueError(f"symbol {err.args[0]!r} of line {line!r} is missing from the dictionary") from None
        builder.add_item(torch.tensor(ids + [eos], dtype=torch.int32))
        progress.update()
    builder.finalize(prefix + ".idx")


def binarize(splits, dest, dictionaries=None):
    """Write ``dest/{split}.src-tgt.{src,tgt}.{bin,idx}`` and ``dest/dict.{src,tgt}.txt``.

    ``splits`` maps a split name to a pair of equally long lists of source and target lines. ``dictionaries``
    ({"src": Dictionary, "tgt": Dictionary}) makes several data sets share symbol ids, so that a checkpoint trained
    on one reads the others; by default they are built from every line of ``splits``.
    """
    os.makedirs(dest, exist_ok=True)
    if dictionaries is None:
        dictionaries = {lang: build_dictionary(line for pair in splits.values() for line in pair[side])
                        for side, lang in enumerate((SOURCE_LANG, TARGET_LANG))}
    for lang in (SOURCE_LANG, TARGET_LANG):
        dictionaries[lang].save(os.path.join(dest, f"dict.{lang}.txt"))
    for split, (src_lines, tgt_lines) in splits.items():
        if len(src_lines) != len(tgt_lines):
            raise ValueError(f"split {split}: {len(src_lines)} source lines but {len(tgt_lines)} target lines")
    with Progress(sum(2 * len(src) for src, _ in splits.values()), "binarizing", "lines") as progress:
        for split, (src_lines, tgt_lines) in splits.items():
            for lang, lines in ((SOURCE_LANG, src_lines), (TARGET_LANG, tgt_lines)):
                prefix = os.path.join(dest, f"{split}.{SOURCE_LANG}-{TARGET_LANG}.{lang}")
                _write_side(dictionaries[lang], lines, prefix, progress)
    return dictionaries
