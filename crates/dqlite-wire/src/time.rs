//! Date-times as dqlite carries them: ISO-8601 text (`YYYY-MM-DD HH:MM:SS[.fraction][zone]`,
//! the layouts go-dqlite reads and writes and SQLite's date functions accept) and Unix
//! seconds, to and from [`SystemTime`], in the proleptic Gregorian calendar.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Days from 1970-01-01 to `year-month-day` (negative before it). Months and days are
/// not checked against each other (1970-02-31 is 1970-03-03).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Howard Hinnant's days_from_civil: years start in March, so leap days come last.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = i64::from((month + 9) % 12);
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` days after 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are within their ranges by construction.
    let small = |v: i64| u32::try_from(v).unwrap_or(1);
    (year, small(month), small(day))
}

/// Seconds and nanoseconds since the epoch (negative seconds before it, nanoseconds
/// always forward from them).
fn split(time: SystemTime) -> (i64, u32) {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(e) => {
            let before = e.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            match before.subsec_nanos() {
                0 => (-secs, 0),
                nanos => (-secs - 1, 1_000_000_000 - nanos),
            }
        }
    }
}

/// The time `secs` seconds (and `nanos` nanoseconds) after the epoch, `None` when the
/// platform cannot represent it.
pub fn from_unix(secs: i64, nanos: u32) -> Option<SystemTime> {
    let whole = Duration::from_secs(secs.unsigned_abs());
    let time = if secs >= 0 {
        UNIX_EPOCH.checked_add(whole)?
    } else {
        UNIX_EPOCH.checked_sub(whole)?
    };
    time.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// `time` as ISO-8601 text in UTC, as go-dqlite writes it: `YYYY-MM-DD HH:MM:SS`, then the
/// fraction of a second without trailing zeros (if any), then `+00:00`.
pub fn format_iso8601(time: SystemTime) -> String {
    let (secs, nanos) = split(time);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let mut text = format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        of_day / 3_600,
        of_day / 60 % 60,
        of_day % 60
    );
    if nanos > 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push_str("+00:00");
    text
}

/// Parses ISO-8601 date-time text: `YYYY-MM-DD`, then optionally ` HH:MM` or `THH:MM`,
/// `:SS`, `.fraction` (up to nanoseconds; more digits are ignored), and a zone (`Z`,
/// `+HH:MM`, `-HH:MM`, `+HHMM`; none means UTC). `None` for anything else.
pub fn parse_iso8601(text: &str) -> Option<SystemTime> {
    let bytes = text.trim().as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        if digits.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(digits).ok()?.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let (month, day) = (u32::try_from(month).ok()?, u32::try_from(day).ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0u32;
    let mut at = 10;
    if matches!(bytes.get(at), Some(b' ' | b'T' | b't')) {
        let (hour, minute) = (number(at + 1..at + 3)?, number(at + 4..at + 6)?);
        if bytes.get(at + 3) != Some(&b':') || hour > 23 || minute > 59 {
            return None;
        }
        secs += hour * 3_600 + minute * 60;
        at += 6;
        if bytes.get(at) == Some(&b':') {
            let second = number(at + 1..at + 3)?;
            if second > 60 {
                return None;
            }
            secs += second;
            at += 3;
            if bytes.get(at) == Some(&b'.') {
                let digits = bytes
                    .get(at + 1..)?
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits == 0 {
                    return None;
                }
                for (i, &b) in bytes
                    .get(at + 1..at + 1 + digits.min(9))?
                    .iter()
                    .enumerate()
                {
                    nanos += u32::from(b - b'0') * 10u32.pow(8 - u32::try_from(i).ok()?);
                }
                at += 1 + digits;
            }
        }
    }
    match bytes.get(at..)? {
        [] | [b'Z' | b'z'] => {}
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hours, minutes) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    let digit = |b: &u8| b.is_ascii_digit().then(|| i64::from(b - b'0'));
                    (digit(h1)? * 10 + digit(h2)?, digit(m1)? * 10 + digit(m2)?)
                }
                _ => return None,
            };
            let offset = hours * 3_600 + minutes * 60;
            // Local time = UTC + offset.
            secs -= if *sign == b'+' { offset } else { -offset };
        }
        _ => return None,
    }
    from_unix(secs, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> SystemTime {
        from_unix(secs, nanos).unwrap()
    }

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn iso8601_text_parses_in_every_layout() {
        let noon = at(1_700_049_600, 0); // 2023-11-15 12:00:00 UTC
        for text in [
            "2023-11-15 12:00:00",
            "2023-11-15T12:00:00Z",
            "2023-11-15 12:00",
            "2023-11-15 13:30:00+01:30",
            "2023-11-15 07:00:00-0500",
            "2023-11-15 12:00:00.000+00:00",
        ] {
            assert_eq!(parse_iso8601(text), Some(noon), "{text}");
        }
        assert_eq!(parse_iso8601("2023-11-15"), Some(at(1_700_006_400, 0)));
        assert_eq!(
            parse_iso8601("2023-11-15 12:00:00.123456789123-00:00"),
            Some(at(1_700_049_600, 123_456_789))
        );
        assert_eq!(
            parse_iso8601("1969-12-31 23:59:59.5"),
            Some(at(-1, 500_000_000))
        );
        for bad in [
            "",
            "2023-11-15 25:00",
            "2023-13-01",
            "2023/11/15",
            "2023-11-15 12:00:00.",
            "2023-11-15 12:00:00 UTC",
            "2023-11-15 12:00:00+1",
            "now",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn iso8601_text_is_written_as_go_dqlite_writes_it() {
        assert_eq!(
            format_iso8601(at(1_700_049_600, 0)),
            "2023-11-15 12:00:00+00:00"
        );
        assert_eq!(
            format_iso8601(at(1_700_049_600, 120_000_000)),
            "2023-11-15 12:00:00.12+00:00"
        );
        assert_eq!(
            format_iso8601(at(-1, 500_000_000)),
            "1969-12-31 23:59:59.5+00:00"
        );
        for (secs, nanos) in [(0, 0), (1_700_049_600, 1), (-86_401, 999_999_999)] {
            let time = at(secs, nanos);
            assert_eq!(parse_iso8601(&format_iso8601(time)), Some(time));
        }
    }
}
