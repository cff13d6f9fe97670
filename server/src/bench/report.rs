//! Small helpers shared by the benchmarks: percentiles, peak memory from `/proc`, report output.

use std::io::Write as _;

use anyhow::Context as _;
use serde::Serialize;

use super::OutputArgs;

/// p50/p95/p99/mean/max of a set of durations in milliseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Distribution {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Mean.
    pub mean: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
}

impl Distribution {
    /// Summarises `samples` (order does not matter).
    pub fn of(samples: &[f64]) -> Distribution {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let pct = |p| crate::eval::metrics::percentile(&sorted, p);
        Distribution {
            n: sorted.len(),
            p50: pct(50.0),
            p95: pct(95.0),
            p99: pct(99.0),
            mean: (!sorted.is_empty()).then(|| sorted.iter().sum::<f64>() / sorted.len() as f64),
            max: sorted.last().copied(),
        }
    }
}

/// Formats an optional number of milliseconds for a table cell.
pub fn cell_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") })
}

/// Peak resident set size (`VmHWM`) of a process in KiB, from `/proc/PID/status`.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    proc_status_kib(&format!("/proc/{pid}/status"), "VmHWM:")
}

/// This process's peak resident set size in KiB.
pub fn own_peak_rss_kib() -> Option<u64> {
    proc_status_kib("/proc/self/status", "VmHWM:")
}

fn proc_status_kib(path: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(path).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A short description of this machine for reports: CPU model, core count, memory, OS.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, name)| name.trim().to_string()))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory_gib = proc_status_kib("/proc/meminfo", "MemTotal:").map_or(0.0, |kib| kib as f64 / 1024.0 / 1024.0);
    format!("{cpu}, {cores} cores, {memory_gib:.0} GiB, {}", std::env::consts::OS)
}

/// Current UTC time as `YYYY-MM-DD HH:MM UTC` (no date crate needed).
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// Prints `markdown` or the JSON of `report` on stdout, and writes the JSON to `--out` if given.
pub fn emit<T: Serialize>(output: &OutputArgs, report: &T, markdown: &str) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    if let Some(path) = &output.out {
        std::fs::write(path, format!("{json}\n")).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    if output.json {
        writeln!(stdout, "{json}")?;
    } else {
        write!(stdout, "{markdown}")?;
    }
    Ok(())
}
