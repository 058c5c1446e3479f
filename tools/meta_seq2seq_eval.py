"""Greedy exact-match accuracy of a meta_seq2seq checkpoint on its episode type's test episode.

    python -m tools.meta_seq2seq_eval --checkpoint runs/meta_seq2seq/perm_1/checkpoint_last.pt --out result.json

The test episode (add jump for the primitive types, around right, length; the held-out validation episodes for
``me``) is decoded in batches of queries that all read the same support set. Accuracy is reported over all
queries and separately for queries that are and are not in the support set (retrieval and generalization;
``--include-support`` adds the support items to the queries, as the support loss does in training). ``--queries FILE`` replaces the test
queries by the ``IN: ... OUT: ...`` lines of a file (the support set stays). ``--errors FILE`` writes every wrongly
decoded query as a JSON line (input, target, output).

``--memory-attention`` also reports whether the memory finds the right support item: at every query position
holding the word of a one-word support input (the three words of ``me``, the four primitives of add jump), the
attention weight A on that support item, averaged, next to 1 / (support size), what uniform attention gives.
"""

from preprocess.scan_grammar import read_lines
from seq_cli import OneLineArgumentParser, UsageError, check_input_file, command_name, console
from tools.atomic_files import write_json, write_jsonl

PROG = command_name("python -m tools.meta_seq2seq_eval")


def read_queries(path):
    """(input words, output symbols) of each ``IN: ... OUT: ...`` line; a UsageError names a bad line."""
    return [(words, actions) for _number, words, actions in read_lines(path)]


def evaluate_episode(model, task, episode, batch_size, progress, errors=None):
    """Counts of exact matches over all queries, those in the support set and those not in it; ``progress``
    (seq_plugins.progress.Progress) counts the decoded queries; each wrong query is appended to ``errors`` (a
    list) as {"input", "target", "output"} when one is given."""
    import torch

    from seq_plugins.tasks.meta_seq2seq_episodes import collate_episode

    support = {(tuple(s), tuple(t)) for s, t in episode["support"]}
    counts = {"all": [0, 0], "in_support": [0, 0], "not_in_support": [0, 0]}
    device = next(model.parameters()).device
    queries = episode["query"]
    for start in range(0, len(queries), batch_size):
        chunk = queries[start:start + batch_size]
        batch = collate_episode({"support": episode["support"], "query": chunk}, task.source_dictionary,
                                task.target_dictionary, score_support=False)
        net_input = {k: v.to(device) for k, v in batch["net_input"].items()}
        max_len = max(len(t) for _, t in chunk) + 1  # one past the longest target, so a missing end shows
        outputs = model.greedy(net_input, max_len)
        for (source, target), output in zip(chunk, outputs):
            predicted = task.target_dictionary.string(torch.tensor(output)).split()
            right = predicted == list(target)
            if not right and errors is not None:
                errors.append({"input": " ".join(source), "target": " ".join(target), "output": " ".join(predicted)})
            for key in ("all", "in_support" if (tuple(source), tuple(target)) in support else "not_in_support"):
                counts[key][0] += right
                counts[key][1] += 1
        progress.update(len(chunk))
    return counts


def matching_item_attention(model, task, episode, batch_size):
    """(sum, count) of the memory attention on the one-word support item whose word stands at a query position,
    over all such positions of the episode's queries."""
    import torch

    from seq_plugins.tasks.meta_seq2seq_episodes import collate_episode

    src_dict = task.source_dictionary
    item_of_word = {src_dict.index(s[0]): i for i, (s, _) in enumerate(episode["support"]) if len(s) == 1}
    total, count = 0.0, 0
    device = next(model.parameters()).device
    for start in range(0, len(episode["query"]), batch_size):
        batch = collate_episode({"support": episode["support"], "query": episode["query"][start:start + batch_size]},
                                src_dict, task.target_dictionary, score_support=False)
        net_input = {k: v.to(device) for k, v in batch["net_input"].items() if k != "prev_output_tokens"}
        with torch.no_grad():
            _, weights, _ = model.read_memory(**net_input)  # (length, batch, support)
        for j, tokens in enumerate(net_input["src_tokens"].tolist()):
            for t, token in enumerate(tokens):
                if token in item_of_word:
                    total += weights[t, j, item_of_word[token]].item()
                    count += 1
    return total, count


