"""llama.cpp's own inputs and outputs of single quantized products, for ghostline's
model/tests/gguf_kernel.rs (bit-exact check of model/src/quant/q8.rs).

Runs one forward pass of a short prompt through llama.cpp (llama-cpp-python's low-level API)
with a graph-evaluation callback that copies the f32 tensors llama.cpp computes, and records,
for the prompt's last position, the input row and output row of a few weight products:
  attn_norm-0   -> Qcur-0        blk.0.attn_q.weight   (Q4_1, 576 -> 576)
  ffn_norm-0    -> ffn_gate-0    blk.0.ffn_gate.weight (Q4_1, 576 -> 1536)
  ffn_swiglu-0  -> ffn_out-0     blk.0.ffn_down.weight (Q4_1, 1536 -> 576)
  ffn_swiglu-29 -> ffn_out-29    blk.29.ffn_down.weight
  result_norm   -> result_output token_embd.weight     (Q8_0 tied head; rows 0..512 + top 5)
Values are written with Python's float repr (exact for f32).

Usage (the venv from scripts/install-llamacpp.sh):
    G=$(bash scripts/install-llamacpp.sh --model-only --print-gguf)
    ~/.cache/ghostline/llamacpp-venv/bin/python scripts/reference/llamacpp_kernels.py "$G" \
        model/tests/fixtures/smollm2/kernels.json
"""
import ctypes
import json
import os
import sys

import numpy as np
import llama_cpp as L

PROMPT = "def fibonacci(n):\n"
PRODUCTS = [
    ("blk.0.attn_q.weight", "attn_norm-0", "Qcur-0"),
    ("blk.0.ffn_gate.weight", "ffn_norm-0", "ffn_gate-0"),
    ("blk.0.ffn_down.weight", "ffn_swiglu-0", "ffn_out-0"),
    ("blk.29.ffn_down.weight", "ffn_swiglu-29", "ffn_out-29"),
    ("token_embd.weight", "result_norm", "result_output"),
]
HEAD_ROWS = 512


class GgmlTensor(ctypes.Structure):
    """The leading fields of ggml's `struct ggml_tensor` (ggml.h), up to `name`."""
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4),
                ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16),
                ("flags", ctypes.c_int32), ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p),
                ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64)]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    gguf, out_path = sys.argv[1], sys.argv[2]
    wanted = {name for _, a, b in PRODUCTS for name in (a, b)}
    seen = {}

    def on_tensor(pointer, ask, _user):
        tensor = ctypes.cast(pointer, ctypes.POINTER(GgmlTensor)).contents
        name = tensor.name.decode()
        if ask:
            return True
        if name in wanted and name not in seen and tensor.type == 0:  # GGML_TYPE_F32
            ne, nb = list(tensor.ne), list(tensor.nb)
            assert nb[0] == 4 and nb[1] == 4 * ne[0], f"{name} is not a contiguous f32 matrix"
            rows = ne[1] * ne[2] * ne[3]
            values = np.ctypeslib.as_array((ctypes.c_float * (ne[0] * rows)).from_address(tensor.data))
            seen[name] = values.reshape(rows, ne[0])[-1].copy()  # the last position
        return True

    callback = L.ggml_backend_sched_eval_callback(on_tensor)
    L.llama_backend_init()
    model = L.llama_model_load_from_file(gguf.encode(), L.llama_model_default_params())
    params = L.llama_context_default_params()
    params.n_ctx = 512
    params.n_threads = params.n_threads_batch = 1
    params.flash_attn_type = L.LLAMA_FLASH_ATTN_TYPE_DISABLED
    params.cb_eval = callback
    context = L.llama_init_from_model(model, params)
    vocab = L.llama_model_get_vocab(model)
    text = PROMPT.encode()
    buffer = (L.llama_token * 256)()
    n = L.llama_tokenize(vocab, text, len(text), buffer, 256, False, False)
    tokens = list(buffer[:n])
    assert L.llama_decode(context, L.llama_batch_get_one(buffer, n)) == 0
    missing = wanted - set(seen)
    assert not missing, f"llama.cpp computed no f32 tensor named {sorted(missing)}"

    products = []
    for weight, source, result in PRODUCTS:
        output = seen[result]
        if weight == "token_embd.weight":
            top = [int(i) for i in np.argsort(-output, kind="stable")[:5]]
            rows = list(range(HEAD_ROWS)) + [i for i in top if i >= HEAD_ROWS]
        else:
            rows = list(range(len(output)))
        products.append({
            "weight": weight, "input_tensor": source, "output_tensor": result,
            "input": [float(v) for v in seen[source]],
            "rows": rows, "output": [float(output[i]) for i in rows],
        })
    fixture = {
        "generator": "scripts/reference/llamacpp_kernels.py",
        "llama_cpp_python": L.__version__,
        "gguf": os.path.basename(gguf),
        "prompt": PROMPT, "tokens": tokens, "position": len(tokens) - 1,
        "products": products,
    }
    with open(out_path, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")
    L.llama_free(context)
    L.llama_model_free(model)
    print(f"wrote {out_path}: {len(products)} products", file=sys.stderr)


if __name__ == "__main__":
    main()
