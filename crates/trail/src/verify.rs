use crate::{chain_hash, digest_mac};
use aws_lc_rs::hmac;
use rampart_store::{Store, StoreError, StoreExt, TrailDigest};
use std::fmt;

/// What `rampart trail verify` found.
#[derive(Debug, Default)]
pub struct VerifyReport {
    pub events: i64,
    pub digests: usize,
    /// The first problem found, if any.
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Row `seq` does not hash to its stored value: it (or its record) was edited.
    Edited { seq: i64, event_id: String },
    /// Row `seq` hashes right, but the keys LookupEvents finds it by were edited apart from
    /// its columns: it was hidden from (or planted in) lookups.
    Unindexed { seq: i64, event_id: String },
    /// Rows between `after` and `next` are missing (deleted), or an extra row was inserted.
    Gap { after: i64, next: i64 },
    /// The chain's first row is not row 1 (rows deleted from the start).
    BadStart { first: i64 },
    /// A digest's signature does not verify, or it does not match the chain at its row.
    BadDigest { seq: i64 },
    /// A digest signs row `seq`, but the trail ends before it (rows deleted from the end).
    Truncated { seq: i64, last: i64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { seq, event_id } => write!(f, "event #{seq} (eventID {event_id}) was modified: its hash does not match the chain"),
            Problem::Unindexed { seq, event_id } => write!(f, "event #{seq} (eventID {event_id}) was hidden from lookups: its lookup keys do not match its columns"),
            Problem::Gap { after, next } => write!(f, "the chain breaks between event #{after} and event #{next}: events were deleted or inserted"),
            Problem::BadStart { first } => write!(f, "the trail starts at event #{first}, not #1: events were deleted from its start"),
            Problem::BadDigest { seq } => write!(f, "the digest signing event #{seq} does not verify: the chain was rewritten or the digest forged"),
            Problem::Truncated { seq, last } => write!(f, "a digest signs event #{seq} but the trail ends at event #{last}: events were deleted from its end"),
        }
    }
}

/// Walks the whole chain and every digest; reports the first problem.
pub fn verify(store: &dyn Store, mac_key: &hmac::Key) -> Result<VerifyReport, StoreError> {
    let mut report = VerifyReport::default();
    let digests: Vec<TrailDigest> = store.read(|tx| tx.digests())?;
    report.digests = digests.len();
    let mut digest_iter = digests.iter().peekable();
    let mut prev_hash = vec![0u8; 32];
    let mut prev_seq = 0i64;
    loop {
        let rows = store.read(|tx| tx.trail_range(prev_seq, 2000))?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != prev_seq + 1 {
                report.problem = Some(if prev_seq == 0 {
                    Problem::BadStart { first: row.seq }
                } else {
                    Problem::Gap {
                        after: prev_seq,
                        next: row.seq,
                    }
                });
                return Ok(report);
            }
            let h = chain_hash(&row, &prev_hash);
            if h != row.hash {
                report.problem = Some(Problem::Edited {
                    seq: row.seq,
                    event_id: row.event_id.clone(),
                });
                return Ok(report);
            }
            if !row.indexed {
                report.problem = Some(Problem::Unindexed {
                    seq: row.seq,
                    event_id: row.event_id.clone(),
                });
                return Ok(report);
            }
            while let Some(d) = digest_iter.peek() {
                if d.seq > row.seq {
                    break;
                }
                if d.seq == row.seq {
                    let mac = digest_mac(mac_key, d.seq, d.time_ms, &d.head_hash);
                    if d.head_hash != h || mac != d.signature {
                        report.problem = Some(Problem::BadDigest { seq: d.seq });
                        return Ok(report);
                    }
                }
                digest_iter.next();
            }
            prev_hash = h;
            prev_seq = row.seq;
            report.events += 1;
        }
    }
    if let Some(d) = digest_iter.next() {
        report.problem = Some(Problem::Truncated {
            seq: d.seq,
            last: prev_seq,
        });
    }
    Ok(report)
}
