//! The numbers shown by `ghostline stats` and the `ghostline/stats` request (both call
//! [`compute`], so they always agree): counts by outcome, acceptance rate overall / by language /
//! by model, characters accepted, latency percentiles, and a timeline.
//!
//! `acceptance_rate` = (accepted + partially accepted) / shown, where `shown` counts every row
//! (each row is one suggestion the editor showed or decided on).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::dates::{day_label, hour_label};
use super::{FeedbackError, schema};

/// The report for the database at `path` (all zeros when it does not exist yet).
pub fn read(path: &std::path::Path, since_ms: Option<i64>) -> Result<StatsReport, FeedbackError> {
    match schema::open_existing(path)? {
        None => Ok(StatsReport {
            since_ms,
            ..StatsReport::default()
        }),
        Some(connection) => {
            compute(&connection, since_ms).map_err(|source| FeedbackError::Sqlite {
                action: "cannot read",
                path: path.display().to_string(),
                source,
            })
        }
    }
}

/// Everything `ghostline stats --json` prints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    /// Only suggestions shown at or after this time (Unix ms), when given.
    pub since_ms: Option<i64>,
    /// Counts and rates over everything selected.
    #[serde(flatten)]
    pub totals: Counts,
    /// Suggestions still waiting for a decision (neither decided nor ignored yet).
    pub pending: u64,
    /// End-to-end request latency of the suggestions (ms).
    pub latency_ms: Percentiles,
    /// From the request's arrival to the editor showing it (ms).
    pub time_to_show_ms: Percentiles,
    /// Per language, most shown first.
    pub by_language: Vec<Group>,
    /// Per model, most shown first.
    pub by_model: Vec<Group>,
    /// Acceptance and latency per hour (spans up to two days) or per day (UTC).
    pub timeline: Timeline,
    /// Shown-only events dropped because the writer's queue was full (all sessions).
    pub dropped_events: u64,
}

/// Counts by outcome.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Suggestions shown.
    pub shown: u64,
    /// Accepted whole.
    pub accepted: u64,
    /// Accepted in part (word, line).
    pub partially_accepted: u64,
    /// Dismissed explicitly.
    pub rejected: u64,
    /// Superseded, or no decision within a minute.
    pub ignored: u64,
    /// (accepted + partially accepted) / shown; `null` when nothing was shown.
    pub acceptance_rate: Option<f64>,
    /// Characters of suggestions accepted (whole or in part).
    pub chars_accepted: u64,
}

/// Counts for one language or model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// The language id or model id (`unknown` when the server no longer knew it).
    pub name: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// Nearest-rank percentiles.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// Number of values.
    pub samples: u64,
}

/// The timeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// `hour` or `day`.
    pub bucket: String,
    /// One point per bucket from the first suggestion to the last, empty buckets included.
    pub points: Vec<TimelinePoint>,
}

/// One bucket.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Start of the bucket (Unix ms).
    pub start_ms: i64,
    /// Its label (UTC).
    pub label: String,
    /// Shown in it.
    pub shown: u64,
    /// Accepted whole or in part.
    pub accepted: u64,
    /// accepted / shown.
    pub acceptance_rate: Option<f64>,
    /// Median latency (ms).
    pub latency_p50_ms: Option<f64>,
}

struct Row {
    shown_at_ms: i64,
    outcome: String,
    accepted_chars: i64,
    language: Option<String>,
    model: Option<String>,
    latency_ms: Option<f64>,
    time_to_show_ms: Option<f64>,
}

impl Counts {
    fn add(&mut self, row: &Row) {
        self.shown += 1;
        match row.outcome.as_str() {
            "accepted" => self.accepted += 1,
            "partial" => self.partially_accepted += 1,
            "rejected" => self.rejected += 1,
            "ignored" => self.ignored += 1,
            _ => {}
        }
        self.chars_accepted += row.accepted_chars.max(0) as u64;
        self.acceptance_rate = rate(self.accepted + self.partially_accepted, self.shown);
    }
}

fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

fn percentiles(mut values: Vec<f64>) -> Percentiles {
    values.sort_by(f64::total_cmp);
    Percentiles {
        p50: percentile(&values, 50.0),
        p95: percentile(&values, 95.0),
        samples: values.len() as u64,
    }
}

