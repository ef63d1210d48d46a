//! Parsers for the typed values conditions compare: numbers, dates, booleans, IP addresses and
//! CIDR blocks. Shared by policy compilation (policy values) and the request context (request
//! values), so both sides read a value the same way.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::net::IpAddr;

/// A number as the `Numeric*` operators read it: an optional sign, digits, an optional
/// fraction and exponent. `NaN`, `inf` and hexadecimal are not numbers.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let mut chars = t.chars();
    let first = chars.next()?;
    if !(first.is_ascii_digit() || first == '-' || first == '+' || first == '.') {
        return None;
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
    {
        return None;
    }
    let v: f64 = t.parse().ok()?;
    v.is_finite().then_some(v)
}

/// `true`/`false` in any case.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A date as the `Date*` operators read it, as milliseconds since the epoch: an epoch time in
/// seconds (`1672531199`, as `aws:EpochTime` gives it) or ISO 8601 (`2020-01-01T00:00:00Z`,
/// with or without fraction, offset, seconds; `2020-01-01` alone is midnight UTC; a time
/// without an offset is UTC; the basic form `20200101T000000Z` too).
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // Epoch seconds: digits with an optional sign and fraction.
    if is_epoch_like(t) {
        if let Some(secs) = parse_number(t) {
            let ms = secs * 1000.0;
            if ms.abs() < 9.0e18 {
                // Truncation toward zero of an in-range finite value.
                #[allow(clippy::cast_possible_truncation)]
                return Some(ms as i64);
            }
            return None;
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc).timestamp_millis());
    }
    if let Ok(d) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M%:z") {
        return Some(d.with_timezone(&Utc).timestamp_millis());
    }
    let naive = t
        .strip_suffix('Z')
        .or_else(|| t.strip_suffix('z'))
        .unwrap_or(t);
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dt%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y%m%dT%H%M%S",
        "%Y-%m-%d %H:%M:%S%.f",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(naive, fmt) {
            return Some(d.and_utc().timestamp_millis());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(naive, "%Y-%m-%d") {
        return d
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc().timestamp_millis());
    }
    None
}

/// `[+-]?digits(.digits)?`
fn is_epoch_like(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

/// An IP address block: an address and a prefix length (an address alone is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let t = s.trim();
        let (addr, prefix) = match t.split_once('/') {
            Some((a, p)) => {
                if p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?)
            }
            None => {
                let a = t.parse::<IpAddr>().ok()?;
                let full = if a.is_ipv4() { 32 } else { 128 };
                (a, full)
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: &IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("10"), Some(10.0));
        assert_eq!(parse_number("-1.5e2"), Some(-150.0));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("0x10"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn dates() {
        let base = parse_date("2020-01-01T00:00:00Z");
        assert_eq!(base, Some(1_577_836_800_000));
        assert_eq!(parse_date("1577836800"), base);
        assert_eq!(parse_date("2020-01-01"), base);
        assert_eq!(parse_date("2020-01-01T00:00:00"), base);
        assert_eq!(parse_date("2020-01-01T01:00:00+01:00"), base);
        assert_eq!(parse_date("2020-01-01T00:00Z"), base);
        assert_eq!(parse_date("20200101T000000Z"), base);
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            Some(1_577_836_800_500)
        );
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn cidrs() {
        let net = Cidr::parse("203.0.113.0/24");
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        assert!(net
            .zip(ip("203.0.113.9"))
            .is_some_and(|(n, a)| n.contains(&a)));
        assert!(net
            .zip(ip("203.0.114.9"))
            .is_some_and(|(n, a)| !n.contains(&a)));
        assert!(net
            .zip(ip("::ffff:203.0.113.9"))
            .is_some_and(|(n, a)| n.contains(&a)));
        let all = Cidr::parse("0.0.0.0/0");
        assert!(all.zip(ip("8.8.8.8")).is_some_and(|(n, a)| n.contains(&a)));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64");
        assert!(v6
            .zip(ip("2001:db8:1234:5678::1"))
            .is_some_and(|(n, a)| n.contains(&a)));
        assert!(v6
            .zip(ip("203.0.113.9"))
            .is_some_and(|(n, a)| !n.contains(&a)));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0.0/").is_none());
        assert!(Cidr::parse("not-an-ip").is_none());
    }
}
