//! Prefill/decode throughput of the embedded model and a ~135M config, and a random-model writer.
//!
//! The workspace's dev profile already optimises this crate (no --release needed).
//!   cargo run -p ghostline-model --example model_bench -- [cpu|gpu] [prompt_len] [decode_len]
//!   cargo run -p ghostline-model --example model_bench -- save-random DIR [tied]   (tiny random model dir)
//!   cargo run -p ghostline-model --example model_bench -- logits DIR 1 2 3   (last-position logits)

use std::path::Path;

use ghostline_model::{DevicePreference, Engine, LoadOptions, bench, select_device};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("save-random") {
        let dir = Path::new(args.get(1).ok_or("save-random DIR")?);
        std::fs::create_dir_all(dir)?;
        let mut config = ghostline_model::LlamaConfig::new(96, 32, 64, 2, 4, 2);
        config.tie_word_embeddings = args.get(2).map(String::as_str) == Some("tied");
        let model = config.init_seeded(&burn::tensor::Device::flex(), 42);
        config.save(&dir.join("config.json"))?;
        model.save_safetensors(&config, &dir.join("model.safetensors"))?;
        return Ok(());
    }
    if args.first().map(String::as_str) == Some("logits") {
        // logits DIR id id ...: last-position logits of a model directory (for comparing with transformers).
        let device = burn::tensor::Device::flex();
        let (_, model) = ghostline_model::Llama::load_dir(
            Path::new(args.get(1).ok_or("logits DIR ids...")?),
            &device,
        )?;
        let ids: Vec<u32> = args[2..]
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_, _>>()?;
        let logits = model.forward(ghostline_model::Llama::tokens_tensor(&ids, &device));
        let values = logits
            .into_data_as::<f32>()
            .try_into_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        let vocab = values.len() / ids.len();
        println!("{:?}", &values[values.len() - vocab..][..4]);
        return Ok(());
    }
    let preference: DevicePreference = args
        .first()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(DevicePreference::Cpu);
    let prompt_len: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(256);
    let decode_len: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(64);

    let mut engine = Engine::load_embedded(&LoadOptions { device: preference })?;
    println!("embedded: {:?}", engine.info());
    engine.forward_timing(8, 2)?; // warm-up (kernel compilation on wgpu)
    let timing = engine.forward_timing(prompt_len, decode_len)?;
    println!(
        "embedded  prefill {prompt_len}: {:8.1} tok/s   decode {decode_len}: {:7.1} tok/s",
        timing.prefill_tokens_per_s, timing.decode_tokens_per_s
    );

    let device = select_device(preference)?;
    let config = bench::config_135m();
    let mut model = config.init(&device.device);
    model.prepare_for_inference();
    println!(
        "135m config: {} params on {}",
        config.n_params(),
        device.description
    );
    bench::time_forward(&model, &config, &device.device, 8, 2)?;
    let timing = bench::time_forward(&model, &config, &device.device, prompt_len, decode_len)?;
    println!(
        "135m      prefill {prompt_len}: {:8.1} tok/s   decode {decode_len}: {:7.1} tok/s",
        timing.prefill_tokens_per_s, timing.decode_tokens_per_s
    );
    Ok(())
}