/// Computes the report over suggestions shown at or after `since_ms`.
pub fn compute(connection: &Connection, since_ms: Option<i64>) -> rusqlite::Result<StatsReport> {
    let mut statement = connection.prepare(
        "SELECT shown_at_ms, outcome, accepted_chars, language, model_id, latency_ms, time_to_show_ms
         FROM suggestions WHERE shown_at_ms >= ?1 ORDER BY shown_at_ms",
    )?;
    let rows = statement
        .query_map([since_ms.unwrap_or(i64::MIN)], |row| {
            Ok(Row {
                shown_at_ms: row.get(0)?,
                outcome: row.get(1)?,
                accepted_chars: row.get(2)?,
                language: row.get(3)?,
                model: row.get(4)?,
                latency_ms: row.get(5)?,
                time_to_show_ms: row.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<Row>>>()?;
    let dropped_events: i64 = connection.query_row(
        "SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'dropped_shown_events'",
        [],
        |row| row.get(0),
    )?;

    let mut report = StatsReport {
        since_ms,
        dropped_events: dropped_events.max(0) as u64,
        ..StatsReport::default()
    };
    let mut languages: BTreeMap<String, Counts> = BTreeMap::new();
    let mut models: BTreeMap<String, Counts> = BTreeMap::new();
    for row in &rows {
        report.totals.add(row);
        if row.outcome == "shown" {
            report.pending += 1;
        }
        let name = |value: &Option<String>| value.clone().unwrap_or_else(|| "unknown".into());
        languages.entry(name(&row.language)).or_default().add(row);
        models.entry(name(&row.model)).or_default().add(row);
    }
    report.latency_ms = percentiles(rows.iter().filter_map(|row| row.latency_ms).collect());
    report.time_to_show_ms =
        percentiles(rows.iter().filter_map(|row| row.time_to_show_ms).collect());
    report.by_language = groups(languages);
    report.by_model = groups(models);
    report.timeline = timeline(&rows);
    Ok(report)
}

fn groups(map: BTreeMap<String, Counts>) -> Vec<Group> {
    let mut groups: Vec<Group> = map
        .into_iter()
        .map(|(name, counts)| Group { name, counts })
        .collect();
    groups.sort_by(|a, b| {
        b.counts
            .shown
            .cmp(&a.counts.shown)
            .then(a.name.cmp(&b.name))
    });
    groups
}

fn timeline(rows: &[Row]) -> Timeline {
    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Timeline {
            bucket: "day".into(),
            points: Vec::new(),
        };
    };
    let hourly = last.shown_at_ms - first.shown_at_ms <= 2 * DAY;
    let (size, bucket, label): (i64, &str, fn(i64) -> String) = if hourly {
        (HOUR, "hour", hour_label)
    } else {
        (DAY, "day", day_label)
    };
    let start = first.shown_at_ms.div_euclid(size) * size;
    let count = (last.shown_at_ms.div_euclid(size) * size - start) / size + 1;
    let mut points: Vec<(TimelinePoint, Vec<f64>)> = (0..count)
        .map(|index| {
            let start_ms = start + index * size;
            (
                TimelinePoint {
                    start_ms,
                    label: label(start_ms),
                    ..TimelinePoint::default()
                },
                Vec::new(),
            )
        })
        .collect();
    for row in rows {
        let (point, latencies) = &mut points[((row.shown_at_ms - start) / size) as usize];
        point.shown += 1;
        if row.outcome == "accepted" || row.outcome == "partial" {
            point.accepted += 1;
        }
        latencies.extend(row.latency_ms);
    }
    Timeline {
        bucket: bucket.into(),
        points: points
            .into_iter()
            .map(|(mut point, latencies)| {
                point.acceptance_rate = rate(point.accepted, point.shown);
                point.latency_p50_ms = percentiles(latencies).p50;
                point
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let result = percentiles(values);
        assert_eq!(
            (result.p50, result.p95, result.samples),
            (Some(10.0), Some(19.0), 20)
        );
        assert_eq!(percentiles(vec![]).p50, None);
        assert_eq!(percentiles(vec![7.0]).p95, Some(7.0));
    }

    #[test]
    fn a_report_counts_rates_groups_and_buckets() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch(
                "CREATE TABLE suggestions (id TEXT, shown_at_ms INTEGER, outcome TEXT, accepted_chars INTEGER,
                   language TEXT, model_id TEXT, latency_ms REAL, time_to_show_ms REAL);
                 CREATE TABLE counters (name TEXT, value INTEGER);
                 INSERT INTO counters VALUES ('dropped_shown_events', 2);
                 INSERT INTO suggestions VALUES
                   ('a', 0,         'accepted', 10, 'rust',   'm1', 100, 110),
                   ('b', 1000,      'partial',   3, 'rust',   'm1', 200, NULL),
                   ('c', 3600000,   'rejected',  0, 'python', 'm1', 300, 310),
                   ('d', 3600001,   'ignored',   0, 'rust',   'm2', 400, 410),
                   ('e', 7200000,   'shown',     0, NULL,     NULL, NULL, NULL);",
            )
            .unwrap();
        let report = compute(&connection, None).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["shown"], 5);
        assert_eq!(json["accepted"], 1);
        assert_eq!(json["partially_accepted"], 1);
        assert_eq!(json["rejected"], 1);
        assert_eq!(json["ignored"], 1);
        assert_eq!(json["pending"], 1);
        assert_eq!(json["acceptance_rate"], 0.4);
        assert_eq!(json["chars_accepted"], 13);
        assert_eq!(json["dropped_events"], 2);
        assert_eq!(json["latency_ms"]["p50"], 200.0);
        assert_eq!(json["latency_ms"]["p95"], 400.0);
        assert_eq!(json["by_language"][0]["name"], "rust");
        assert_eq!(json["by_language"][0]["shown"], 3);
        assert_eq!(json["by_model"][0]["name"], "m1");
        assert!(
            (json["by_model"][0]["acceptance_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9
        );
        assert_eq!(json["timeline"]["bucket"], "hour");
        let points = json["timeline"]["points"].as_array().unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[0]["label"], "1970-01-01T00:00Z");
        assert_eq!(points[0]["acceptance_rate"], 1.0);
        assert_eq!(points[1]["acceptance_rate"], 0.0);

        let since = compute(&connection, Some(3_600_000)).unwrap();
        assert_eq!(since.totals.shown, 3);
        assert_eq!(since.totals.acceptance_rate, Some(0.0));
    }
}
