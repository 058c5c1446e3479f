"""Every README code block marked ``<!-- runnable: N s -->`` runs as written, within twice its budget of N seconds.

The blocks of one README section run in order in one temporary directory that mirrors the repository through
symlinks (every top-level entry but data/, runs/ and results/), so ``.venv/bin/...``, ``hyperparams/...`` and
``--user-dir seq_plugins`` resolve while everything the blocks write stays in that directory.
"""
import os
import re
import shlex
import signal
import subprocess

import pytest

from tests.conftest import ROOT

README = os.path.join(ROOT, "README.md")
MARK = re.compile(r"<!--\s*runnable:\s*(\S+)\s*s\s*-->")
OUTPUTS = {"data", "runs", "results"}  # what the blocks write: kept out of the mirror
MARGIN = 2  # CI machines are slower than the 2 cores the budgets were measured on
TOTAL_BUDGET_S = 300  # the README's runnable blocks together; the whole suite must stay under 20 minutes


def readme_blocks(path=README):
    """Every fenced block as {"section", "lang", "code", "budget", "line"}: the last heading above it, the fence's
    language, its text, the budget of a runnable mark right above it (None if unmarked, the mark's text if it does
    not parse) and the fence's line number."""
    blocks, section, mark, fence = [], None, None, None
    for number, line in enumerate(open(path, encoding="utf-8").read().splitlines(), 1):
        if fence is not None:
            if line.strip() == "```":
                blocks.append(fence)
                fence = None
            else:
                fence["code"] += line + "\n"
            continue
        if line.startswith("```"):
            fence = {"section": section, "lang": line[3:].strip(), "code": "", "budget": mark, "line": number}
            mark = None
            continue
        found = MARK.search(line)
        if found:
            mark = int(found.group(1)) if found.group(1).isdigit() else found.group(0)
        elif line.startswith("#"):
            section, mark = line.lstrip("#").strip(), None
        elif line.strip():
            mark = None  # a mark belongs to the block right below it
    return blocks


def runnable_blocks():
    return [block for block in readme_blocks() if block["budget"] is not None]


def block_id(block):
    same = [b for b in runnable_blocks() if b["section"] == block["section"]]
    return f"{block['section']} #{same.index(block) + 1}"


def test_marked_blocks_parse_and_fit_the_suite():
    blocks = runnable_blocks()
    assert blocks, f"{README} has no <!-- runnable: N s --> block"
    for block in blocks:
        where = f"README.md line {block['line']}"
        assert isinstance(block["budget"], int) and block["budget"] > 0, f"{where}: bad mark {block['budget']!r}"
        assert block["lang"] == "bash", f"{where}: a runnable block must be ```bash, not {block['lang']!r}"
        assert block["section"], f"{where}: a runnable block needs a heading above it"
    total = sum(block["budget"] for block in blocks)
    assert total <= TOTAL_BUDGET_S, f"the runnable blocks' budgets add up to {total} s, over {TOTAL_BUDGET_S} s"


def test_no_bash_block_has_an_ellipsis_for_arguments():
    for block in readme_blocks():
        if block["lang"] != "bash":
            continue
        words = shlex.split(block["code"].replace("\\\n", " "), comments=True)
        assert not [w for w in words if "..." in w], \
            f"README.md line {block['line']}: a literal '...' cannot run:\n{block['code']}"


def test_the_parser_reads_marks_sections_and_fences(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# A\n\n<!-- runnable: 12 s -->\n```bash\necho a \\\n  b\n```\n\ntext\n```\nsample\n```\n"
                      "## B\n<!-- runnable: 3 s -->\n\nprose between\n```bash\necho c\n```\n"
                      "<!-- runnable: soon s -->\n```bash\necho d\n```\n")
    blocks = readme_blocks(str(readme))
    assert [(b["section"], b["lang"], b["budget"]) for b in blocks] == [
        ("A", "bash", 12), ("A", "", None), ("B", "bash", None), ("B", "bash", "<!-- runnable: soon s -->")]
    assert blocks[0]["code"] == "echo a \\\n  b\n"


@pytest.fixture(scope="module")
def sections():
    """Per README section: its mirror directory and the blocks of it already run (index -> None or why it failed)."""
    return {}


def mirror(directory):
    for name in os.listdir(ROOT):
        if name not in OUTPUTS:
            os.symlink(os.path.join(ROOT, name), os.path.join(directory, name))


def run_block(block, directory):
    """Run the block with bash -euo pipefail in ``directory``; None if it exited 0 in time, else why not."""
    timeout = block["budget"] * MARGIN
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    # its own process group, so that a timeout also ends what the block started (sweep workers, trainings)
    process = subprocess.Popen(["bash", "-c", "set -euo pipefail\n" + block["code"]], cwd=directory, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return f"README.md line {block['line']}: still running after {timeout} s (budget {block['budget']} s " \
               f"x {MARGIN}):\n{output[-3000:]}"
    if process.returncode != 0:
        return f"README.md line {block['line']}: exit {process.returncode}:\n{output[-3000:]}"
    return None


@pytest.mark.parametrize("block", runnable_blocks(), ids=block_id)
def test_readme_block_runs_as_written(block, sections, tmp_path_factory):
    blocks = [b for b in runnable_blocks() if b["section"] == block["section"]]
    if block["section"] not in sections:
        directory = tmp_path_factory.mktemp("readme")
        mirror(directory)
        sections[block["section"]] = (directory, {})
    directory, done = sections[block["section"]]
    for index, earlier in enumerate(blocks[:blocks.index(block)]):  # later blocks read earlier blocks' outputs
        if index not in done:
            done[index] = run_block(earlier, directory)
        if done[index]:
            pytest.fail(f"an earlier block of this section failed: {done[index]}")
    failure = run_block(block, directory)
    done[blocks.index(block)] = failure
    assert failure is None, failure
