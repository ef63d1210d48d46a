//! Timestamp text formats of the AWS protocols, to and from epoch seconds.
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};

/// Parses ISO 8601 / RFC 3339 (`2024-01-02T03:04:05Z`, `2024-01-02T03:04:05.123+01:00`, and
/// without an offset, taken as UTC) into epoch seconds.
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(to_secs(t.with_timezone(&Utc)));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(to_secs(Utc.from_utc_datetime(&t)));
        }
    }
    None
}

/// Parses an HTTP date (`Tue, 02 Jan 2024 03:04:05 GMT`) into epoch seconds.
pub fn parse_http_date(s: &str) -> Option<f64> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|t| to_secs(t.with_timezone(&Utc)))
}

/// Parses a timestamp in any of the formats AWS accepts in text: epoch seconds, ISO 8601,
/// or an HTTP date; `format` (the model's `timestampFormat`) is tried first.
pub fn parse_any(s: &str, format: Option<&str>) -> Option<f64> {
    let epoch = || s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    match format {
        Some("unixTimestamp") => epoch().or_else(|| parse_iso8601(s)),
        Some("rfc822") => parse_http_date(s).or_else(|| parse_iso8601(s)),
        _ => parse_iso8601(s)
            .or_else(epoch)
            .or_else(|| parse_http_date(s)),
    }
}

fn to_secs(t: DateTime<Utc>) -> f64 {
    let nanos = f64::from(t.timestamp_subsec_nanos());
    t.timestamp() as f64 + (nanos / 1.0e6).round() / 1000.0
}

fn to_datetime(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() || secs.abs() > 8.0e12 {
        return None;
    }
    let millis = (secs * 1000.0).round() as i64;
    Utc.timestamp_millis_opt(millis).single()
}

/// `2024-01-02T03:04:05Z`, or `2024-01-02T03:04:05.120Z` when there are milliseconds.
pub fn format_iso8601(secs: f64) -> String {
    match to_datetime(secs) {
        Some(t) if t.timestamp_subsec_millis() != 0 => {
            t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        }
        Some(t) => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        None => secs.to_string(),
    }
}

/// `Tue, 02 Jan 2024 03:04:05 GMT`.
pub fn format_http_date(secs: f64) -> String {
    match to_datetime(secs) {
        Some(t) => t.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        None => secs.to_string(),
    }
}

/// Epoch seconds as text: an integer when whole, else with the fraction.
pub fn format_epoch(secs: f64) -> String {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        (secs as i64).to_string()
    } else {
        secs.to_string()
    }
}

/// Formats epoch seconds in the model's `timestampFormat`, or `default` when it has none.
pub fn format(secs: f64, format: Option<&str>, default: &str) -> String {
    match format.unwrap_or(default) {
        "rfc822" => format_http_date(secs),
        "unixTimestamp" => format_epoch(secs),
        _ => format_iso8601(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_round_trip() {
        assert_eq!(parse_iso8601("2024-01-02T03:04:05Z"), Some(1_704_164_645.0));
        assert_eq!(
            parse_iso8601("2024-01-02T03:04:05.5Z"),
            Some(1_704_164_645.5)
        );
        assert_eq!(
            parse_iso8601("2024-01-02T04:04:05+01:00"),
            Some(1_704_164_645.0)
        );
        assert_eq!(parse_iso8601("2024-01-02T03:04:05"), Some(1_704_164_645.0));
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(format_iso8601(1_704_164_645.0), "2024-01-02T03:04:05Z");
        assert_eq!(format_iso8601(1_704_164_645.25), "2024-01-02T03:04:05.250Z");
    }

    #[test]
    fn http_date() {
        assert_eq!(
            format_http_date(1_704_164_645.0),
            "Tue, 02 Jan 2024 03:04:05 GMT"
        );
        assert_eq!(
            parse_http_date("Tue, 02 Jan 2024 03:04:05 GMT"),
            Some(1_704_164_645.0)
        );
        assert_eq!(parse_any("1704164645", None), Some(1_704_164_645.0));
    }
}
