//! Rotation schedules: `AutomaticallyAfterDays`, `rate(N hours|days)` and AWS's six-field
//! `cron(minutes hours day-of-month month day-of-week year)`, all in UTC.
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Days(i64),
    Hours(i64),
    Cron(Box<Cron>),
}

/// A parsed cron expression: the allowed values of each field.
#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// Index 1..=31; `None` for `?`.
    dom: Option<Vec<bool>>,
    dom_last: bool,
    months: Vec<bool>,
    /// Index 1..=7 (1 = Sunday); `None` for `?`.
    dow: Option<Vec<bool>>,
    /// `d#n`: the n-th weekday d of the month.
    dow_nth: Option<(u32, u32)>,
    /// `dL`: the last weekday d of the month.
    dow_last: Option<u32>,
    /// `None`: every year.
    years: Option<Vec<bool>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(tok: &str, names: &[&str], lo: u32, hi: u32) -> Result<u32, String> {
    let up = tok.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == up) {
        return Ok(lo + u32::try_from(i).map_err(|_| "bad name".to_string())?);
    }
    let n: u32 = tok.parse().map_err(|_| format!("invalid value '{tok}'"))?;
    if n < lo || n > hi {
        return Err(format!("value {n} out of range {lo}-{hi}"));
    }
    Ok(n)
}

/// Parses one field made of `*`, values, ranges `a-b`, steps `x/n` and lists.
fn field(s: &str, names: &[&str], lo: u32, hi: u32) -> Result<Vec<bool>, String> {
    let mut set = vec![false; usize::try_from(hi).map_err(|e| e.to_string())? + 1];
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st.parse().map_err(|_| format!("invalid step '{st}'"))?;
                if st == 0 {
                    return Err("step 0".into());
                }
                (r, st)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, lo, hi)?, value(b, names, lo, hi)?)
        } else {
            let a = value(range, names, lo, hi)?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a > b {
            return Err(format!("invalid range '{range}'"));
        }
        let mut i = a;
        while i <= b {
            if let Some(x) = set.get_mut(i as usize) {
                *x = true;
            }
            i += step;
        }
    }
    Ok(set)
}

fn parse_cron(body: &str) -> Result<Cron, String> {
    let f: Vec<&str> = body.split_whitespace().collect();
    let [min, hour, dom, mon, dow, year] = f.as_slice() else {
        return Err("a cron expression has six fields".into());
    };
    let minutes = field(min, &[], 0, 59)?;
    let hours = field(hour, &[], 0, 23)?;
    let months = field(mon, &MONTHS, 1, 12)?;
    let years = if *year == "*" {
        None
    } else {
        Some(field(year, &[], 1970, 2199)?)
    };
    if (*dom == "?") == (*dow == "?") {
        return Err("exactly one of day-of-month and day-of-week must be '?'".into());
    }
    let (mut dom_set, mut dom_last) = (None, false);
    if *dom != "?" {
        if *dom == "L" {
            dom_last = true;
            dom_set = Some(vec![false; 32]);
        } else {
            dom_set = Some(field(dom, &[], 1, 31)?);
        }
    }
    let (mut dow_set, mut dow_nth, mut dow_last) = (None, None, None);
    if *dow != "?" {
        if let Some((d, n)) = dow.split_once('#') {
            let d = value(d, &DAYS, 1, 7)?;
            let n: u32 = n.parse().map_err(|_| format!("invalid '#{n}'"))?;
            if !(1..=5).contains(&n) {
                return Err("'#' takes 1-5".into());
            }
            dow_nth = Some((d, n));
            dow_set = Some(vec![false; 8]);
        } else if let Some(d) = dow.strip_suffix('L').filter(|d| !d.is_empty()) {
            dow_last = Some(value(d, &DAYS, 1, 7)?);
            dow_set = Some(vec![false; 8]);
        } else {
            dow_set = Some(field(dow, &DAYS, 1, 7)?);
        }
    }
    Ok(Cron {
        minutes,
        hours,
        dom: dom_set,
        dom_last,
        months,
        dow: dow_set,
        dow_nth,
        dow_last,
        years,
    })
}

