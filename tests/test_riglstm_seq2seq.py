"""riglstm_seq2seq in --task transduction: padding is never read, incremental greedy decoding agrees with teacher
forcing, and a short stock fairseq-train run learns and decodes with fairseq-generate."""
import os
import re

import pytest
import torch

from tests.conftest import ROOT, run_cli

SMALL = ["--embed-dim", "8", "--num-cells", "4", "--cell-size", "8", "--num-active", "3", "--num-views", "3",
         "--top-views", "2", "--top-cells", "2", "--view-size", "8", "--attention-size", "8"]


@pytest.fixture(scope="module")
def built(tiny_identity):
    from fairseq import options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    args = options.parse_args_and_arch(options.get_training_parser(), [
        str(tiny_identity / "data-bin"), "--user-dir", os.path.join(ROOT, "seq_plugins"), "--task", "transduction",
        "--arch", "riglstm_seq2seq", *SMALL])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(0)
    model = task.build_model(cfg.model).eval()
    task.load_dataset("ood")
    return task, model


def sample_of(task, ids):
    dataset = task.dataset("ood")
    return dataset.collater([dataset[i] for i in ids])


def test_padded_batch_equals_one_by_one(built):
    task, model = built
    batch = sample_of(task, [0, 5, 25, 39])
    assert len(set(batch["net_input"]["src_lengths"].tolist())) > 1
    pad = task.target_dictionary.pad()
    with torch.no_grad():
        batched, _ = model(**batch["net_input"])
        for row in range(batch["id"].numel()):
            alone = sample_of(task, [batch["id"][row].item()])
            single, _ = model(**alone["net_input"])
            length = alone["target"].ne(pad).sum().item()
            torch.testing.assert_close(batched[row, :length], single[0, :length], rtol=1e-5, atol=1e-5)


def test_incremental_greedy_decoding_equals_teacher_forced_argmax(built):
    from fairseq.dataclass.configs import GenerationConfig

    task, model = built
    sample = sample_of(task, range(8))
    generator = task.build_generator([model], GenerationConfig(beam=1, max_len_a=0, max_len_b=6))
    eos, pad = task.target_dictionary.eos(), task.target_dictionary.pad()
    with torch.no_grad():
        hypotheses = task.inference_step(generator, [model], sample)
        for i, hypothesis in enumerate(hypotheses):
            tokens = hypothesis[0]["tokens"]
            src = sample["net_input"]["src_tokens"][i:i + 1]
            src = src[:, src[0].ne(pad)]
            prev = torch.cat([torch.tensor([eos]), tokens[:-1]]).unsqueeze(0)
            logits, _ = model(src, torch.tensor([src.size(1)]), prev)
            logits[..., pad] = float("-inf")
            logits[0, 0, eos] = float("-inf")  # the generator's min_len=1
            steps = len(tokens) - 1 if len(tokens) > 6 else len(tokens)  # eos forced when out of room
            assert logits[0, :steps].argmax(-1).tolist() == tokens[:steps].tolist()


def test_fairseq_train_and_generate(tiny_identity, tmp_path):
    data_bin = str(tiny_identity / "data-bin")
    train = run_cli(["fairseq-train", data_bin, "--user-dir", "seq_plugins", "--task", "transduction",
                     "--arch", "riglstm_seq2seq", *SMALL, "--criterion", "cross_entropy_acc", "--optimizer", "adam",
                     "--lr", "1e-2", "--batch-size", "50", "--max-epoch", "3", "--seed", "1", "--num-workers", "0",
                     "--no-progress-bar", "--log-format", "simple", "--save-dir", str(tmp_path)])
    assert train.returncode == 0, train.stderr[-2000:]
    losses = [float(x) for x in re.findall(r"valid on 'valid' subset \| loss (\S+)", train.stdout)]
    assert len(losses) == 3 and losses[-1] < losses[0]
    generate = run_cli(["fairseq-generate", data_bin, "--user-dir", "seq_plugins", "--task", "transduction",
                        "--path", str(tmp_path / "checkpoint_best.pt"), "--gen-subset", "ood", "--beam", "1",
                        "--batch-size", "20"])
    assert generate.returncode == 0, generate.stderr[-2000:]
    assert len(re.findall(r"^H-\d+", generate.stdout, flags=re.M)) == 80  # the whole ood split
