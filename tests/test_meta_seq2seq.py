import itertools

import numpy as np
import pytest
import torch

from preprocess import scan_grammar as scan
from seq_cli import UsageError
from seq_plugins.models.meta_seq2seq import MetaSeq2Seq, MetaSeq2SeqConfig
from seq_plugins.tasks import episodes
from seq_plugins.tasks.meta_seq2seq_episodes import (MetaSeq2SeqEpisodesConfig, MetaSeq2SeqEpisodesTask, collate_episode,
                                                  pad_right)
from tests.conftest import run_cli

SIZES = {"me": (3, 20), "scan_prim_permutation": (20, 20), "scan_prim_augmentation": (20, 20),
         "scan_around_right": (20, 20), "scan_length": (100, 20)}


def make_task(kind, **overrides):
    return MetaSeq2SeqEpisodesTask.setup_task(MetaSeq2SeqEpisodesConfig(episode_type=kind, seed=7, **overrides))


def word_meanings(episode):
    """For the relabelled SCAN types: every (input word -> output symbol) the episode implies, as pairs."""
    pairs = set()
    for source, target in episode["support"] + episode["query"]:
        if len(source) == 1:
            pairs.add((source[0], tuple(target)))
    return pairs


@pytest.mark.parametrize("kind", sorted(SIZES))
def test_episode_sizes_determinism_and_held_out_identifiers(kind):
    task = make_task(kind)
    valid = task.validation_episodes()
    held_out = {e["id"] for e in valid}
    assert len(held_out) == len(valid) == 5
    drawn = [task.training_episode(1, i) for i in range(40)]
    for episode in drawn:
        assert (len(episode["support"]), len(episode["query"])) == SIZES[kind]
        assert len({tuple(s) for s, _ in episode["query"]}) == len(episode["query"])  # distinct queries
        assert episode["id"] not in held_out
    assert drawn[3] == make_task(kind).training_episode(1, 3)  # same seed, same episode
    assert drawn[3] != task.training_episode(2, 3)  # another epoch, another episode
    other = MetaSeq2SeqEpisodesTask.setup_task(MetaSeq2SeqEpisodesConfig(episode_type=kind, seed=8))
    assert other.validation_episodes() != valid


def test_me_uses_19_bijections_and_exclusion():
    task = make_task("me")
    held_out = {e["id"] for e in task.validation_episodes()}
    seen = {task.training_episode(1, i)["id"] for i in range(400)}
    assert len(seen) == 19 and not seen & held_out
    episode = task.training_episode(1, 0)
    meaning = dict(zip(episodes.ME_WORDS, episode["id"]))
    shown = {s[0] for s, _ in episode["support"]}
    assert len(shown) == 3
    for source, target in episode["query"]:
        assert 2 <= len(source) <= 6 and target == [meaning[w] for w in source]


def test_scan_episodes_follow_one_relabelling_and_never_the_true_one():
    true = {p: scan.ACTIONS[p] for p in scan.PRIMITIVES}
    perm, aug, around = make_task("scan_prim_permutation"), make_task("scan_prim_augmentation"), make_task(
        "scan_around_right")
    seen_permutations = set()
    for i in range(60):
        episode = perm.training_episode(1, i)
        mapping = dict(episode["id"][1])
        assert sorted(mapping.values()) == sorted(true.values()) and mapping != {a: a for a in true.values()}
        seen_permutations.add(tuple(sorted(mapping.items())))
        for source, target in episode["support"] + episode["query"]:
            assert target == [mapping.get(a, a) for a in scan.interpret(" ".join(source))]

        words, meanings = (dict(x) for x in aug.training_episode(1, i)["id"][:2])
        assert not any(w == "jump" and meanings[true[p]] == "I_JUMP" for p, w in words.items())
        words, meanings = (dict(x) for x in around.training_episode(1, i)["id"][:2])
        assert not any(w == "right" and meanings[scan.TURNS[d]] == "I_TURN_RIGHT" for d, w in words.items())
        assert all("around right" not in c for c in around.training_episode(1, i)["id"][2])
    assert len(seen_permutations) > 15


