//! IP address sets: CIDR blocks merged into sorted ranges, looked up by binary search; and the
//! client address taken from a forwarded-IP header.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A CIDR block that does not parse, or a prefix length out of range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadCidr(pub String);

/// Which address family a set holds (`IPAddressVersion`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// A parsed CIDR block (address masked to its prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or `x::y/n` as AWS WAF accepts them: a prefix is required, `/0` is
    /// refused (AWS supports every prefix length except /0), and the family must match.
    pub fn parse(s: &str, family: Family) -> Result<Cidr, BadCidr> {
        let bad = || BadCidr(s.to_string());
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        let addr: IpAddr = a.parse().map_err(|_| bad())?;
        let max = match (addr, family) {
            (IpAddr::V4(_), Family::V4) => 32,
            (IpAddr::V6(_), Family::V6) => 128,
            _ => return Err(bad()),
        };
        if prefix == 0 || prefix > max {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    fn range(&self) -> (u128, u128) {
        let (v, bits) = match self.addr {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32),
            IpAddr::V6(a) => (u128::from(a), 128u32),
        };
        let host = bits - u32::from(self.prefix);
        let mask: u128 = if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        (v & !mask, (v & !mask) | mask)
    }
}

/// A set of addresses of one family.
#[derive(Debug, Clone, Default)]
pub struct IpSet {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
}

impl IpSet {
    /// Builds the set from parsed blocks.
    pub fn new(blocks: &[Cidr]) -> IpSet {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for c in blocks {
            match c.addr {
                IpAddr::V4(_) => v4.push(c.range()),
                IpAddr::V6(_) => v6.push(c.range()),
            }
        }
        IpSet {
            v4: merge(v4),
            v6: merge(v6),
        }
    }

    /// Whether `ip` is in the set (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (ranges, v) = match canonical(ip) {
            IpAddr::V4(a) => (&self.v4, u128::from(u32::from(a))),
            IpAddr::V6(a) => (&self.v6, u128::from(a)),
        };
        let i = ranges.partition_point(|&(start, _)| start <= v);
        i > 0 && ranges.get(i - 1).is_some_and(|&(_, end)| v <= end)
    }
}

fn merge(mut r: Vec<(u128, u128)>) -> Vec<(u128, u128)> {
    r.sort_unstable();
    let mut out: Vec<(u128, u128)> = Vec::with_capacity(r.len());
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if s <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// An IPv4-mapped IPv6 address as IPv4; anything else unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(a),
        },
        v4 => v4,
    }
}

/// Which address of a forwarded-IP header to use (`IPSetForwardedIPConfig.Position`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    First,
    Last,
    Any,
}

/// The addresses of a forwarded-IP header value (`X-Forwarded-For: a, b, c`). `None` when any
/// entry is not an IP address (AWS then applies the fallback behaviour).
pub fn forwarded(value: &str) -> Option<Vec<IpAddr>> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        out.push(parse_forwarded_entry(p)?);
    }
    (!out.is_empty()).then_some(out)
}

fn parse_forwarded_entry(p: &str) -> Option<IpAddr> {
    if let Ok(ip) = p.parse::<IpAddr>() {
        return Some(ip);
    }
    // `[v6]:port` or `v4:port`
    if let Some(rest) = p.strip_prefix('[') {
        let (a, _) = rest.split_once(']')?;
        return a.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    let (a, port) = p.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) {
        return a.parse::<Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}
