"""Writes a tiny random placeholder model to model/weights/default (config, weights, tokenizer).

Only so `Engine::load_embedded` compiles before the trained model lands there; the training
pipeline overwrites all three files. Pure standard library: no numpy/torch needed.
Usage: python3 scripts/reference/make_placeholder_model.py model/weights/default
"""
import json
import os
import random
import struct
import sys

SPECIALS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|file_sep|>"]


def bytes_to_unicode():
    """GPT-2's reversible byte → printable character table (byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def tokenizer_json():
    alphabet = bytes_to_unicode()
    vocab = {alphabet[b]: b for b in range(256)}
    added = []
    for i, name in enumerate(SPECIALS):
        vocab[name] = 256 + i
        added.append({"id": 256 + i, "content": name, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None, "pre_tokenizer": byte_level, "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": []},
    }


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    vocab, d, ff, layers, heads, kv = 264, 64, 128, 2, 4, 2
    hd = d // heads
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab,
        "hidden_size": d, "intermediate_size": ff, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 1024, "tie_word_embeddings": True,
        "hidden_act": "silu", "eos_token_id": 256, "torch_dtype": "float32",
    }
    shapes = {"model.embed_tokens.weight": [vocab, d], "model.norm.weight": [d]}
    for n in range(layers):
        p = f"model.layers.{n}"
        shapes.update({
            f"{p}.input_layernorm.weight": [d], f"{p}.post_attention_layernorm.weight": [d],
            f"{p}.self_attn.q_proj.weight": [heads * hd, d], f"{p}.self_attn.k_proj.weight": [kv * hd, d],
            f"{p}.self_attn.v_proj.weight": [kv * hd, d], f"{p}.self_attn.o_proj.weight": [d, heads * hd],
            f"{p}.mlp.gate_proj.weight": [ff, d], f"{p}.mlp.up_proj.weight": [ff, d],
            f"{p}.mlp.down_proj.weight": [d, ff],
        })
    rng = random.Random(0)
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(shapes):
        count = 1
        for s in shapes[name]:
            count *= s
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            values = [1.0] * count
        else:
            values = [rng.gauss(0.0, 0.02) for _ in range(count)]
        blob = struct.pack(f"<{count}f", *values)
        header[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)
    with open(os.path.join(out_dir, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out_dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(), f, ensure_ascii=False)
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("Placeholder: a tiny RANDOM model written by scripts/reference/make_placeholder_model.py so the\n"
                "crate compiles (`Engine::load_embedded`). The training engineer replaces config.json,\n"
                "model.safetensors and tokenizer.json here with the trained default model (+ MODEL_CARD.md).\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "model/weights/default")
