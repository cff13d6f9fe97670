//! Runs a task's test in a subprocess: a fresh temporary directory, a wall-clock timeout after which
//! the whole process group is killed, and no network (`unshare -n` when the kernel allows it, and
//! proxy variables removed from the environment in any case).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// How a test run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    /// The program exited with status 0 (Python) or the test binary passed (Rust).
    pub passed: bool,
    /// The run was killed at the timeout (then `passed` is false).
    pub timed_out: bool,
    /// Last lines of the program's stderr/stdout (or of the compiler's), for the results file.
    pub detail: String,
}

/// Limits for test runs.
#[derive(Clone, Debug)]
pub struct TestLimits {
    /// Wall-clock limit for running the program (or the test binary).
    pub run_timeout: Duration,
    /// Wall-clock limit for compiling (Rust).
    pub compile_timeout: Duration,
}

impl Default for TestLimits {
    fn default() -> Self {
        TestLimits { run_timeout: Duration::from_secs(10), compile_timeout: Duration::from_secs(120) }
    }
}

/// Languages whose tests this module can run.
pub fn can_run(language: &str) -> bool {
    matches!(language, "python" | "rust")
}

/// Runs `program` (the full `prefix + completion + suffix + "\n" + test`) as a test of `language`.
/// Returns `Ok(None)` for languages without a runner; errors only when the runner itself cannot start.
pub fn run_test(language: &str, program: &str, limits: &TestLimits) -> anyhow::Result<Option<TestOutcome>> {
    let outcome = match language {
        "python" => run_python(program, limits)?,
        "rust" => run_rust(program, limits)?,
        _ => return Ok(None),
    };
    Ok(Some(outcome))
}

fn run_python(program: &str, limits: &TestLimits) -> anyhow::Result<TestOutcome> {
    let dir = TempDir::new()?;
    let script = dir.path().join("task.py");
    std::fs::write(&script, program).with_context(|| format!("cannot write {}", script.display()))?;
    let mut command = sandboxed(python_executable());
    command.arg("-B").arg(&script).current_dir(dir.path()).env("PYTHONDONTWRITEBYTECODE", "1");
    run_with_timeout(command, dir.path(), limits.run_timeout)
}

fn run_rust(program: &str, limits: &TestLimits) -> anyhow::Result<TestOutcome> {
    let dir = TempDir::new()?;
    let source = dir.path().join("task.rs");
    let binary = dir.path().join("task_test");
    std::fs::write(&source, program).with_context(|| format!("cannot write {}", source.display()))?;
    // The compiler needs no network either, but it runs in the normal environment (rustup's shims).
    let mut compile = Command::new("rustc");
    compile
        .args(["--edition", "2021", "--test", "-A", "warnings", "-C", "opt-level=0", "-C", "debuginfo=0", "-o"])
        .arg(&binary)
        .arg(&source)
        .current_dir(dir.path());
    let compiled = run_with_timeout(compile, dir.path(), limits.compile_timeout)?;
    if !compiled.passed {
        let reason = if compiled.timed_out { "compilation timed out" } else { "compilation failed" };
        return Ok(TestOutcome { passed: false, timed_out: compiled.timed_out, detail: format!("{reason}\n{}", compiled.detail) });
    }
    let mut command = sandboxed(binary.as_os_str());
    command.arg("--test-threads=1").current_dir(dir.path());
    run_with_timeout(command, dir.path(), limits.run_timeout)
}

/// A command for `program` that cannot reach the network: wrapped in `unshare -n` when that works
/// here (root, or user namespaces allowed), and always without proxy variables.
fn sandboxed(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = if unshare_works() {
        let mut command = Command::new("unshare");
        command.arg("-n").arg(program);
        command
    } else {
        Command::new(program)
    };
    for var in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"] {
        command.env_remove(var);
    }
    command
}

fn unshare_works() -> bool {
    static WORKS: OnceLock<bool> = OnceLock::new();
    *WORKS.get_or_init(|| {
        Command::new("unshare")
            .args(["-n", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// The real interpreter behind `python3` (pyenv shims need $HOME, and we want one lookup only).
fn python_executable() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
                .filter(|path| path.is_file())
                .unwrap_or_else(|| PathBuf::from("python3"))
        })
        .clone()
}

/// Runs `command` in its own process group with output to files (a pipe could fill up or be held
/// open by a grandchild), killing the group at `timeout`.
fn run_with_timeout(mut command: Command, dir: &Path, timeout: Duration) -> anyhow::Result<TestOutcome> {
    use std::os::unix::process::CommandExt as _;
    let log_path = dir.join(format!("output-{}.log", NEXT_LOG.fetch_add(1, Ordering::Relaxed)));
    let log = std::fs::File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0);
    let mut child = command.spawn().with_context(|| format!("cannot start {:?}", command.get_program()))?;
    let (status, timed_out) = wait_or_kill(&mut child, timeout)?;
    let output = std::fs::read(&log_path).unwrap_or_default();
    Ok(TestOutcome {
        passed: !timed_out && status.is_some_and(|s| s.success()),
        timed_out,
        detail: tail(&String::from_utf8_lossy(&output), 20),
    })
}

static NEXT_LOG: AtomicUsize = AtomicUsize::new(0);

fn wait_or_kill(child: &mut Child, timeout: Duration) -> anyhow::Result<(Option<std::process::ExitStatus>, bool)> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok((Some(status), false));
        }
        if Instant::now() >= deadline {
            // The child leads its own process group: kill the group so that grandchildren die too.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
            return Ok((None, true));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn tail(text: &str, n_lines: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n_lines)..].join("\n")
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "ghostline-eval-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
