"""FIND (Kharitonov & Chaabouni 2021): its data generators and grids next to preprocess.find and ours.

    python -m tools.compare_original find --original ~/src/FIND --out runs/compare/find [--tasks add-or-mul,...]

Runs each task's tasks/<task>/generate.sh of the checkout from a copy in <out>/original/<task>/ (its
generate_data.py calls fairseq-preprocess, taken from this environment: fairseq 0.9, which FIND trained with,
is not needed for the data), and python -m preprocess.find for the sizes FIND made into <out>/ours/. Prints, per
task, size and data set, the training pairs and test inputs of both sides and whether they are identical, and
the dictionaries' symbols (count, order). Then compares every FIND grid (hyperparams/**.json) with ours of the
same path key by key, after adding what FIND's runs got without the grid saying it (the bare flags local_grid.py
adds to every run; fairseq 0.9's --clip-norm default), and prints every key whose value differs, with why where
we know. Writes everything to <out>/compare.json. Training is not run: FIND's mdl.py needs fairseq 0.9.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys

REPOSITORY = "facebookresearch/FIND"
COMMIT = "0a91e12be10c6a8ebb35c22dfdf467e2b81e2bcc"
FILES = {
    "hyperparams/default/cnn.json": "6e311ab97d3961ccc3615977550667bcb7a67c0403756ccf98a906d7c25c3f1c",
    "hyperparams/default/cnn_small.json": "97392ce21e4a18137fed82c51fbe430892dd035d2115477a1be26bebf56065db",
    "hyperparams/default/lstm_attention.json": "0be7ba3b4483b95a7c51f849f6d21d457e7faf307e0005370037715dfab3f91a",
    "hyperparams/default/lstm_attention_small.json":
        "46929e4483a7f35b4c2374b0391af4873d5cdbd1c33000aad9107f6f288d2254",
    "hyperparams/default/lstm_noattention.json": "8171e4b9e82ffa3ea2d1cf32bc2155709f0eedfea458b79fe13a14c5c37871e7",
    "hyperparams/default/lstm_noattention_small.json":
        "38f4f06e6662cd97dc29d1528e30551c39ed13bc13937cfa5e6e89ec39c45265",
    "hyperparams/default/transformer.json": "e2555a713424801f9a749b749a5892c1cc1bc62bb8b70fd3b37958a760e1ffdd",
    "hyperparams/default/transformer_lm_small.json":
        "8780646af3f01458d86360f346f2fc48d92fe42499525676da4de443831fbbfe",
    "hyperparams/default/transformer_small.json": "95ea91346c842a3624b992c2f7db40f1d406a8d6455893e904f6dcc514814e71",
    "hyperparams/hierar-or-linear/cnn.json": "47b06916f8034b0e66daf9592cd781e911f68b30a6931d9da0d29d23114f9d67",
    "hyperparams/hierar-or-linear/cnn_small.json": "52796cdb4b5635eabb7b268bd261287d39b6fef4977daaebba7f59bfafba47b6",
    "hyperparams/hierar-or-linear/lstm_attention.json":
        "89675c13874195cbbbaa9e6e029e2c9ce5cd5886a1654bbd25fd85cee8bfa688",
    "hyperparams/hierar-or-linear/lstm_attention_small.json":
        "efad331ea672e8c647bb28fc2bf029090cad156a5508950646dc05f3fff39db0",
    "hyperparams/hierar-or-linear/lstm_noattention.json":
        "ba7ad5783e8efee3fc2aa8732e796de53cdd9e60537edf7941bb39907a30da7a",
    "hyperparams/hierar-or-linear/lstm_noattention_small.json":
        "bb1cfd076fd0076955c00e8a4965fc9c9ca2616741cf95dd793e4d2730afe788",
    "hyperparams/hierar-or-linear/transformer.json":
        "0aca2016b117bfaaf5112f651ca7419c5fb1a632eee6fe70c402d99af329dae7",
    "hyperparams/hierar-or-linear/transformer_lm_small.json":
        "6b64c3fc9a7f3f20c649b70eada4bab4d82780639449398f178ceae1cfdec3ed",
    "hyperparams/hierar-or-linear/transformer_small.json":
        "e067cc84b2e45861fbaa62ffed402e8193fa055796ad0d27791cadc2fa7389d0",
    "hyperparams/lstm_attention.json": "5d72912c5ab9451735d8761ff9af7e1422062f52456751857d5cdd40cb978041",
    "local_grid.py": "d3ba7020c3df71c6b80198d17c0bc52b29a99f002ea1a5656c94f177b8d6d475",
    "tasks/add-or-mul/generate.sh": "d3331a48c2a8f9dbb2dee41db11e2563f05a6942ba6dae48a3b03119eef4e30a",
    "tasks/add-or-mul/generate_data.py": "69ec76c7c3e9c42c60c1028072e1bd5bb692f92479c2efad1c9bdc6060785ccf",
    "tasks/count-or-mem/generate.sh": "ecdfeb63fefa2fa6f39327da97fca03f6d1695c36bfeb676ff6a28513c9b5ae8",
    "tasks/count-or-mem/generate_data.py": "2d59eb314826b0028094ef4feac35db4f4399cb8da4823430fb4cab6bf5a8056",
    "tasks/dax-compo/generate.sh": "e17a184830f29ca25dc84e07672fce9752a72287f2569736764f57c3c06968ae",
    "tasks/dax-compo/generate_data.py": "36db65ae4b311604c2b8077b0922445a36d2992134bb07c7ffe5ad5831470706",
    "tasks/hierar-or-linear/generate.sh": "06ab2e63badfc10175391edee2a007ebea0e24264b8638f3fbd4577c44329b36",
    "tasks/hierar-or-linear/generate_data.py": "9e44f53dce9cc0e44eb2f27fc0ac592457739359e283ebec781fe9425eb3b2cb",
}
RUNTIME_PATCHES = []

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TASKS = {"count-or-mem": "count-or-mem", "add-or-mul": "add-or-mul", "hierar-or-linear": "hierar-or-linear",
         "comp-or-mem": "dax-compo"}  # ours -> FIND's folder
FAIRSEQ_09_DEFAULTS = {"clip-norm": 25}  # where FIND's fairseq differs from fairseq-fixed 0.12 (default 0)
WHY = {
    "arch": "fast_lstm is stock lstm, its decoder loop with a hand-written backward (docs/find.md)",
    "decoder-attention": "the same for one layer: fconv repeats a single value over the layers; lstm reads '1' as 1",
    "mdl-batches-per-epoch": "ours: max-update, the updates of every training (FPA and each MDL block)",
    "max-update": "FIND's: mdl-batches-per-epoch",
    "mdl-train-examples": "ours: read from rules.json (mdl_train_examples)",
    "mdl-block-size": "ours: read from rules.json (block_size)",
    "min-lr": "read by neither FIND's mdl.py loop nor fairseq 0.9's inverse_sqrt schedule",
    "task": "FIND's mdl.py trains fairseq's translation task on frozen full batches",
    "criterion": "fairseq's default, cross_entropy, in FIND",
    "batch-size": "FIND froze every batch to all examples seen (full batch); so does ours with 5000",
    "num-workers": "speed only: no data-loading process per epoch (docs/benchmarks.md)",
    "passes-per-epoch": "speed only: the same weights (docs/find.md)",
    "save-interval": "checkpoints every 1,000 updates, for resuming",
}


def add_arguments(parser):
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma list of ours (default: {','.join(TASKS)})")


def lines(path):
    """The lines of ``path`` (None when it is missing), empty ones kept: an empty line is the empty input."""
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return f.read().split("\n")[:-1]


def dictionary_symbols(path):
    entries = lines(path)
    return None if entries is None else [line.split(" ")[0] for line in entries]


def run_original_generator(checkout, find_task, out):
    """Copy tasks/<task>/ (generate.sh, generate_data.py) into ``out`` and run generate.sh there, as FIND does."""
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name in ("generate.sh", "generate_data.py"):
        shutil.copy(os.path.join(checkout, "tasks", find_task, name), out)
    bin_dir = os.path.dirname(sys.executable)  # python and fairseq-preprocess of this environment
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]), OMP_NUM_THREADS="1",
               PYTHONHASHSEED="0")
    check(["sh", "generate.sh"], out, env, f"FIND's tasks/{find_task}/generate.sh", os.path.join(out, "generate.log"))
    return sorted((int(name) for name in os.listdir(out) if name.isdigit()))


def run_ours(task, sizes, out):
    os.makedirs(out, exist_ok=True)
    check([sys.executable, "-m", "preprocess.find", "--task", task, "--sizes", ",".join(map(str, sizes)), "--out",
           out], ROOT, dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore"), f"preprocess.find --task {task}",
          os.path.join(out, f"{task}.log"))


def check(command, cwd, env, what, log):
    """Run ``command`` with its output in ``log``; a failure is one line naming the log."""
    from seq_cli import UsageError

    with open(log, "w") as f:
        status = subprocess.run(command, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if status != 0:
        raise UsageError(f"{what} exited with status {status}; its output: {log}")


def compare_dataset(theirs, ours, ours_fpa):
    """One data set of one size: FIND's <dir>/data (.src/.dst) against ours (.src/.tgt); test inputs are FIND's
    test.src (the probes in every FIND data set) against our fpa probes."""
    def pairs(root, target):
        src, tgt = (lines(os.path.join(root, "data", f"train.{side}")) for side in ("src", target))
        return None if src is None or tgt is None else list(zip(src, tgt))

    row = {"train": [pairs(theirs, "dst"), pairs(ours, "tgt")],
           "test_inputs": [lines(os.path.join(theirs, "data", "test.src")),
                           lines(os.path.join(ours_fpa, "data", "test.src"))]}
    for side, their_side in (("src", "src"), ("tgt", "dst")):
        row[f"dict_{side}"] = [dictionary_symbols(os.path.join(theirs, "data-bin", f"dict.{their_side}.txt")),
                               dictionary_symbols(os.path.join(ours, "data-bin", f"dict.{side}.txt"))]
    return row


def describe_pair(name, values):
    theirs, ours = values
    if theirs is None or ours is None:
        return f"{name} {'-' if theirs is None else len(theirs)} | {'-' if ours is None else len(ours)}"
    verdict = "identical" if theirs == ours else "DIFFER"
    if name.startswith("dict") and theirs != ours and sorted(theirs) == sorted(ours):
        verdict = "same symbols, other order"
    return f"{name} {len(theirs)} | {len(ours)} {verdict}"


def compare_data(checkout, tasks, out):
    rows = []
    for task in tasks:
        find_task = TASKS[task]
        original = os.path.join(out, "original", find_task)
        sizes = run_original_generator(checkout, find_task, original)
        run_ours(task, sizes, os.path.join(out, "ours"))
        for size in sizes:
            their_root, our_root = os.path.join(original, str(size)), os.path.join(out, "ours", task, str(size))
            names = sorted(set(os.listdir(their_root)) | set(n for n in os.listdir(our_root)
                                                              if os.path.isdir(os.path.join(our_root, n))))
            for name in sorted(names, key=lambda n: n != "fpa"):
                row = compare_dataset(os.path.join(their_root, name), os.path.join(our_root, name),
                                      os.path.join(our_root, "fpa"))
                rows.append({"task": task, "size": size, "dataset": name, **row})
    return rows


def canonical(value):
    """A grid value as fairseq reads it: a list of literals ("1" and 1, "[(512,3)]" and "[(512, 3)]" agree)."""
    def one(item):
        if isinstance(item, str):
            try:
                item = ast.literal_eval(item)
            except (ValueError, SyntaxError):
                return item
        return float(item) if isinstance(item, (int, float)) and not isinstance(item, bool) else item

    return [one(item) for item in (value if isinstance(value, list) else [value])]


def implicit_flags(checkout):
    """The bare flags local_grid.py passes to every run besides the grid's (e.g. '--sentence-avg')."""
    with open(os.path.join(checkout, "local_grid.py")) as f:
        source = f.read()
    block = re.search(r"train_params = \[(.*?)\]", source, re.S)
    return {flag: True for flag in re.findall(r"'--([\w-]+)'", block.group(1))} if block else {}


