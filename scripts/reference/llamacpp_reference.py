"""Reference outputs from llama.cpp (llama-cpp-python) for a real GGUF, for ghostline's
model/tests/gguf_reference.rs.

For each prompt in PROMPTS (code and prose) this records, with llama.cpp:
  - `prompt_ids`: its tokenization of the prompt (no BOS unless the model adds one, special
    tokens not parsed) and `text_ids` for prompt + fixed continuation;
  - `teacher`: with the fixed continuation fed back token by token (teacher forcing), the
    top-5 next-token ids and their logits at every position after the prompt's first token;
  - `greedy`: GREEDY_TOKENS greedy tokens after the prompt (end tokens included, no stopping);
  - `variants`: the same greedy continuation from llama.cpp itself under settings that change
    only its arithmetic, not the model (VARIANTS: flash attention, an f32 KV cache, the prompt
    evaluated one token at a time). Where these disagree with `greedy`, the continuation sits
    on a near-tie that llama.cpp's own rounding decides.

Usage (the venv from scripts/install-llamacpp.sh):
    G=$(bash scripts/install-llamacpp.sh --print-gguf)
    ~/.cache/ghostline/llamacpp-venv/bin/python scripts/reference/llamacpp_reference.py "$G" \
        model/tests/fixtures/smollm2/reference.json
"""
import hashlib
import json
import os
import sys

import numpy as np
from llama_cpp import Llama, __version__ as LLAMA_CPP_VERSION

GREEDY_TOKENS = 24
TOP_K = 5

# llama.cpp settings that change its floating-point arithmetic only (GGML_TYPE_F32 = 0).
VARIANTS = {
    "flash_attn": dict(flash_attn=True),
    "kv_f32": dict(type_k=0, type_v=0),
    "ubatch_1": dict(n_batch=1, n_ubatch=1),
}

# (name, prompt, fixed continuation). Code and prose; several without a trailing newline.
PROMPTS = [
    ("py_fib", "def fibonacci(n):\n", "    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n"),
    ("py_class", "class Stack:\n    def __init__(self):\n", "        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n"),
    ("py_comment", "# Return the largest element of a list of numbers.\ndef", " largest(numbers):\n    return max(numbers)\n"),
    ("rs_main", "fn main() {\n", "    let name = \"world\";\n    println!(\"Hello, {}!\", name);\n}\n"),
    ("rs_struct", "#[derive(Debug, Clone)]\npub struct Point {\n", "    pub x: f64,\n    pub y: f64,\n}\n\nimpl Point {\n"),
    ("js_fetch", "async function getUser(id) {\n  const response = await fetch(", "`/api/users/${id}`);\n  return response.json();\n}\n"),
    ("c_loop", "#include <stdio.h>\n\nint main(void) {\n    for (int i = 0; i < 10; i++) {\n", "        printf(\"%d\\n\", i * i);\n    }\n    return 0;\n}\n"),
    ("sql", "SELECT name, COUNT(*) AS orders\nFROM customers\nJOIN orders ON", " orders.customer_id = customers.id\nGROUP BY name\nORDER BY orders DESC;\n"),
    ("prose_paris", "The capital of France is", " Paris, a city known for its art, food and the Eiffel Tower."),
    ("prose_story", "Once upon a time, in a small village by the sea, there lived", " an old fisherman who went out every morning before the sun rose."),
    ("prose_science", "Photosynthesis is the process by which plants", " use sunlight, water and carbon dioxide to make glucose and oxygen."),
    ("prose_numbers", "In 1969, Apollo 11 landed on the Moon; 3.14159 is an approximation of", " pi, and 2 + 2 = 4 in ordinary arithmetic."),
]


def top_k(logits, k):
    order = np.argsort(-logits, kind="stable")[:k]
    return [int(i) for i in order], [round(float(logits[i]), 4) for i in order]


def greedy_run(llm, prompt_ids, vocab):
    """GREEDY_TOKENS greedy tokens after `prompt_ids` and llama.cpp's top-2 margin at each."""
    llm.reset()
    llm.eval(prompt_ids)
    greedy, margins = [], []
    for _ in range(GREEDY_TOKENS):
        last = np.array(llm.scores[llm.n_tokens - 1, :vocab], dtype=np.float32)
        ids, values = top_k(last, 2)
        greedy.append(ids[0])
        margins.append(round(values[0] - values[1], 4))
        llm.eval([ids[0]])
    return greedy, margins


def open_model(gguf, threads, **settings):
    args = dict(model_path=gguf, n_ctx=512, n_batch=512, n_threads=threads, logits_all=True,
                verbose=False, seed=0)
    args.update(settings)
    return Llama(**args)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf, out_path = sys.argv[1], sys.argv[2]
    threads = int(os.environ.get("GHOSTLINE_REF_THREADS", "2"))
    llm = open_model(gguf, threads)
    vocab = llm.n_vocab()
    add_bos = llm._model.add_bos_token() if hasattr(llm._model, "add_bos_token") else False
    records = []
    for name, prompt, continuation in PROMPTS:
        prompt_ids = llm.tokenize(prompt.encode(), add_bos=add_bos, special=False)
        text_ids = llm.tokenize((prompt + continuation).encode(), add_bos=add_bos, special=False)
        # Teacher forcing over prompt + continuation: logits at every position.
        llm.reset()
        llm.eval(text_ids)
        scores = np.array(llm.scores[: len(text_ids)], dtype=np.float32)
        teacher = []
        for pos in range(len(text_ids) - 1):
            ids, values = top_k(scores[pos, :vocab], TOP_K)
            teacher.append({"pos": pos, "next": int(text_ids[pos + 1]), "top_ids": ids, "top_logits": values})
        # Greedy continuation of the prompt alone.
        greedy, margins = greedy_run(llm, prompt_ids, vocab)
        records.append({
            "name": name,
            "prompt": prompt,
            "continuation": continuation,
            "prompt_ids": prompt_ids,
            "text_ids": text_ids,
            "teacher": teacher,
            "greedy": greedy,
            "greedy_margins": margins,
            "greedy_text": llm.detokenize(greedy).decode("utf-8", errors="replace"),
        })
    for variant, settings in VARIANTS.items():
        other = open_model(gguf, threads, **settings)
        for record in records:
            record.setdefault("variants", {})[variant] = greedy_run(other, record["prompt_ids"], vocab)[0]
        del other
    with open(gguf, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    fixture = {
        "generator": "scripts/reference/llamacpp_reference.py",
        "llama_cpp_python": LLAMA_CPP_VERSION,
        "gguf": os.path.basename(gguf),
        "gguf_sha256": digest,
        "threads": threads,
        "top_k": TOP_K,
        "variants": {name: {k: v for k, v in settings.items()} for name, settings in VARIANTS.items()},
        "prompts": records,
    }
    os.makedirs(os.path.dirname(out_path) or ".", exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    steps = sum(len(r["teacher"]) for r in records)
    print(f"wrote {out_path}: {len(records)} prompts, {steps} teacher-forced steps", file=sys.stderr)


if __name__ == "__main__":
    main()