def test_test_episodes():
    for kind, (n_support, n_query) in {"scan_prim_permutation": (4, 7706), "scan_prim_augmentation": (4, 7706),
                                       "scan_around_right": (2, 4476), "scan_length": (100, 3920)}.items():
        episode = make_task(kind).test_episode()
        assert (len(episode["support"]), len(episode["query"])) == (n_support, n_query)
        assert all(t == scan.interpret(" ".join(s)) for s, t in episode["support"] + episode["query"][:50])
    assert make_task("scan_length").test_episode() == make_task("scan_length").test_episode()


def test_bad_input_is_one_clear_error():
    with pytest.raises(UsageError, match="unknown episode type 'fly'"):
        episodes.episode_type("fly")
    with pytest.raises(UsageError, match="me support: cannot draw 5 distinct items from a pool of 4"):
        make_task("me", num_support=5).validation_episodes()
    task = make_task("me")
    with pytest.raises(UsageError, match="a query holds the word 'blicket', which is not in the vocabulary"):
        collate_episode({"support": [(["dax"], ["RED"])], "query": [(["blicket"], ["RED"])]}, task.src_dict,
                        task.tgt_dict, False)


# symbols beyond fairseq's four specials, as Lake's code builds them per episode type (its Lang adds SOS and EOS):
# me 4 -> 4 colours; SCAN 13 words -> 6 actions, plus 1..20 -> I_1..I_20 (augmentation, length) or 1, 2 -> I_1, I_2
ORIGINAL_VOCABULARY_SIZES = {"me": (4, 4), "scan_prim_permutation": (13, 6), "scan_prim_augmentation": (33, 26),
                             "scan_around_right": (15, 8), "scan_length": (33, 26)}


@pytest.mark.parametrize("kind", sorted(SIZES))
def test_each_episode_type_has_the_original_vocabulary(kind):
    task = make_task(kind)
    specials = task.tgt_dict.nspecial
    assert (len(task.src_dict) - specials, len(task.tgt_dict) - specials) == ORIGINAL_VOCABULARY_SIZES[kind]
    for episode in [task.training_episode(1, 0), *task.validation_episodes()]:  # every symbol drawn is known
        collate_episode(episode, task.src_dict, task.tgt_dict, score_support=True)
    if kind == "me":
        assert task.tgt_dict.symbols[specials:] == sorted(episodes.ME_MEANINGS)
    shared = make_task(kind, shared_vocabulary=True)
    assert len(shared.tgt_dict) == 34  # with the specials, the 34 output symbols of every type together


def tiny_model(task, **flags):
    torch.manual_seed(0)
    return MetaSeq2Seq(MetaSeq2SeqConfig(hidden_size=16, **flags), task.src_dict, task.tgt_dict).eval()


def test_shapes_support_loss_and_masking():
    task = make_task("scan_prim_permutation")
    episode = task.training_episode(1, 0)
    batch = collate_episode(episode, task.src_dict, task.tgt_dict, score_support=True)
    assert batch["nsentences"] == 40 and batch["target"].size(0) == 40
    assert collate_episode(episode, task.src_dict, task.tgt_dict, score_support=False)["nsentences"] == 20
    model = tiny_model(task, mask_padding=True)
    logits, extra = model(**batch["net_input"])
    assert logits.shape == (*batch["target"].shape, len(task.tgt_dict))
    weights = extra["attn"][0]
    lengths = batch["net_input"]["src_lengths"]
    padded = torch.arange(weights.size(-1))[None, None, :] >= lengths[:, None, None]
    assert weights.masked_select(padded.expand_as(weights)).eq(0).all()
    # a query decoded alone or next to longer ones (more padding) gets the same scores
    short = min(range(20), key=lambda i: len(episode["query"][i][0]))
    alone = collate_episode({**episode, "query": [episode["query"][short]]}, task.src_dict, task.tgt_dict, False)
    together = collate_episode(episode, task.src_dict, task.tgt_dict, False)
    n = alone["target"].size(1)
    with torch.no_grad():
        torch.testing.assert_close(model(**alone["net_input"])[0][0],
                                   model(**together["net_input"])[0][short, :n], atol=1e-5, rtol=1e-5)
        # greedy decoding equals the argmax of the teacher-forced decoder fed its own outputs
        greedy = model.greedy(together["net_input"], 30)
        # token ids, not strings: an untrained model over the small vocabulary also emits <s> and <unk>
        prev, _ = pad_right([[task.tgt_dict.eos()] + out for out in greedy], task.tgt_dict.pad())
        logits = model(**{**together["net_input"], "prev_output_tokens": prev})[0]
        logits[..., task.tgt_dict.pad()] = float("-inf")
        for i, out in enumerate(greedy):
            ended = len(out) < 30
            assert logits[i].argmax(-1)[:len(out) + ended].tolist() == out + [task.tgt_dict.eos()] * ended


