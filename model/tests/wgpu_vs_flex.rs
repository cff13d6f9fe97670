//! wgpu (a real GPU, or Mesa lavapipe in CI) vs flex logits within 1e-3 on a tiny model.
//!
//! Skips only when no wgpu adapter exists AND `GHOSTLINE_REQUIRE_WGPU` is unset; CI sets it.
//! Software Vulkan compiles each kernel on first use, so the model and call count stay tiny.

mod common;

use burn::tensor::Device;
use common::{host, max_abs_diff};
use ghostline_model::{KvCache, Llama, LlamaConfig, device::probe_wgpu};

#[test]
fn wgpu_logits_match_flex() {
    let Some((gpu, adapter)) = probe_wgpu(true) else {
        if std::env::var_os("GHOSTLINE_REQUIRE_WGPU").is_some() {
            panic!(
                "GHOSTLINE_REQUIRE_WGPU is set but no wgpu adapter is available (install mesa-vulkan-drivers)"
            );
        }
        eprintln!("SKIPPED: no wgpu adapter (set GHOSTLINE_REQUIRE_WGPU=1 to make this a failure)");
        return;
    };
    eprintln!("wgpu adapter: {adapter}");
    let mut config = LlamaConfig::new(48, 16, 32, 1, 4, 2);
    config.max_position_embeddings = 16;
    let cpu = Device::flex();
    let on_cpu = config.init_seeded(&cpu, 13);
    let on_gpu = config.init_seeded(&gpu, 13);
    let ids = [3u32, 14, 15, 9, 2, 6];

    let expected = host(on_cpu.forward(Llama::tokens_tensor(&ids, &cpu)));
    let actual = host(on_gpu.forward(Llama::tokens_tensor(&ids, &gpu)));
    let diff = max_abs_diff(&actual, &expected);
    eprintln!("full forward max diff {diff:.2e}");
    assert!(diff < 1e-3, "full forward: wgpu vs flex max diff {diff}");

    // Prefill, a continuation chunk (explicit causal mask path), then cached decode steps.
    let mut cpu_cache = KvCache::new(&config, 1, 16, &cpu);
    let mut gpu_cache = KvCache::new(&config, 1, 16, &gpu);
    for chunk in [&ids[..2], &ids[2..4]] {
        let a = host(
            on_cpu
                .forward_cached(Llama::tokens_tensor(chunk, &cpu), chunk, &mut cpu_cache)
                .unwrap(),
        );
        let b = host(
            on_gpu
                .forward_cached(Llama::tokens_tensor(chunk, &gpu), chunk, &mut gpu_cache)
                .unwrap(),
        );
        let diff = max_abs_diff(&a, &b);
        assert!(
            diff < 1e-3,
            "prefill chunk {chunk:?}: wgpu vs flex max diff {diff}"
        );
    }
    for id in &ids[4..] {
        let a = host(
            on_cpu
                .forward_cached(Llama::tokens_tensor(&[*id], &cpu), &[*id], &mut cpu_cache)
                .unwrap(),
        );
        let b = host(
            on_gpu
                .forward_cached(Llama::tokens_tensor(&[*id], &gpu), &[*id], &mut gpu_cache)
                .unwrap(),
        );
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-3, "decode step: wgpu vs flex max diff {diff}");
    }
}
