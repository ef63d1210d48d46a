//! An address database the operator supplies for GeoMatch and AsnMatch statements (and the
//! `country` of logs and samples). Two common free formats are read:
//!
//! * CSV ranges, `first,last,CC[,...]`, the addresses written out (DB-IP's "IP to Country
//!   Lite") or as decimal integers (IP2Location LITE DB1), quotes allowed;
//! * TSV ranges with an AS number, `first<TAB>last<TAB>ASN<TAB>CC<TAB>description`
//!   (iptoasn.com's `ip2asn-combined.tsv`), which gives both the country and the ASN.

use std::net::IpAddr;
use std::path::Path;

use rampart_firewall::acl::GeoLookup;

#[derive(Debug, Clone, Copy)]
struct Range {
    first: u128,
    last: u128,
    country: Option<[u8; 2]>,
    asn: Option<u32>,
}

/// The database, sorted ranges per family.
#[derive(Debug, Default)]
pub struct GeoDb {
    v4: Vec<Range>,
    v6: Vec<Range>,
}

fn addr(s: &str) -> Option<(bool, u128)> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(match ip {
            IpAddr::V4(a) => (true, u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (true, u128::from(u32::from(v4))),
                None => (false, u128::from(a)),
            },
        });
    }
    let n: u128 = s.parse().ok()?;
    Some((n <= u128::from(u32::MAX), n))
}

fn country(s: &str) -> Option<[u8; 2]> {
    let s = s.trim().trim_matches('"');
    match s.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
            let c = [a.to_ascii_uppercase(), b.to_ascii_uppercase()];
            (&c != b"ZZ").then_some(c)
        }
        _ => None,
    }
}

impl GeoDb {
    /// Reads a database file; lines that fit neither format are skipped (and counted).
    pub fn load(path: &Path) -> Result<GeoDb, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut db = GeoDb::default();
        let mut skipped = 0usize;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = if line.contains('\t') {
                line.split('\t').collect()
            } else {
                line.split(',').collect()
            };
            let parsed = (|| {
                let (v4a, first) = addr(fields.first()?)?;
                let (v4b, last) = addr(fields.get(1)?)?;
                if v4a != v4b || last < first {
                    return None;
                }
                let r = if line.contains('\t') {
                    let asn: u32 = fields.get(2)?.trim().parse().ok()?;
                    Range {
                        first,
                        last,
                        country: fields.get(3).and_then(|c| country(c)),
                        asn: (asn != 0).then_some(asn),
                    }
                } else {
                    Range {
                        first,
                        last,
                        country: country(fields.get(2)?),
                        asn: None,
                    }
                };
                Some((v4a, r))
            })();
            match parsed {
                Some((true, r)) => db.v4.push(r),
                Some((false, r)) => db.v6.push(r),
                None => skipped += 1,
            }
        }
        db.v4.sort_by_key(|r| r.first);
        db.v6.sort_by_key(|r| r.first);
        if db.v4.is_empty() && db.v6.is_empty() {
            return Err(format!("{}: no address ranges found", path.display()));
        }
        if skipped > 0 {
            tracing::warn!(file = %path.display(), skipped, "lines of the address database were not understood");
        }
        tracing::info!(file = %path.display(), ipv4 = db.v4.len(), ipv6 = db.v6.len(), "address database loaded");
        Ok(db)
    }

    fn find(&self, ip: IpAddr) -> Option<&Range> {
        let (ranges, v) = match ip {
            IpAddr::V4(a) => (&self.v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => (&self.v4, u128::from(u32::from(v4))),
                None => (&self.v6, u128::from(a)),
            },
        };
        let i = ranges.partition_point(|r| r.first <= v);
        ranges.get(i.checked_sub(1)?).filter(|r| v <= r.last)
    }
}

impl GeoLookup for GeoDb {
    fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        self.find(ip)?.country
    }

    fn asn(&self, ip: IpAddr) -> Option<u32> {
        self.find(ip)?.asn
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_formats() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("c.csv");
        std::fs::write(
            &csv,
            "1.0.0.0,1.0.0.255,AU\n\"16777472\",\"16778239\",\"CN\",\"China\"\n2001:db8::,2001:db8::ffff,DE\nbad line\n",
        )
        .unwrap();
        let db = GeoDb::load(&csv).unwrap();
        assert_eq!(db.country("1.0.0.7".parse().unwrap()), Some(*b"AU"));
        assert_eq!(db.country("1.0.1.1".parse().unwrap()), Some(*b"CN"));
        assert_eq!(db.country("::ffff:1.0.0.9".parse().unwrap()), Some(*b"AU"));
        assert_eq!(db.country("2001:db8::5".parse().unwrap()), Some(*b"DE"));
        assert_eq!(db.country("9.9.9.9".parse().unwrap()), None);
        let tsv = dir.path().join("a.tsv");
        std::fs::write(&tsv, "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n").unwrap();
        let db = GeoDb::load(&tsv).unwrap();
        assert_eq!(db.asn("1.0.0.1".parse().unwrap()), Some(13335));
        assert_eq!(db.country("1.0.0.1".parse().unwrap()), Some(*b"US"));
        assert_eq!(db.asn("1.0.2.1".parse().unwrap()), None);
        assert!(GeoDb::load(&dir.path().join("missing")).is_err());
    }
}