@pytest.mark.parametrize("flags", [{}, {"mask_padding": True}, {"no_decoder_attention": True}])
def test_teacher_forcing_computes_what_stepping_the_decoder_computes(flags):
    """The teacher-forced decoder (packed LSTM, attention per query over padded steps) against the one-step
    decoder (nn.LSTM, one position at a time) fed the same tokens: equal logits, attention weights and parameter
    gradients at every real position of queries of different lengths."""
    task = make_task("scan_prim_permutation")
    batch = collate_episode(task.training_episode(1, 0), task.src_dict, task.tgt_dict, score_support=True)
    model = tiny_model(task, **flags).double()
    net_input, target = batch["net_input"], batch["target"]
    real = target.ne(task.tgt_dict.pad())
    assert real.sum(1).unique().numel() > 3  # targets of several lengths, so padding is exercised

    def scored(logits):  # log-probabilities of the targets at real positions (logits -inf off the output symbols)
        return torch.log_softmax(logits, -1).gather(-1, target[..., None])[..., 0][real]

    def gradients(value):
        model.zero_grad()
        value.sum().backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    forced, extra = model(**net_input)
    forced_grads = gradients(scored(forced))
    context, padding_mask, state = model.encode(**{k: v for k, v in net_input.items() if k != "prev_output_tokens"})
    steps, weights = [], []
    for t in range(target.size(1)):
        logits, w, state = model.decode(net_input["prev_output_tokens"][:, t:t + 1], context, padding_mask, state)
        steps.append(logits)
        weights.append(w)
    stepped = torch.cat(steps, dim=1)
    torch.testing.assert_close(forced[real], stepped[real], rtol=1e-10, atol=1e-10)
    if not flags.get("no_decoder_attention"):
        torch.testing.assert_close(extra["attn"][0][real], torch.cat(weights, dim=1)[real], rtol=1e-10, atol=1e-10)
        assert extra["attn"][0][~real].eq(0).all()
    stepped_grads = gradients(scored(stepped))
    assert forced_grads.keys() == stepped_grads.keys()
    for name, grad in forced_grads.items():
        torch.testing.assert_close(grad, stepped_grads[name], rtol=1e-8, atol=1e-10, msg=name)


@pytest.mark.parametrize("flags", [{}, {"no_decoder_attention": True}])
def test_output_softmax_has_the_originals_symbols(flags):
    task = make_task("me")
    batch = collate_episode(task.training_episode(1, 0), task.src_dict, task.tgt_dict, score_support=True)
    d = task.tgt_dict
    logits = tiny_model(task, **flags)(**batch["net_input"])[0][batch["target"].ne(d.pad())]  # real positions
    kept = [i for i in range(len(d)) if i not in (d.bos(), d.unk())]  # 4 colours, </s>, <pad> (Lake's SOS)
    assert len(kept) == 6 and logits[..., [d.bos(), d.unk()]].eq(float("-inf")).all()
    torch.testing.assert_close(torch.log_softmax(logits, -1)[..., kept], torch.log_softmax(logits[..., kept], -1))


