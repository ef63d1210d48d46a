//! The store: every piece of Rampart state lives here.
//!
//! Services see transactions ([`Tx`]) over named collections of records (`coll`, `key`) ->
//! bytes, plus the append-only audit-trail table. Keeping the interface this small is what lets
//! a second back end (PostgreSQL) slot in without touching services: it implements [`Tx`] over
//! the same two tables.
//!
//! Writes go through one writer thread that commits in groups: every job in a group runs in its
//! own savepoint (a failing job rolls back alone), then one `COMMIT` (one fsync) makes the whole
//! group durable before any caller is answered. Reads run on the caller's thread on a pool of
//! read connections (SQLite WAL lets them proceed during writes).
#![forbid(unsafe_code)]

pub mod cache;
mod sqlite;

pub use sqlite::SqliteStore;

use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Backend(String),
    #[error("stored record {coll}/{key} is corrupt: {reason}")]
    Corrupt {
        coll: String,
        key: String,
        reason: String,
    },
    #[error("the store is shut down")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

/// One row of the audit trail. `record` is the CloudTrail-format JSON; the other columns are
/// the attributes `LookupEvents` filters on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrailRow {
    pub seq: i64,
    /// The account the event belongs to (`recipientAccountId`).
    pub account_id: String,
    /// `awsRegion`: event history is regional, as in AWS.
    pub region: String,
    pub event_id: String,
    /// Milliseconds since the Unix epoch.
    pub event_time_ms: i64,
    pub event_name: String,
    pub event_source: String,
    pub username: String,
    pub access_key_id: String,
    pub read_only: bool,
    pub resource_type: String,
    pub resource_name: String,
    pub record: String,
    /// SHA-256 chaining this row to the one before it.
    pub hash: Vec<u8>,
    /// Whether the keys LookupEvents finds the row by were derived from its columns: `false`
    /// for a row read back whose keys were edited apart from it (hiding it from lookups
    /// without touching what the chain covers). Always `true` for a row being appended.
    pub indexed: bool,
}

/// A signed checkpoint of the trail's hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct TrailDigest {
    pub seq: i64,
    pub time_ms: i64,
    pub head_hash: Vec<u8>,
    pub signature: Vec<u8>,
}

/// A `LookupEvents` query. `attribute` is one of the attribute columns and its value.
#[derive(Debug, Clone, Default)]
pub struct TrailQuery {
    /// Only events of this account and region.
    pub account_id: String,
    pub region: String,
    pub attribute: Option<(TrailAttribute, String)>,
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    /// Return events with `seq` strictly below this (pagination, newest first).
    pub before_seq: Option<i64>,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrailAttribute {
    EventId,
    EventName,
    ReadOnly,
    Username,
    ResourceType,
    ResourceName,
    EventSource,
    AccessKeyId,
}

/// A transaction. Reads see a consistent snapshot; writes become durable together at commit.
pub trait Tx {
    fn get(&mut self, coll: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn put(&mut self, coll: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Returns whether a record was deleted.
    fn delete(&mut self, coll: &str, key: &str) -> Result<bool, StoreError>;
    /// Records of `coll` whose key starts with `prefix`, in key order, keys strictly after
    /// `after` when given, at most `limit`.
    fn scan(
        &mut self,
        coll: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Removes every record and every trail event (the `--dev` reset).
    fn wipe(&mut self) -> Result<(), StoreError>;

    fn trail_append(&mut self, row: &TrailRow) -> Result<(), StoreError>;
    /// `(seq, hash)` of the newest trail row.
    fn trail_head(&mut self) -> Result<Option<(i64, Vec<u8>)>, StoreError>;
    /// Rows with `seq > after_seq` in order, at most `limit` (verification walks the chain).
    fn trail_range(&mut self, after_seq: i64, limit: usize) -> Result<Vec<TrailRow>, StoreError>;
    /// Rows matching `q`, newest first.
    fn trail_query(&mut self, q: &TrailQuery) -> Result<Vec<TrailRow>, StoreError>;
    fn digest_put(&mut self, d: &TrailDigest) -> Result<(), StoreError>;
    fn digests(&mut self) -> Result<Vec<TrailDigest>, StoreError>;
}

impl dyn Tx + '_ {
    /// Reads a JSON record.
    pub fn get_json<T: DeserializeOwned>(
        &mut self,
        coll: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        match self.get(coll, key)? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        coll: coll.into(),
                        key: key.into(),
                        reason: e.to_string(),
                    })
            }
        }
    }

    /// Writes a JSON record.
    pub fn put_json<T: Serialize>(
        &mut self,
        coll: &str,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| StoreError::Backend(format!("encode {coll}/{key}: {e}")))?;
        self.put(coll, key, &bytes)
    }

    /// Scans JSON records.
    pub fn scan_json<T: DeserializeOwned>(
        &mut self,
        coll: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>, StoreError> {
        self.scan(coll, prefix, after, limit)?
            .into_iter()
            .map(|(k, v)| {
                serde_json::from_slice(&v)
                    .map(|t| (k.clone(), t))
                    .map_err(|e| StoreError::Corrupt {
                        coll: coll.into(),
                        key: k,
                        reason: e.to_string(),
                    })
            })
            .collect()
    }
}

