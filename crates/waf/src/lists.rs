//! Address lists that feed AWS's IP reputation groups (`AWSManagedRulesAmazonIpReputationList`,
//! `AWSManagedRulesAnonymousIpList`): one file per rule in a directory,
//! `<rule name>.txt` (`AWSManagedIPReputationList.txt`, `AnonymousIPList.txt`, ...), one
//! address or CIDR block per line, `#` comments (GuardDuty's TXT threat-list format). The
//! files are re-read when they change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rampart_firewall::acl::ip::{Cidr, Family, IpSet};
use rampart_firewall::IP_GROUPS;

/// The lists, as last read.
#[derive(Debug, Default)]
pub struct IpLists {
    pub sets: HashMap<&'static str, Arc<IpSet>>,
    /// Entries per list (for the operator's log).
    pub counts: HashMap<&'static str, usize>,
    stamp: Vec<(PathBuf, Option<SystemTime>, u64)>,
}

fn parse_entry(line: &str) -> Option<Cidr> {
    let s = line.split('#').next()?.trim();
    if s.is_empty() {
        return None;
    }
    let with_prefix = if s.contains('/') {
        s.to_string()
    } else if s.contains(':') {
        format!("{s}/128")
    } else {
        format!("{s}/32")
    };
    let fam = if s.contains(':') {
        Family::V6
    } else {
        Family::V4
    };
    Cidr::parse(&with_prefix, fam).ok()
}

fn stamp_of(p: &Path) -> (PathBuf, Option<SystemTime>, u64) {
    let m = std::fs::metadata(p).ok();
    (
        p.to_path_buf(),
        m.as_ref().and_then(|m| m.modified().ok()),
        m.map(|m| m.len()).unwrap_or(0),
    )
}

impl IpLists {
    fn paths(dir: &Path) -> Vec<(&'static str, PathBuf)> {
        IP_GROUPS
            .iter()
            .flat_map(|g| g.rules.iter())
            .map(|(rule, _)| (*rule, dir.join(format!("{rule}.txt"))))
            .collect()
    }

    /// Reads every list under `dir` (missing files are empty lists).
    pub fn load(dir: &Path) -> IpLists {
        let mut out = IpLists::default();
        for (rule, path) in Self::paths(dir) {
            out.stamp.push(stamp_of(&path));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let mut bad = 0usize;
            let blocks: Vec<Cidr> = text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .filter_map(|l| {
                    let c = parse_entry(l);
                    bad += usize::from(c.is_none());
                    c
                })
                .collect();
            if bad > 0 {
                tracing::warn!(list = %path.display(), skipped = bad, "entries that are not addresses were skipped");
            }
            out.counts.insert(rule, blocks.len());
            out.sets.insert(rule, Arc::new(IpSet::new(&blocks)));
        }
        out
    }

    /// Whether any file under `dir` changed since these lists were read.
    pub fn changed(&self, dir: &Path) -> bool {
        let now: Vec<_> = Self::paths(dir).iter().map(|(_, p)| stamp_of(p)).collect();
        now != self.stamp
    }
}
