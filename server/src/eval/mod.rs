//! `ghostline eval`: runs JSONL infilling tasks through the server's completion pipeline and scores
//! them (exact match, edit similarity, pass@1 for Python and Rust tests).
//!
//! **Architecture invariant:** completions come from the same context → generate → post-process
//! path the language server uses ([`pipeline`]); `--oracle` is the only other source and it never
//! touches a model.

pub mod execute;
pub mod metrics;
pub mod pipeline;
pub mod source;
pub mod task;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use self::execute::TestLimits;
use self::metrics::EvalSummary;
use self::source::CompletionSource;
use self::task::{Task, TaskFilter, TaskResult};

/// Command-line arguments of `ghostline eval`.
#[derive(clap::Args, Clone, Debug)]
pub struct EvalArgs {
    /// JSONL task files ({task_id, language, prefix, suffix, middle?, test?} per line).
    #[arg(required = true)]
    pub tasks: Vec<PathBuf>,
    /// Write one JSONL result line per task here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the summary as JSON instead of markdown tables.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON summary to this file.
    #[arg(long)]
    pub summary_out: Option<PathBuf>,
    /// Run at most N tasks of each file (after --language/--kind filtering).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only tasks of this language.
    #[arg(long)]
    pub language: Option<String>,
    /// Only tasks of this kind (single-line, multi-line, random-span, body).
    #[arg(long)]
    pub kind: Option<String>,
    /// Use each task's reference `middle` as the completion: checks the task files and test runners.
    #[arg(long)]
    pub oracle: bool,
    /// Seconds a test may run before it is killed.
    #[arg(long, default_value_t = 10)]
    pub test_timeout_s: u64,
    /// Parallel test runners (completions are always generated one at a time).
    #[arg(long, default_value_t = 1)]
    pub test_jobs: usize,
    /// Model directory (config.json, model.safetensors, tokenizer.json); default: the embedded model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Device for the model: auto, cpu or gpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Drop the server's per-generation time budget (reproducible scores on a busy machine).
    #[arg(long)]
    pub no_time_budget: bool,
    /// Override the server's `maxLines` setting (default: the server's default).
    #[arg(long)]
    pub max_lines: Option<usize>,
    /// Override the server's `maxTokens` setting (default: the server's default).
    #[arg(long)]
    pub max_tokens: Option<usize>,
}

/// Entry point of `ghostline eval`: prints the summary (markdown or JSON) on stdout, progress on stderr.
pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let filter = TaskFilter { language: args.language.clone(), kind: args.kind.clone(), limit: args.limit };
    let mut tasks = Vec::new();
    for path in &args.tasks {
        tasks.extend(task::load_tasks(path, &filter)?);
    }
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        // The wgpu probe of `--device auto` prints loader errors without it; the value does not matter.
        // SAFETY: no other thread exists yet in this command (tests and models start below).
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
    let mut source: Box<dyn CompletionSource> = if args.oracle {
        Box::new(source::OracleSource)
    } else {
        let settings = pipeline::PipelineSettings {
            no_time_budget: args.no_time_budget,
            max_lines: args.max_lines,
            max_tokens: args.max_tokens,
        };
        Box::new(pipeline::PipelineSource::load(args.model.clone(), &args.device, &settings)?)
    };
    let limits = TestLimits { run_timeout: Duration::from_secs(args.test_timeout_s), ..TestLimits::default() };
    let progress = progress_bar(tasks.len());
    let started = Instant::now();
    let results = evaluate(&tasks, source.as_mut(), &limits, args.test_jobs, &mut |result| {
        progress.set_message(result.task_id.clone());
        progress.inc(1);
    })?;
    progress.finish_and_clear();
    let summary = EvalSummary::new(
        &results,
        source.kind(),
        &source.model_name(),
        args.tasks.iter().map(|p| p.display().to_string()).collect(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(out) = &args.out {
        write_results(out, &results)?;
    }
    if let Some(path) = &args.summary_out {
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        write!(stdout, "{}", summary.to_markdown())?;
    }
    Ok(())
}

/// Completes every task with `source` (on this thread, in order) and scores it on `test_jobs`
/// background threads, so tests of one task run while the next completion is generated.
/// `on_result` is called once per finished task; results come back in task order.
pub fn evaluate(
    tasks: &[Task],
    source: &mut dyn CompletionSource,
    limits: &TestLimits,
    test_jobs: usize,
    on_result: &mut dyn FnMut(&TaskResult),
) -> anyhow::Result<Vec<TaskResult>> {
    let (work_tx, work_rx) = mpsc::channel::<(usize, Task, anyhow::Result<String>, f64)>();
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::channel::<(usize, TaskResult)>();
    let mut results: Vec<Option<TaskResult>> = vec![None; tasks.len()];
    std::thread::scope(|scope| -> anyhow::Result<()> {
        for _ in 0..test_jobs.max(1) {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                loop {
                    let next = work_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((index, task, completion, latency_ms))) = next else { break };
                    let result = score(&task, completion, latency_ms, limits);
                    if done_tx.send((index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut received = 0;
        for (index, task) in tasks.iter().enumerate() {
            let started = Instant::now();
            let completion = source.complete(task).map(|output| output.completion);
            let latency_ms = started.elapsed().as_secs_f64() * 1e3;
            work_tx.send((index, task.clone(), completion, latency_ms)).context("test runner stopped")?;
            while let Ok((index, result)) = done_rx.try_recv() {
                on_result(&result);
                results[index] = Some(result);
                received += 1;
            }
        }
        drop(work_tx);
        while received < tasks.len() {
            let (index, result) = done_rx.recv().context("a test runner thread died")?;
            on_result(&result);
            results[index] = Some(result);
            received += 1;
        }
        Ok(())
    })?;
    Ok(results.into_iter().flatten().collect())
}

/// Scores one completion: reference metrics, then the test when the language has a runner.
pub fn score(task: &Task, completion: anyhow::Result<String>, latency_ms: f64, limits: &TestLimits) -> TaskResult {
    let (completion, mut error) = match completion {
        Ok(text) => (text, None),
        Err(err) => (String::new(), Some(format!("{err:#}"))),
    };
    let reference = task.middle.as_deref();
    let mut result = TaskResult {
        task_id: task.task_id.clone(),
        language: task.language.clone(),
        kind: task.kind.clone(),
        exact_match: reference.map(|r| metrics::exact_match(&completion, r)),
        first_line_exact_match: reference.map(|r| metrics::first_line_exact_match(&completion, r)),
        edit_similarity: reference.map(|r| metrics::edit_similarity(&completion, r)),
        passed: None,
        timed_out: false,
        test_log: None,
        latency_ms,
        error: None,
        completion,
    };
    if let Some(test) = task.test.as_deref().filter(|_| execute::can_run(&task.language)) {
        let program = format!("{}{}{}\n{}", task.prefix, result.completion, task.suffix, test);
        match execute::run_test(&task.language, &program, limits) {
            Ok(Some(outcome)) => {
                result.passed = Some(outcome.passed);
                result.timed_out = outcome.timed_out;
                result.test_log = (!outcome.passed).then_some(outcome.detail);
            }
            Ok(None) => {}
            Err(err) => error = error.or(Some(format!("test runner: {err:#}"))),
        }
    }
    result.error = error;
    result
}

fn write_results(path: &std::path::Path, results: &[TaskResult]) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    for result in results {
        serde_json::to_writer(&mut file, result)?;
        file.write_all(b"\n")?;
    }
    file.flush().with_context(|| format!("cannot write {}", path.display()))
}

fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}