def compare_grids(checkout):
    extra = {**implicit_flags(checkout), **FAIRSEQ_09_DEFAULTS}
    results = []
    for name in sorted(n for n in FILES if n.startswith("hyperparams/")):
        with open(os.path.join(checkout, name)) as f:
            theirs = json.load(f)
        mine_path = os.path.join(ROOT, name)
        entry = {"grid": name, "ours": os.path.exists(mine_path), "dashed_keys": [], "differ": []}
        results.append(entry)
        if not entry["ours"]:
            continue
        with open(mine_path) as f:
            ours = json.load(f)
        # local_grid.py writes --{key}: a key that starts with dashes reaches fairseq as ----key, which it rejects
        entry["dashed_keys"] = [k for k in theirs if k.startswith("-")]
        theirs = {**extra, **{k.lstrip("-"): v for k, v in theirs.items()}}
        for key in list(dict.fromkeys([*theirs, *ours])):
            a, b = theirs.get(key), ours.get(key)
            if a is None or b is None or canonical(a) != canonical(b):
                entry["differ"].append({"key": key, "find": a, "ours": b, "why": WHY.get(key)})
    return results


def short(value):
    text = "-" if value is None else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def run(args, checkout):
    from seq_cli import UsageError

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for task in tasks or [args.tasks]:
        if task not in TASKS:
            raise UsageError(f"--tasks: unknown task {task!r} (choose from {', '.join(TASKS)})")
    os.makedirs(args.out, exist_ok=True)
    rows = compare_data(checkout, tasks, os.path.abspath(args.out))
    print("data: FIND | ours (train pairs, test inputs, dictionary entries: symbols and padding, in order)")
    for row in rows:
        cells = [describe_pair(key, row[key]) for key in ("train", "test_inputs", "dict_src", "dict_tgt")]
        print(f"  {row['task']} {row['size']} {row['dataset']}: " + "; ".join(cells))
    grids = compare_grids(checkout)
    print("grids: keys whose values differ, FIND (with local_grid.py's flags and fairseq 0.9's clip-norm) | ours")
    for entry in grids:
        if not entry["ours"]:
            print(f"  {entry['grid']}: FIND only")
            continue
        print(f"  {entry['grid']}: {len(entry['differ'])} keys differ")
        for key in entry["dashed_keys"]:
            print(f"    FIND's key {key!r} starts with dashes: local_grid.py passes '--{key}', which fairseq's "
                  "parser rejects")
        for d in entry["differ"]:
            print(f"    {d['key']}: {short(d['find'])} | {short(d['ours'])}" + (f"  ({d['why']})" if d["why"] else ""))
    with open(os.path.join(args.out, "compare.json"), "w") as f:
        json.dump({"data": rows, "grids": grids}, f, indent=1)
    print(f"wrote {os.path.join(args.out, 'compare.json')}")