/// What every back end offers.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a read transaction on the calling thread.
    fn read_dyn(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Queues a write job; it runs on the writer in its own savepoint, and `done` is called
    /// once the group it belongs to has committed (or failed to).
    fn submit(&self, job: Box<dyn WriteJob>);
}

/// An error inside a service's store transaction: the service's own AWS error (returned as
/// is) or the store's (logged, and answered with the service's internal error).
#[derive(Debug)]
pub enum TxError {
    Aws(rampart_core::AwsError),
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

impl From<rampart_core::AwsError> for TxError {
    fn from(e: rampart_core::AwsError) -> Self {
        TxError::Aws(e)
    }
}

impl TxError {
    /// The AWS error to answer: a service error as is; a store failure logged (with
    /// `service`) and answered with `internal()`.
    pub fn into_aws(
        self,
        service: &str,
        internal: impl FnOnce() -> rampart_core::AwsError,
    ) -> rampart_core::AwsError {
        match self {
            TxError::Aws(a) => a,
            TxError::Store(s) => {
                tracing::error!(error = %s, service, "store failure");
                internal()
            }
        }
    }
}

/// A queued write. `run` executes inside the group transaction and says whether its changes
/// stand; `finish` learns whether the commit that made them durable succeeded.
pub trait WriteJob: Send {
    fn run(&mut self, tx: &mut dyn Tx) -> bool;
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
    /// Whether the job must run inside its own savepoint so that a failure rolls back its
    /// changes alone. A job whose every statement leaves the store consistent on its own (a
    /// single insert, say) can skip it: savepoints journal every page the job touches.
    fn needs_savepoint(&self) -> bool {
        true
    }
    /// Whether a caller waits for this job's commit (the writer then commits without
    /// lingering for more jobs).
    fn waits(&self) -> bool {
        true
    }
}

struct FnJob<F, R, E> {
    f: Option<F>,
    result: Option<Result<R, E>>,
    reply: Option<std::sync::mpsc::SyncSender<Result<R, E>>>,
    guarded: bool,
}

impl<F, R, E> WriteJob for FnJob<F, R, E>
where
    F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send,
    R: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, tx: &mut dyn Tx) -> bool {
        let Some(f) = self.f.take() else { return false };
        let r = f(tx);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn needs_savepoint(&self) -> bool {
        self.guarded
    }

    fn waits(&self) -> bool {
        self.reply.is_some()
    }

    fn finish(mut self: Box<Self>, committed: Result<(), StoreError>) {
        let out = match (committed, self.result.take()) {
            (Ok(()), Some(r)) => r,
            (Err(e), Some(Ok(_))) => Err(E::from(e)),
            (_, Some(Err(e))) => Err(e),
            (Err(e), None) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Backend("write job did not run".into()))),
        };
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(out);
        }
    }
}

/// Convenience methods over any [`Store`].
pub trait StoreExt: Store {
    /// Runs `f` in a read transaction.
    fn read<R, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> Result<R, E>,
    ) -> Result<R, E> {
        let mut f = Some(f);
        let mut out: Option<Result<R, E>> = None;
        let r = self.read_dyn(&mut |tx| {
            if let Some(f) = f.take() {
                out = Some(f(tx));
            }
            Ok(())
        });
        match (r, out) {
            (Ok(()), Some(o)) => o,
            (Err(e), _) => Err(E::from(e)),
            (Ok(()), None) => Err(E::from(StoreError::Backend("read did not run".into()))),
        }
    }

    /// Runs `f` in a write transaction and returns once its result is durable. When `f`
    /// returns an error, its changes are rolled back and the error returned.
    fn write<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.write_as(f, true)
    }

    /// [`StoreExt::write`] with `guarded: false` for jobs whose every statement leaves the
    /// store consistent on its own (see [`WriteJob::needs_savepoint`]): a failure keeps what
    /// the statements before it did.
    fn write_as<R, E, F>(&self, f: F, guarded: bool) -> Result<R, E>
    where
        F: FnOnce(&mut dyn Tx) -> Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(Box::new(FnJob {
            f: Some(f),
            result: None,
            reply: Some(tx),
            guarded,
        }));
        rx.recv()
            .unwrap_or_else(|_| Err(E::from(StoreError::Closed)))
    }

    /// Queues a write without waiting for it (audit events of read-only calls). It commits
    /// with the next group, normally within milliseconds.
    fn write_detached<F>(&self, f: F)
    where
        F: FnOnce(&mut dyn Tx) -> Result<(), StoreError> + Send + 'static,
    {
        self.write_detached_as(f, true)
    }

    /// [`StoreExt::write_detached`] choosing the savepoint (see [`StoreExt::write_as`]).
    fn write_detached_as<F>(&self, f: F, guarded: bool)
    where
        F: FnOnce(&mut dyn Tx) -> Result<(), StoreError> + Send + 'static,
    {
        self.submit(Box::new(FnJob {
            f: Some(f),
            result: None,
            reply: None,
            guarded,
        }));
    }
}

impl<S: Store + ?Sized> StoreExt for S {}
