"""seq_plugins: a fairseq plugin toolkit for studying how sequence-to-sequence learners generalize."""
from setuptools import find_packages, setup

setup(
    name="seq_plugins",
    version="0.1.0",
    description=__doc__,
    python_requires=">=3.11",
    packages=find_packages(include=["seq_plugins*", "preprocess*", "tools*"]),
    # versions are pinned in requirements.txt (fairseq-fixed needs a two-step install, see the Makefile)
    install_requires=["fairseq-fixed", "torch", "numpy", "matplotlib", "submitit", "sacrebleu"],
)
