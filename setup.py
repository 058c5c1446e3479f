"""seq_plugins: a fairseq plugin toolkit for studying how sequence-to-sequence learners generalize."""
from setuptools import find_packages, setup

setup(
    name="seq_plugins",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.11",
    packages=find_packages(include=["seq_plugins*", "preprocess*", "tools*"]),
    py_modules=["seq_cli"],  # the commands' argument plumbing, importable without loading the plugin (see its doc)
    # versions are pinned in requirements.txt (fairseq-fixed needs a two-step install, see the Makefile)
    install_requires=["fairseq-fixed", "torch", "numpy", "matplotlib", "submitit", "sacrebleu"],
    # one command per tool, so that nothing needs the venv activated or a `python -m` path
    entry_points={"console_scripts": [
        "seq-sweep = tools.sweep:cli",
        "seq-report = tools.report:cli",
        "seq-find-data = preprocess.find:cli",
        "seq-fpa = tools.fpa:cli",
        "seq-find-demo = tools.find_demo:cli",
        "seq-transduction-data = preprocess.transductions:cli",
        "seq-transduction-run = tools.transduction_run:cli",
        "seq-transduction-table = tools.transduction_table:cli",
        "seq-transduction-demo = tools.transduction_demo:cli",
        "seq-evaluate = tools.evaluate:cli",
        "seq-scan-data = preprocess.scan:cli",
        "seq-meta-eval = tools.meta_seq2seq_eval:cli",
        "seq-lookup25 = tools.lookup25:cli",
        "seq-lookup25-pictures = tools.lookup25_pictures:cli",
        "seq-riglstm-table = tools.riglstm_table:cli",
        "seq-bouncing-balls-baselines = tools.bouncing_balls_baselines:cli",
        "seq-compare-original = tools.compare_original:cli",
        "seq-split-ensemble = tools.split_ensemble:cli",
        "seq-ledger = tools.ledger:cli",
        "seq-meta-run = tools.meta_seq2seq_run:cli",
    ]},
)
