"""llama.cpp's prefill and decode tokens/s on a GGUF, measured the way `ghostline bench model`
measures ours: a prompt of PROMPT ids (i * 7919 + 13 mod vocab), then DECODE single-token steps
feeding back the argmax; median of REPEATS runs after a warm-up. Prints one JSON object.

    python llamacpp_speed.py GGUF THREADS PROMPT DECODE REPEATS
"""
import json
import statistics
import sys
import time

import numpy as np
from llama_cpp import Llama, __version__


def main():
    gguf, threads, prompt, decode, repeats = sys.argv[1], *map(int, sys.argv[2:6])
    started = time.perf_counter()
    llm = Llama(model_path=gguf, n_ctx=prompt + decode + 8, n_batch=max(prompt, 8), n_ubatch=max(prompt, 8),
                n_threads=threads, n_threads_batch=threads, logits_all=False, verbose=False)
    load_ms = (time.perf_counter() - started) * 1e3
    vocab = llm.n_vocab()
    ids = [(i * 7919 + 13) % vocab for i in range(prompt)]

    def last_logits():
        # Only the last position's logits exist (logits_all=False, like our engine's prefill).
        return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(vocab,))

    def run(prompt_ids, steps):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt_ids)
        nxt = int(np.argmax(last_logits()))
        t1 = time.perf_counter()
        for _ in range(steps):
            llm.eval([nxt])
            nxt = int(np.argmax(last_logits()))
        t2 = time.perf_counter()
        return (t1 - t0), (t2 - t1)

    run(ids, min(decode, 2))  # warm-up
    prefill, steps = [], []
    for _ in range(max(repeats, 1)):
        p, d = run(ids, decode)
        prefill.append(p)
        steps.append(d)
    p, d = statistics.median(prefill), statistics.median(steps)
    print(json.dumps({
        "engine": f"llama.cpp (llama-cpp-python {__version__})",
        "threads": threads,
        "load_ms": load_ms,
        "prompt_tokens": prompt,
        "decode_tokens": decode,
        "prefill_tokens_per_s": prompt / p,
        "decode_tokens_per_s": decode / d if d > 0 else None,
        "prefill_ms": p * 1e3,
        "decode_ms_per_token": d * 1e3 / max(decode, 1),
    }))


if __name__ == "__main__":
    main()