def test_ablation_flags():
    task = make_task("scan_prim_permutation")
    a, b = task.training_episode(1, 0), task.training_episode(1, 1)
    other_support = {**a, "support": b["support"]}
    batches = [collate_episode(e, task.src_dict, task.tgt_dict, False)["net_input"] for e in (a, other_support)]
    with torch.no_grad():
        memory = tiny_model(task)
        assert not torch.allclose(memory(**batches[0])[0], memory(**batches[1])[0])  # reads the support
        plain = tiny_model(task, no_memory=True)
        assert plain.context is None
        torch.testing.assert_close(plain(**batches[0])[0], plain(**batches[1])[0])  # ignores it
        no_attention = tiny_model(task, no_decoder_attention=True)
        logits, extra = no_attention(**batches[0])
        assert no_attention.attention_out is None and extra["attn"][0] is None and logits.size(0) == 20
        # by default, like the original, the decoder attends to padded positions too; masking them changes only
        # the shorter queries
        logits, extra = memory(**batches[0])
        masked = tiny_model(task, mask_padding=True)
        lengths = batches[0]["src_lengths"]
        longest = lengths.eq(lengths.max())
        assert extra["attn"][0][~longest][:, 0, -1].gt(0).all()  # first output step: weight on the padded end
        torch.testing.assert_close(logits[longest], masked(**batches[0])[0][longest])
        assert not torch.allclose(logits[~longest], masked(**batches[0])[0][~longest])


def test_memory_attention_on_the_matching_support_item():
    from tools.meta_seq2seq_eval import matching_item_attention

    task = make_task("me")
    model = tiny_model(task)
    episode = {"support": [(["dax"], ["RED"]), (["wif", "lug"], ["BLUE", "GREEN"]), (["lug"], ["GREEN"])],
               "query": [(["lug", "dax"], ["GREEN", "RED"]), (["zup", "wif", "lug"], ["BLUE", "BLUE", "GREEN"])]}
    seen = []

    def read_memory(src_tokens, **unused):  # weight 1 / (10 t + j + 1) on every item at position t of query j
        seen.append(src_tokens.tolist())
        length, batch = src_tokens.size(1), src_tokens.size(0)
        w = 1 / (10 * torch.arange(length)[:, None, None] + torch.arange(batch)[None, :, None] + 1.0)
        return None, w.expand(length, batch, 3), None

    model.read_memory = read_memory
    total, count = matching_item_attention(model, task, episode, batch_size=1)
    # one-word items: dax (item 0), lug (item 2); positions: query 0 at t = 0, 1; query 1 at t = 2 (batches of one)
    assert count == 3 and len(seen) == 2
    assert total == pytest.approx(1 / 1 + 1 / 11 + 1 / 21)


