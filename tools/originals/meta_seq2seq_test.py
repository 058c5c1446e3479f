"""Score a model trained by Lake's own train.py on the test episode our generator builds, with Lake's own decoder:

    python -m tools.originals.meta_seq2seq_test --checkout PATH --model RUN/net.tar --episode-type TYPE --out F

Lake's train.py reports only its 5 validation episodes of 20 queries (SCAN commands with the true meanings), while
the paper's Tables 2-3 score the split's whole test set: add jump's 7,706 commands with the four primitives as
support, around right's 4,476 with turn left and turn right, length's 3,920 with 100 training commands. This builds
that episode (seq_plugins/tasks/episodes.py, the same one tools.meta_seq2seq_eval scores ours on), turns it into a
sample with the checkout's ``build_sample`` and decodes it with its ``evaluate`` (greedy, its maximum length), so
both sides are scored on the same queries by their own code. The model file is read with ``weights_only=True``,
allowing only the checkout's ``Lang`` and argparse's ``Namespace`` besides tensors.
"""
import argparse
import json
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--episode-type", required=True)
    parser.add_argument("--seed", type=int, default=0, help="draws the length test's 100 support items")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    from seq_plugins.tasks import episodes  # fairseq-free: the generators only

    sys.path.insert(0, args.checkout)
    import train as lake  # its module body only defines; its training runs under __main__

    torch.set_num_threads(1)
    # train.py ran as __main__, so its pickle names the class __main__.Lang
    torch.serialization.add_safe_globals([(lake.Lang, "__main__.Lang"), argparse.Namespace])
    checkpoint = torch.load(args.model, map_location="cpu", weights_only=True)
    input_lang, output_lang = checkpoint["input_lang"], checkpoint["output_lang"]
    sizes = (checkpoint["emb_size"], input_lang.n_symbols, output_lang.n_symbols, checkpoint["nlayers"],
             checkpoint["dropout"])
    encoder = (lake.WrapperEncoderRNN if checkpoint["disable_memory"] else lake.MetaNetRNN)(*sizes)
    decoder_sizes = (checkpoint["emb_size"], output_lang.n_symbols, checkpoint["nlayers"], checkpoint["dropout"])
    decoder = (lake.AttnDecoderRNN if checkpoint["use_attention"] else lake.DecoderRNN)(*decoder_sizes)
    encoder.load_state_dict(checkpoint["encoder_state_dict"])
    decoder.load_state_dict(checkpoint["decoder_state_dict"])
    episode = episodes.episode_type(args.episode_type).test_episode(np.random.default_rng([args.seed, 2]))
    support, query = episode["support"], [q for q in episode["query"] if q not in episode["support"]]
    sample = lake.build_sample([s for s, _ in support], [t for _, t in support], [s for s, _ in query],
                               [t for _, t in query], input_lang, output_lang, "test")
    with torch.no_grad(), np.errstate(invalid="ignore"):  # its retrieval accuracy: a mean over no support queries
        accuracy = lake.evaluate(sample, encoder, decoder, input_lang, output_lang, checkpoint["max_length_eval"])[0]
    correct = round(accuracy * len(query) / 100)
    result = {"model": args.model, "episode_type": args.episode_type, "episode": checkpoint.get("episode"),
              "not_in_support": {"correct": correct, "n": len(query), "accuracy": correct / len(query)}}
    with open(args.out + ".tmp", "w") as f:
        json.dump(result, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"{args.episode_type}: {100 * correct / len(query):.2f}% of {len(query)} test queries")


if __name__ == "__main__":
    main()
