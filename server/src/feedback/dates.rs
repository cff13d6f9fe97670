//! UTC dates for `--since` / `--before` and the timeline's labels (proleptic Gregorian calendar,
//! days counted from 1970-01-01).

use super::FeedbackError;

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a calendar date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    // Shift the year to start in March so the leap day is the year's last day.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The calendar date of a day count.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` (UTC) of a Unix time in milliseconds.
pub fn day_label(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(MS_PER_DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:00Z` of a Unix time in milliseconds.
pub fn hour_label(ms: i64) -> String {
    let hour = ms.rem_euclid(MS_PER_DAY) / 3_600_000;
    format!("{}T{hour:02}:00Z", day_label(ms))
}

/// Reads a date given on the command line, as Unix milliseconds (UTC):
/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS][Z]` (also with a space), or a relative `N` + `d`/`h`
/// (that long before `now_ms`).
pub fn parse_date(text: &str, now_ms: i64) -> Result<i64, FeedbackError> {
    let bad = || {
        FeedbackError::BadDate(format!(
            "cannot read the date {text:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC), or a relative 7d / 12h"
        ))
    };
    let text = text.trim();
    if let Some(number) = text.strip_suffix('d').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now_ms - number * MS_PER_DAY);
    }
    if let Some(number) = text.strip_suffix('h').and_then(|n| n.parse::<i64>().ok()) {
        return Ok(now_ms - number * 3_600_000);
    }
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(bad());
    };
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return Err(bad());
    }
    let (year, month, day) = (
        year.parse::<i64>().map_err(|_| bad())?,
        month.parse::<i64>().map_err(|_| bad())?,
        day.parse::<i64>().map_err(|_| bad())?,
    );
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1..=days_in_month).contains(&day) {
        return Err(bad());
    }
    let mut ms = days_from_civil(year, month, day) * MS_PER_DAY;
    if let Some(time) = time {
        let fields: Vec<i64> = time
            .split(':')
            .map(|field| field.parse::<i64>().map_err(|_| bad()))
            .collect::<Result<_, _>>()?;
        let (hour, minute, second) = match fields.as_slice() {
            [hour, minute] => (*hour, *minute, 0),
            [hour, minute, second] => (*hour, *minute, *second),
            _ => return Err(bad()),
        };
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) || !(0..60).contains(&second) {
            return Err(bad());
        }
        ms += ((hour * 60 + minute) * 60 + second) * 1000;
    }
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_and_bad_ones_are_clear_errors() {
        assert_eq!(parse_date("1970-01-01", 0).unwrap(), 0);
        // 2000-03-01 is 11017 days after the epoch (a leap-year February before it).
        assert_eq!(parse_date("2000-03-01", 0).unwrap(), 11_017 * MS_PER_DAY);
        assert_eq!(
            parse_date("2024-02-29T12:30Z", 0).unwrap() % MS_PER_DAY,
            45_000_000
        );
        assert_eq!(
            day_label(parse_date("2026-11-27T23:59:59", 0).unwrap()),
            "2026-11-27"
        );
        assert_eq!(
            hour_label(parse_date("2026-11-27 05:10", 0).unwrap()),
            "2026-11-27T05:00Z"
        );
        assert_eq!(parse_date("7d", 10 * MS_PER_DAY).unwrap(), 3 * MS_PER_DAY);
        for day in 0..20_000 {
            let label = day_label(day * MS_PER_DAY);
            assert_eq!(parse_date(&label, 0).unwrap(), day * MS_PER_DAY, "{label}");
        }
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "26-01-01",
            "yesterday",
            "2026-01-01T25:00",
        ] {
            let error = parse_date(bad, 0).unwrap_err().to_string();
            assert!(error.contains("expected YYYY-MM-DD"), "{bad}: {error}");
        }
    }
}