def test_fairseq_train_end_to_end_and_evaluation(tmp_path):
    save = tmp_path / "run"
    common = ["--user-dir", "seq_plugins", "--task", "meta_seq2seq_episodes", "--arch", "meta_seq2seq",
              "--criterion", "cross_entropy_acc", "--optimizer", "adam", "--lr", "0.003", "--clip-norm", "50",
              "--batch-size", "1", "--hidden-size", "32", "--dropout", "0", "--seed", "1",
              "--no-epoch-checkpoints", "--log-format", "json", "--log-interval", "1"]
    result = run_cli(["fairseq-train", "--episode-type", "me", "--max-update", "60", "--episodes-per-epoch", "30",
                      "--save-dir", str(save), *common], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    losses = [float(line.split('"train_loss": "')[1].split('"')[0]) for line in result.stdout.splitlines()
              if '"train_loss"' in line]
    # epoch means, bits per symbol: it learns (chance over the 4 colours and end-of-sequence is 2.3 bits)
    assert len(losses) == 2 and losses[1] < losses[0] - 0.25

    checkpoint = save / "checkpoint_last.pt"
    torch.load(checkpoint, weights_only=True)
    result = run_cli(["python", "-m", "tools.split_ensemble", str(checkpoint), "--out", str(tmp_path / "s{seed}.pt")])
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "not a seed_ensemble checkpoint (its arch is 'meta_seq2seq')" in result.stderr
    no_batch_size = [flag for i, flag in enumerate(common) if "--batch-size" not in common[max(0, i - 1):i + 1]]
    result = run_cli(["fairseq-train", "--episode-type", "me", "--max-update", "1", "--save-dir", str(save / "y"),
                      *no_batch_size])
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == ("fairseq-train: error: no batch size: give --batch-size N "
                                                      "(sequences, or episodes for meta_seq2seq_episodes, per batch) "
                                                      "or --max-tokens N")
    out = tmp_path / "result.json"
    errors = tmp_path / "errors.jsonl"
    result = run_cli(["python", "-m", "tools.meta_seq2seq_eval", "--checkpoint", str(checkpoint), "--out", str(out),
                      "--errors", str(errors)])
    assert result.returncode == 0, result.stderr[-2000:]
    import json
    summary = json.loads(out.read_text())
    assert summary["episodes"] == 5 and summary["all"]["n"] == 100
    wrong = [json.loads(line) for line in errors.read_text().splitlines()]
    assert len(wrong) == summary["all"]["n"] - summary["all"]["correct"]
    assert all(e["output"] != e["target"] and e["input"] for e in wrong)
    assert summary["all"]["correct"] == summary["in_support"]["correct"] + summary["not_in_support"]["correct"]
    assert summary["in_support"]["n"] == 0  # me queries are concatenations, the support items single words
    result = run_cli(["python", "-m", "tools.meta_seq2seq_eval", "--checkpoint", str(checkpoint), "--out", str(out),
                      "--include-support", "--memory-attention"])
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads(out.read_text())
    assert (summary["in_support"]["n"], summary["not_in_support"]["n"]) == (15, 100)  # 5 episodes, 3 support items
    attention = summary["memory_attention"]
    assert attention["uniform"] == pytest.approx(1 / 3) and 0 < attention["on_matching_item"] < 1
    assert "memory attention on the matching support item" in result.stdout

    bad = tmp_path / "queries.txt"
    bad.write_text("IN: dax lug OUT: RED YELLOW\nIN: dax blicket OUT: RED RED\n")
    result = run_cli(["python", "-m", "tools.meta_seq2seq_eval", "--checkpoint", str(checkpoint), "--queries", str(bad)])
    assert result.returncode == 2 and "'blicket', which is not in the vocabulary" in result.stderr
    assert result.stderr.count("\n") == 1
    bad.write_text("IN: dax lug OUT: RED YELLOW\ndax\n")
    result = run_cli(["python", "-m", "tools.meta_seq2seq_eval", "--checkpoint", str(checkpoint), "--queries", str(bad)])
    assert result.returncode == 2 and "queries.txt:2: expected" in result.stderr

    result = run_cli(["fairseq-train", "--episode-type", "fly", "--max-update", "1", "--save-dir", str(save / "x"),
                      *common])
    assert result.returncode != 0 and "fly" in result.stderr.strip().splitlines()[-1]
    result = run_cli(["fairseq-train", "--episode-type", "me", "--num-support", "9", "--max-update", "1",
                      "--save-dir", str(save / "y"), *common])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith("me support: cannot draw 9 distinct items from a pool of 4")


STANDARD = {"scan_prim_standard": "scan_prim_permutation", "scan_prim_augmentation_standard": "scan_prim_augmentation",
            "scan_around_right_standard": "scan_around_right", "scan_length_standard": "scan_length"}


@pytest.mark.parametrize("kind", sorted(STANDARD))
def test_standard_training_batches_have_fixed_meanings_and_the_meta_types_test(kind):
    task = make_task(kind)
    fixed = dict(zip(episodes.SLOT_WORDS, episodes.SLOT_MEANINGS))
    renamings = set()
    for i in range(20):
        episode = task.training_episode(1, i)
        assert episode["support"] == [] and len(episode["query"]) == 40
        sources = [s for s, _ in episode["query"]]
        assert len({tuple(s) for s in sources}) == 40
        if kind.startswith("scan_prim"):  # jump in every batch, and only alone
            assert sources[0] == ["jump"] and all("jump" not in s for s in sources[1:])
        words = dict(episode["id"][0])  # canonical primitive -> its word in this batch (renamed types only)
        assert all(w != "jump" for w in words.values())
        canonical = {w: p for p, w in words.items()}
        meaning = {scan.ACTIONS[p]: fixed[w] for p, w in words.items()}  # every word keeps its one meaning
        for source, target in episode["query"][1 if kind.startswith("scan_prim") else 0:]:
            command = " ".join(canonical.get(w, w) for w in source)
            assert target == [meaning.get(a, a) for a in scan.interpret(command)]
        renamings.add(tuple(sorted(words.items())))
        batch = collate_episode(episode, task.src_dict, task.tgt_dict, score_support=True)
        assert batch["net_input"]["support_src"].shape == (0, 0) and batch["nsentences"] == 40
    assert len(renamings) == (20 if kind == "scan_prim_augmentation_standard" else 1)
    assert task.test_episode() == make_task(STANDARD[kind]).test_episode()
    assert (task.src_dict.symbols, task.tgt_dict.symbols) == (make_task(STANDARD[kind]).src_dict.symbols,
                                                              make_task(STANDARD[kind]).tgt_dict.symbols)


def test_a_cell_run_writes_its_result_file_and_standard_training_needs_no_memory(tmp_path):
    """tools.meta_seq2seq_run end to end at 3 episodes: the standard seq2seq baseline of add jump."""
    import json

    results = tmp_path / "results"
    run = ["python", "-m", "tools.meta_seq2seq_run"]
    result = run_cli([*run, "cell", "add_jump_seq2seq", "1", "--episodes", "3", "--results", str(results),
                      "--runs", str(tmp_path / "runs")], timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    record = json.loads((results / "meta_seq2seq" / "runs" / "add_jump_seq2seq" / "seed1.json").read_text())
    assert (record["cell"], record["seed"], record["config"]["episodes"], record["config"]["flags"]) == (
        "add_jump_seq2seq", 1, 3, ["--no-memory"])
    assert record["metrics"]["test_n"] == 7706 and 0 <= record["metrics"]["test_correct"] <= 7706
    assert record["cpu_s"] > 0 and record["wall_s"] > 0 and record["commands"]["train"][0].endswith("fairseq-train")
    assert record["curve"]["points"] == []  # logged every 100 episodes (read_ours: tests/test_compare_original.py)
    again = run_cli([*run, "cell", "add_jump_seq2seq", "1", "--episodes", "3", "--results", str(results)])
    assert again.returncode == 0 and "is done" in again.stdout  # not rerun

    result = run_cli(["fairseq-train", "--user-dir", "seq_plugins", "--task", "meta_seq2seq_episodes", "--episode-type",
                      "scan_prim_standard", "--arch", "meta_seq2seq", "--max-update", "1", "--batch-size", "1",
                      "--save-dir", str(tmp_path / "x")])
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith("trains standard seq2seq without a support set: add --no-memory")


@pytest.mark.parametrize("args, message", [
    (["cell", "add_jump", "1"], "unknown cell 'add_jump'; choose from me, add_jump_permutation,"),
    (["cell", "me", "one"], "seed 'one': expected a non-negative integer"),
    (["train", "fly", "1", "100"], "unknown episode type 'fly'; choose from me, scan_prim_permutation,"),
    (["train", "me", "1.5", "100"], "seed '1.5': expected a non-negative integer"),
])
def test_a_run_with_a_bad_cell_episode_type_or_seed_is_one_line(args, message):
    import subprocess

    from tests.conftest import ROOT

    result = (subprocess.run(["bash", "tools/reproduce_meta_seq2seq.sh", *args[1:]], cwd=ROOT, capture_output=True,
                             text=True) if args[0] == "train" else run_cli(["python", "-m", "tools.meta_seq2seq_run", *args]))
    assert result.returncode == 2 and message in result.stderr and result.stderr.count("\n") == 1
