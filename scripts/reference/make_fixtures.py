"""Reference fixtures from Hugging Face transformers, for ghostline-model's correctness tests.

Creates tiny random LlamaForCausalLM / Qwen2ForCausalLM models in several shapes, saves each as
`config.json` + `model.safetensors`, and records transformers' logits for several token-id
prompts plus greedy generations in `expected.json`. The Rust tests (model/tests/hf_reference.rs)
compare against these files without PyTorch.

Every parameter is randomised (including norm weights and biases, which transformers initialises
to constants) so a wrong mapping cannot hide. Greedy steps are checked to have a clear margin
between the top two logits so float rounding cannot flip them.

Usage (CPU is fine):
    pip install torch transformers safetensors
    python3 scripts/reference/make_fixtures.py model/tests/fixtures/hf
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

GREEDY_STEPS = 10
MIN_MARGIN = 2e-3

# name → (architecture, config kwargs, saved dtype)
SHAPES = {
    # Plain multi-head attention, untied head, default theta.
    "llama_mha_untied": ("llama", dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=4, rope_theta=10000.0,
                                       tie_word_embeddings=False), torch.float32),
    # Grouped-query attention 6:2, tied embeddings, Llama-3 theta, stored as f16.
    "llama_gqa_tied_f16": ("llama", dict(vocab_size=128, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                                         num_attention_heads=6, num_key_value_heads=2, rope_theta=500000.0,
                                         tie_word_embeddings=True), torch.float16),
    # Multi-query attention, explicit head_dim ≠ hidden/heads, attention_bias (q,k,v,o),
    # llama3 rope scaling, three layers, stored as bf16.
    "llama_mqa_bias_llama3_bf16": ("llama", dict(vocab_size=80, hidden_size=32, intermediate_size=48,
                                                 num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=1,
                                                 head_dim=16, attention_bias=True, rope_theta=100000.0,
                                                 rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                               "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                               "original_max_position_embeddings": 16},
                                                 max_position_embeddings=128, tie_word_embeddings=False),
                                   torch.bfloat16),
    # Qwen2: q/k/v bias, GQA 4:2, tied, theta 1e6.
    "qwen2_bias_gqa_tied": ("qwen2", dict(vocab_size=100, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=4, num_key_value_heads=2, rope_theta=1000000.0,
                                          tie_word_embeddings=True), torch.float32),
    # Qwen2 untied with linear rope scaling.
    "qwen2_untied_linear_rope": ("qwen2", dict(vocab_size=64, hidden_size=64, intermediate_size=96,
                                               num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=4,
                                               rope_theta=10000.0, rope_scaling={"rope_type": "linear", "factor": 2.0},
                                               tie_word_embeddings=False), torch.float32),
}


def build(arch, kwargs):
    common = dict(rms_norm_eps=1e-5, max_position_embeddings=kwargs.pop("max_position_embeddings", 256),
                  bos_token_id=None, eos_token_id=None, pad_token_id=None)
    if arch == "llama":
        config = LlamaConfig(**common, **kwargs)
        model = LlamaForCausalLM(config)
    else:
        config = Qwen2Config(**common, use_sliding_window=False, **kwargs)
        model = Qwen2ForCausalLM(config)
    config._attn_implementation = "eager"
    return config, model.eval()


def randomise(model, seed):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name:
                parameter.copy_(1.0 + 0.2 * torch.randn(parameter.shape, generator=generator))
            elif name.endswith("bias"):
                parameter.copy_(0.3 * torch.randn(parameter.shape, generator=generator))
            else:
                parameter.copy_(0.25 * torch.randn(parameter.shape, generator=generator))


def prompts_for(vocab, seed):
    generator = torch.Generator().manual_seed(seed + 1000)
    lengths = [1, 5, 19]
    return [torch.randint(0, vocab, (n,), generator=generator).tolist() for n in lengths]


def greedy(model, prompt):
    ids = list(prompt)
    margins = []
    for _ in range(GREEDY_STEPS):
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, -1]
        top = torch.topk(logits, 2)
        margins.append(float(top.values[0] - top.values[1]))
        ids.append(int(top.indices[0]))
    return ids[len(prompt):], min(margins)


def make(out_dir, name, arch, kwargs, dtype, seed):
    config, model = build(arch, dict(kwargs))
    randomise(model, seed)
    if dtype != torch.float32:
        # Round weights to the storage dtype, then compute the reference in f32 on the rounded values.
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.copy_(parameter.to(dtype).to(torch.float32))
    prompts = prompts_for(config.vocab_size, seed)
    logits, generations, worst_margin = [], [], float("inf")
    for prompt in prompts:
        with torch.no_grad():
            out = model(torch.tensor([prompt])).logits[0]
        logits.append([[float(f"{v:.7g}") for v in row] for row in out.tolist()])
        generated, margin = greedy(model, prompt)
        worst_margin = min(worst_margin, margin)
        generations.append({"prompt": prompt, "generated": generated})
    if worst_margin < MIN_MARGIN:
        return None
    path = os.path.join(out_dir, name)
    os.makedirs(path, exist_ok=True)
    config.save_pretrained(path)
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    if config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    for file in os.listdir(path):
        if file.endswith(".safetensors"):
            os.remove(os.path.join(path, file))
    save_file(state, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    expected = {
        "source": f"transformers {transformers.__version__}, torch {torch.__version__}, eager attention, seed {seed}",
        "architecture": type(model).__name__,
        "dtype": str(dtype).replace("torch.", ""),
        "prompts": prompts,
        "logits": logits,
        "greedy": generations,
        "min_greedy_margin": worst_margin,
    }
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    return worst_margin


def main(out_dir):
    torch.set_num_threads(2)
    for index, (name, (arch, kwargs, dtype)) in enumerate(SHAPES.items()):
        for attempt in range(20):
            seed = 100 * index + attempt
            margin = make(out_dir, name, arch, kwargs, dtype, seed)
            if margin is not None:
                print(f"{name}: seed {seed}, min greedy margin {margin:.4f}")
                break
        else:
            raise SystemExit(f"{name}: no seed gave a clear greedy margin")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "model/tests/fixtures/hf")
