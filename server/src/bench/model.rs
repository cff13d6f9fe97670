//! `ghostline bench model`: prefill and decode tokens/s of the engine for the embedded model and a
//! SmolLM2-135M-shaped config with random weights, on the CPU (flex) and on wgpu when an adapter
//! exists. Each (model, device) case runs in a child process (`--case`) so its peak RSS is its own.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ghostline_model::{DevicePreference, Engine, ForwardTiming, LoadOptions, ModelError};
use serde::{Deserialize, Serialize};

use super::OutputArgs;
use super::report::{self, cell_ms};

/// Arguments of `ghostline bench model`.
#[derive(clap::Args, Clone, Debug)]
pub struct ModelBenchArgs {
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
    /// Prompt length for the prefill measurement.
    #[arg(long, default_value_t = 512)]
    pub prompt_tokens: usize,
    /// Number of single-token decode steps.
    #[arg(long, default_value_t = 64)]
    pub decode_tokens: usize,
    /// Measured runs per case (after one warm-up run); the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Models: `embedded`, `135m`, or a model path (`.gguf` file or directory); comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "embedded,135m")]
    pub models: Vec<String>,
    /// Devices: `cpu`, `gpu` (comma-separated); `gpu` is skipped when no adapter exists.
    #[arg(long, value_delimiter = ',', default_value = "cpu,gpu")]
    pub devices: Vec<String>,
    /// Also run on a software wgpu adapter (llvmpipe/lavapipe): very slow, correctness only.
    #[arg(long)]
    pub allow_software_gpu: bool,
    /// Seconds one case may take before it is killed.
    #[arg(long, default_value_t = 900)]
    pub case_timeout_s: u64,
    /// Internal: run one case `MODEL:DEVICE` in this process and print its JSON line.
    #[arg(long, hide = true)]
    pub case: Option<String>,
}

/// The result of one (model, device) case.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CaseResult {
    /// `embedded` or `135m`.
    pub model: String,
    /// `cpu` or `gpu`.
    pub device: String,
    /// What the engine reports as its device, e.g. `cpu (flex)`.
    pub device_description: Option<String>,
    /// Parameters of the model.
    pub n_params: Option<usize>,
    /// Model load / random init time.
    pub load_ms: Option<f64>,
    /// Prompt tokens per prefill.
    pub prompt_tokens: usize,
    /// Decode steps per run.
    pub decode_tokens: usize,
    /// Median prefill throughput over the measured runs.
    pub prefill_tokens_per_s: Option<f64>,
    /// Median decode throughput over the measured runs.
    pub decode_tokens_per_s: Option<f64>,
    /// Median prefill wall time.
    pub prefill_ms: Option<f64>,
    /// Median time per decoded token.
    pub decode_ms_per_token: Option<f64>,
    /// Peak resident set size of the process that ran the case.
    pub peak_rss_mib: Option<f64>,
    /// Why the case did not run (no adapter, error, timeout).
    pub skipped: Option<String>,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct ModelReport {
    /// Machine description.
    pub machine: String,
    /// When it ran.
    pub date: String,
    /// Measured runs per case.
    pub repeats: usize,
    /// One entry per case.
    pub cases: Vec<CaseResult>,
}

/// Entry point.
pub fn run(mut args: ModelBenchArgs) -> anyhow::Result<()> {
    if args.output.smoke {
        args.prompt_tokens = args.prompt_tokens.min(16);
        args.decode_tokens = args.decode_tokens.min(4);
        args.repeats = 1;
        args.devices.retain(|device| device == "cpu");
    }
    if let Some(case) = args.case.clone() {
        let result = run_case(&args, &case);
        println!("{}", serde_json::to_string(&result)?);
        return Ok(());
    }
    let exe = std::env::current_exe().context("cannot find the ghostline executable")?;
    let mut cases = Vec::new();
    for model in &args.models {
        for device in &args.devices {
            eprintln!("bench model: {model} on {device} ...");
            cases.push(spawn_case(&exe, &args, model, device));
        }
    }
    let report = ModelReport { machine: report::machine_description(), date: report::utc_now(), repeats: args.repeats, cases };
    report::emit(&args.output, &report, &to_markdown(&report))
}