def summarize(counts):
    return {key: {"correct": c, "n": n, "accuracy": c / n if n else None} for key, (c, n) in counts.items()}


def build_parser():
    parser = OneLineArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--queries", help="IN/OUT lines to use as queries instead of the test episode's")
    parser.add_argument("--include-support", action="store_true",
                        help="also decode the support items as queries (the retrieval accuracy, as in training)")
    parser.add_argument("--memory-attention", action="store_true",
                        help="also report the memory attention on the support item of each one-word query position")
    parser.add_argument("--batch-size", type=int, default=500, help="queries decoded at once")
    parser.add_argument("--out", help="write the result as JSON here")
    parser.add_argument("--errors", metavar="FILE",
                        help="write each wrongly decoded query as a JSON line: input, target and output")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    check_input_file(args.checkpoint, "checkpoint")
    queries = read_queries(args.queries) if args.queries else None
    from seq_plugins.checkpoint_safety import load_model_and_task  # loads fairseq: after the argument checks
    from seq_plugins.progress import Progress

    model, task = load_model_and_task(args.checkpoint)
    if not hasattr(task, "test_episode"):
        raise UsageError(f"{args.checkpoint} was not trained with --task meta_seq2seq_episodes")
    kind = str(task.cfg.episode_type)
    episodes = task.validation_episodes() if kind == "me" else [task.test_episode()]
    if args.memory_attention and not model.use_memory:
        raise UsageError(f"--memory-attention: {args.checkpoint} was trained with --no-memory")
    if queries is not None:
        episodes = [{**episode, "query": queries} for episode in episodes]
    if args.include_support:
        episodes = [{**episode, "query": episode["query"] + episode["support"]} for episode in episodes]
    total = {"all": [0, 0], "in_support": [0, 0], "not_in_support": [0, 0]}
    errors = [] if args.errors else None
    attention, positions, uniform = 0.0, 0, 0.0
    with Progress(sum(len(episode["query"]) for episode in episodes), "decoding", "queries") as progress:
        for episode in episodes:
            for key, (c, n) in evaluate_episode(model, task, episode, args.batch_size, progress, errors).items():
                total[key][0] += c
                total[key][1] += n
            if args.memory_attention:
                episode_sum, episode_count = matching_item_attention(model, task, episode, args.batch_size)
                attention, positions = attention + episode_sum, positions + episode_count
                uniform += episode_count / len(episode["support"])
    result = {"checkpoint": args.checkpoint, "episode_type": kind, "test": task.kind.test_name,
              "episodes": len(episodes), **summarize(total)}
    if args.memory_attention:
        if not positions:
            raise UsageError("--memory-attention: no query position holds the word of a one-word support input")
        result["memory_attention"] = {"positions": positions, "on_matching_item": attention / positions,
                                      "uniform": uniform / positions}
    if args.out:
        write_json(args.out, result)
    if args.errors:
        write_jsonl(args.errors, errors)
    for key in ("all", "in_support", "not_in_support"):
        r = result[key]
        accuracy = "-" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f}%"
        print(f"{key:<15} {r['correct']:>6} / {r['n']:<6} {accuracy}")
    if args.memory_attention:
        m = result["memory_attention"]
        print(f"memory attention on the matching support item: {m['on_matching_item']:.4f} over {m['positions']} "
              f"query positions (uniform: {m['uniform']:.4f})")
    return result


def cli():
    """The seq-meta-eval command (setup.py)."""
    console(main, PROG)


if __name__ == "__main__":
    cli()