fn has(set: &[bool], i: u32) -> bool {
    set.get(i as usize).copied().unwrap_or(false)
}

fn last_day_of_month(y: i32, m: u32) -> u32 {
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(28)
}

impl Cron {
    fn day_matches(&self, d: NaiveDate) -> bool {
        if !has(&self.months, d.month()) {
            return false;
        }
        if let Some(ys) = &self.years {
            if !u32::try_from(d.year()).is_ok_and(|y| has(ys, y)) {
                return false;
            }
        }
        let last = last_day_of_month(d.year(), d.month());
        if let Some(set) = &self.dom {
            return if self.dom_last {
                d.day() == last
            } else {
                has(set, d.day())
            };
        }
        // 1 = Sunday.
        let wd = d.weekday().num_days_from_sunday() + 1;
        if let Some((want, n)) = self.dow_nth {
            return wd == want && (d.day() - 1) / 7 + 1 == n;
        }
        if let Some(want) = self.dow_last {
            return wd == want && d.day() + 7 > last;
        }
        self.dow.as_ref().is_some_and(|set| has(set, wd))
    }

    /// The first time strictly after `t` (minute precision), within ten years.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = t.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut day = start.date_naive();
        for _ in 0..3700 {
            if self.day_matches(day) {
                for h in 0..24u32 {
                    if !has(&self.hours, h) {
                        continue;
                    }
                    for mi in 0..60u32 {
                        if !has(&self.minutes, mi) {
                            continue;
                        }
                        let cand = Utc.from_utc_datetime(&day.and_hms_opt(h, mi, 0)?);
                        if cand >= start {
                            return Some(cand);
                        }
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

/// Parses `rate(...)` or `cron(...)`.
pub fn parse_expression(s: &str) -> Result<Schedule, String> {
    let s = s.trim();
    if let Some(body) = s.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
        let mut it = body.split_whitespace();
        let (Some(n), Some(unit), None) = (it.next(), it.next(), it.next()) else {
            return Err("rate() takes a number and a unit".into());
        };
        let n: i64 = n.parse().map_err(|_| format!("invalid number '{n}'"))?;
        return match unit {
            "day" | "days" if (1..=1000).contains(&n) => Ok(Schedule::Days(n)),
            "hour" | "hours" if (4..=23).contains(&n) => Ok(Schedule::Hours(n)),
            "day" | "days" => Err("a rate in days must be between 1 and 1000".into()),
            "hour" | "hours" => Err("a rate in hours must be between 4 and 23".into()),
            _ => Err(format!("invalid unit '{unit}'")),
        };
    }
    if let Some(body) = s.strip_prefix("cron(").and_then(|b| b.strip_suffix(')')) {
        return parse_cron(body).map(|c| Schedule::Cron(Box::new(c)));
    }
    Err("a schedule expression is rate(...) or cron(...)".into())
}

/// `Duration`: `Nh`, 1 to 24 hours.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let n: i64 = s
        .strip_suffix('h')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("invalid duration '{s}'"))?;
    if !(1..=24).contains(&n) {
        return Err("the duration must be between 1h and 24h".into());
    }
    Ok(n)
}

fn midnight(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.from_utc_datetime(&t.date_naive().and_time(chrono::NaiveTime::MIN))
}

/// When the next rotation window starts, given the time of the last rotation (or of the
/// schedule's creation).
pub fn next_rotation(s: &Schedule, last: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match s {
        // The window starts at midnight of the day the interval ends.
        Schedule::Days(n) => Some(midnight(last + Duration::days(*n))),
        Schedule::Hours(n) => {
            let t = last + Duration::hours(*n);
            t.with_minute(0)?.with_second(0)?.with_nanosecond(0)
        }
        Schedule::Cron(c) => c.next_after(last),
    }
}

#[cfg(test)]
#[path = "tests/schedule.rs"]
mod tests;