impl CaseResult {
    /// A case with its identity and sizes filled in and no measurement yet.
    fn unmeasured(args: &ModelBenchArgs, model: &str, device: &str) -> CaseResult {
        CaseResult {
            model: model.to_string(),
            device: device.to_string(),
            device_description: None,
            n_params: None,
            load_ms: None,
            prompt_tokens: args.prompt_tokens,
            decode_tokens: args.decode_tokens,
            prefill_tokens_per_s: None,
            decode_tokens_per_s: None,
            prefill_ms: None,
            decode_ms_per_token: None,
            peak_rss_mib: None,
            skipped: None,
        }
    }
}

fn spawn_case(exe: &std::path::Path, args: &ModelBenchArgs, model: &str, device: &str) -> CaseResult {
    let skipped = |reason: String| CaseResult { skipped: Some(reason), ..CaseResult::unmeasured(args, model, device) };
    let mut command = Command::new(exe);
    command.args(["bench", "model", "--case", &format!("{model}:{device}")]);
    command.args(["--prompt-tokens", &args.prompt_tokens.to_string(), "--decode-tokens", &args.decode_tokens.to_string()]);
    command.args(["--repeats", &args.repeats.to_string()]);
    if args.allow_software_gpu {
        command.arg("--allow-software-gpu");
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // Vulkan/EGL loaders complain loudly without it; the value does not matter here.
        command.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    // A model may be a path: keep only file-name-safe characters in the scratch file's name.
    let label: String = model.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    let output_path = std::env::temp_dir().join(format!("ghostline-bench-model-{}-{label}-{device}.json", std::process::id()));
    let Ok(output_file) = std::fs::File::create(&output_path) else {
        return skipped(format!("cannot create {}", output_path.display()));
    };
    command.stdin(Stdio::null()).stdout(output_file).stderr(Stdio::inherit());
    let child = command.spawn();
    let Ok(mut child) = child else { return skipped(format!("cannot start {}", exe.display())) };
    let deadline = Instant::now() + Duration::from_secs(args.case_timeout_s);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let text = std::fs::read_to_string(&output_path).unwrap_or_default();
    let _ = std::fs::remove_file(&output_path);
    match status {
        None => skipped(format!("timed out after {} s", args.case_timeout_s)),
        Some(status) => text
            .lines()
            .rev()
            .find_map(|line| serde_json::from_str::<CaseResult>(line).ok())
            .unwrap_or_else(|| skipped(format!("case process failed ({status})"))),
    }
}

/// Runs one case in this process.
fn run_case(args: &ModelBenchArgs, case: &str) -> CaseResult {
    let (model, device) = case.split_once(':').unwrap_or((case, "cpu"));
    let mut result = CaseResult::unmeasured(args, model, device);
    if let Err(err) = measure(args, model, device, &mut result) {
        result.skipped = Some(format!("{err:#}"));
    }
    result.peak_rss_mib = report::own_peak_rss_kib().map(|kib| kib as f64 / 1024.0);
    result
}

fn measure(args: &ModelBenchArgs, model: &str, device: &str, result: &mut CaseResult) -> anyhow::Result<()> {
    let preference: DevicePreference = device.parse().map_err(|err| anyhow::anyhow!("{err}"))?;
    if preference == DevicePreference::Gpu {
        match ghostline_model::device::probe_wgpu(false) {
            None => anyhow::bail!("no wgpu adapter"),
            Some((_, name)) if is_software_adapter(&name) && !args.allow_software_gpu => {
                anyhow::bail!("only a software adapter ({name}); pass --allow-software-gpu to measure it")
            }
            Some(_) => {}
        }
    }
    // GHOSTLINE_DEVICE would override the requested device and mislabel the row.
    // SAFETY: single-threaded at this point (the case process has started no threads yet).
    unsafe { std::env::remove_var(ghostline_model::device::DEVICE_ENV) };
    // `MODEL@q8` / `MODEL@f32`: decode from 8-bit blocks made at load, or from the float weights
    // (the engine's own default for the model otherwise).
    let (model, decode) = match model.rsplit_once('@') {
        Some((model, decode @ ("q8" | "f32"))) => (model, Some(decode == "q8")),
        _ => (model, None),
    };
    let set_decode = |engine: &mut Engine| {
        if let Some(q8) = decode {
            engine.set_q8_decode(q8);
        }
    };
    let started = Instant::now();
    // The embedded model goes through `Engine` (the product's loader); the 135M shape needs no
    // tokenizer, so its random-weight `Llama` is timed directly with the same measurement code.
    let mut time_forward: Box<dyn FnMut(usize, usize) -> Result<ForwardTiming, ModelError>> = match model {
        "embedded" => {
            let mut engine = Engine::load_embedded(&LoadOptions { device: preference })?;
            set_decode(&mut engine);
            result.n_params = Some(engine.info().n_params);
            result.device_description = Some(engine.info().device.clone());
            let context_length = engine.info().context_length;
            Box::new(move |prompt, decode| engine.forward_timing(prompt.min(context_length.saturating_sub(decode + 1)), decode))
        }
        "135m" => {
            let selected = ghostline_model::select_device(preference)?;
            let config = ghostline_model::bench::config_135m();
            let llama = config.init_seeded(&selected.device, 135);
            result.n_params = Some(config.n_params());
            result.device_description = Some(selected.description.clone());
            Box::new(move |prompt, decode| ghostline_model::bench::time_forward(&llama, &config, &selected.device, prompt, decode))
        }
        // A model path (GGUF file or model directory) through the product's loader.
        path if std::path::Path::new(path).exists() => {
            let mut engine = Engine::load(std::path::Path::new(path), &LoadOptions { device: preference })?;
            set_decode(&mut engine);
            result.n_params = Some(engine.info().n_params);
            result.device_description = Some(engine.info().device.clone());
            let context_length = engine.info().context_length;
            Box::new(move |prompt, decode| engine.forward_timing(prompt.min(context_length.saturating_sub(decode + 1)), decode))
        }
        other => anyhow::bail!("unknown model `{other}` (expected embedded, 135m, or a model path)"),
    };
    result.load_ms = Some(started.elapsed().as_secs_f64() * 1e3);
    let prompt_tokens = args.prompt_tokens.max(1);
    // Warm-up: the first run pays for kernel compilation (wgpu) and allocator growth.
    time_forward(prompt_tokens, args.decode_tokens.min(2))?;
    let mut prefill = Vec::new();
    let mut decode = Vec::new();
    let mut prefill_ms = Vec::new();
    let mut decode_ms_per_token = Vec::new();
    for _ in 0..args.repeats.max(1) {
        let timing = time_forward(prompt_tokens, args.decode_tokens)?;
        result.prompt_tokens = timing.prompt_tokens;
        prefill.push(timing.prefill_tokens_per_s);
        decode.push(timing.decode_tokens_per_s);
        prefill_ms.push(timing.prefill_ms);
        decode_ms_per_token.push(timing.decode_ms / timing.decode_tokens.max(1) as f64);
    }
    let median = |values: &[f64]| report::Distribution::of(values).p50;
    result.prefill_tokens_per_s = median(&prefill);
    result.decode_tokens_per_s = median(&decode);
    result.prefill_ms = median(&prefill_ms);
    result.decode_ms_per_token = median(&decode_ms_per_token);
    Ok(())
}

fn is_software_adapter(name: &str) -> bool {
    let lowered = name.to_ascii_lowercase();
    ["llvmpipe", "lavapipe", "swiftshader", "softpipe"].iter().any(|s| lowered.contains(s))
}

fn to_markdown(report: &ModelReport) -> String {
    let mut out = format!(
        "Machine: {}; {}; median of {} run(s) after a warm-up\n\n\
         | model | device | params | prompt tok | prefill tok/s | decode tok/s | prefill ms | decode ms/tok | load ms | peak RSS MiB |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        report.machine, report.date, report.repeats
    );
    for case in &report.cases {
        if let Some(reason) = &case.skipped {
            out.push_str(&format!("| {} | {} | skipped: {} |||||||| \n", case.model, case.device, reason.replace('|', "/")));
            continue;
        }
        let rate = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1}"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            case.model,
            case.device_description.as_deref().unwrap_or(&case.device),
            case.n_params.map_or("–".to_string(), |n| format!("{:.1} M", n as f64 / 1e6)),
            case.prompt_tokens,
            rate(case.prefill_tokens_per_s),
            rate(case.decode_tokens_per_s),
            cell_ms(case.prefill_ms),
            cell_ms(case.decode_ms_per_token),
            cell_ms(case.load_ms),
            case.peak_rss_mib.map_or("–".to_string(), |v| format!("{v:.0}")),
        ));
    }
    out
}
