//! `config.json` parsing and validation (`model/src/config.rs`) and what the loader computes from
//! a config that validated: no panic (overflow, division by zero) on any text, and a valid config
//! survives a save/parse round trip unchanged.
#![no_main]

use std::path::Path;

use ghostline_fuzz::config::LlamaConfig;
use ghostline_fuzz::import::hf_tensor_specs;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("config.json");
    let Ok(config) = LlamaConfig::from_json_str(text, path) else {
        return;
    };
    let _ = config.n_params();
    let _ = config.rope_inverse_frequencies();
    let _ = config.eos_ids();
    let _ = hf_tensor_specs(&config);
    let again = LlamaConfig::from_json_str(&config.to_json_string(), path)
        .expect("a saved valid config parses");
    // Saving names the architecture when the file did not (so transformers can load it).
    let mut expected = config.clone();
    if expected.architectures.is_empty() {
        expected.architectures = again.architectures.clone();
    }
    // serde_json (without its `float_roundtrip` feature) reads some float literals 1 ulp away from
    // the correctly rounded value — long integer literals such as `1111…118`, and even its own
    // shortest output for some values — so a save/parse round trip may move `rope_theta` or
    // `rms_norm_eps` by an ulp; everything else must survive exactly, every time.
    assert_eq!(float_ulps_aligned(expected, &again), again);
    let third = LlamaConfig::from_json_str(&again.to_json_string(), path)
        .expect("a twice-saved config parses");
    assert_eq!(float_ulps_aligned(again.clone(), &third), third);
});

/// `config` with its float fields replaced by `other`'s where they differ by a few ulps.
fn float_ulps_aligned(mut config: LlamaConfig, other: &LlamaConfig) -> LlamaConfig {
    for (value, saved) in [
        (&mut config.rope_theta, other.rope_theta),
        (&mut config.rms_norm_eps, other.rms_norm_eps),
    ] {
        if (*value - saved).abs() <= value.abs() * 4.0 * f64::EPSILON {
            *value = saved;
        }
    }
    config
}
