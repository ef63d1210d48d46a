use crate::{Store, StoreError, TrailAttribute, TrailDigest, TrailQuery, TrailRow, Tx, WriteJob};
use rusqlite::{params, Connection, OptionalExtension};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

/// Largest number of jobs committed together.
const MAX_GROUP: usize = 1024;
/// How long a group of detached jobs (audit events nobody waits for) may wait for company.
const LINGER: std::time::Duration = std::time::Duration::from_millis(10);
/// Idle reader connections kept open. Opening one costs its pragmas, a schema read and the
/// re-preparation of every statement, so the pool must cover the request path's concurrency
/// (its blocking threads), not just the cores.
const MAX_IDLE_READERS: usize = 256;

/// Runs a statement with no parameters and no result through the connection's statement
/// cache (`execute_batch` parses it again on every call).
fn exec(conn: &Connection, sql: &str) -> Result<(), rusqlite::Error> {
    conn.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// One schema migration: SQL, or code for what SQL alone cannot compute.
enum Migration {
    Sql(&'static str),
    Code(fn(&rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error>),
}

/// Versioned migrations; `PRAGMA user_version` records how many have run.
const MIGRATIONS: &[Migration] = &[
    // 1: records and the trail
    Migration::Sql("CREATE TABLE kv (coll TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (coll, key)) WITHOUT ROWID;
     CREATE TABLE trail (
        seq INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        event_name TEXT NOT NULL,
        event_source TEXT NOT NULL,
        username TEXT NOT NULL,
        access_key_id TEXT NOT NULL,
        read_only INTEGER NOT NULL,
        resource_type TEXT NOT NULL,
        resource_name TEXT NOT NULL,
        record TEXT NOT NULL,
        hash BLOB NOT NULL);
     CREATE INDEX trail_account ON trail (account_id, region, seq);
     CREATE INDEX trail_event_id ON trail (account_id, event_id);
     CREATE INDEX trail_event_name ON trail (account_id, event_name, seq);
     CREATE INDEX trail_username ON trail (account_id, username, seq);
     CREATE INDEX trail_source ON trail (account_id, event_source, seq);
     CREATE INDEX trail_akid ON trail (account_id, access_key_id, seq);
     CREATE INDEX trail_resource_name ON trail (account_id, resource_name, seq);
     CREATE TABLE trail_digest (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, head_hash BLOB NOT NULL, signature BLOB NOT NULL);"),
    // 2: the trail's lookups by integer keys (see `lookup_key`) instead of text ones
    Migration::Code(integer_lookup_keys),
];

/// The trail's integer key columns, one per lookup, in the order of `Lookup`.
const KEY_COLUMNS: [&str; 7] = [
    "k_scope",
    "k_event_id",
    "k_event_name",
    "k_username",
    "k_event_source",
    "k_access_key_id",
    "k_resource_name",
];

/// The lookups LookupEvents makes by index: the account and region alone (`Scope`), or one
/// attribute of theirs.
#[derive(Clone, Copy)]
enum Lookup {
    Scope = 0,
    EventId,
    EventName,
    Username,
    EventSource,
    AccessKeyId,
    ResourceName,
}

/// The integer key under which a trail row is found by one lookup: FNV-1a (64-bit) of the
/// lookup, the account, the region and the value, each length-prefixed. An index of these
/// compares integers where one of text compared the shared account prefix and the value on
/// every insert (the writer's largest cost after the hash chain), and its entries are a
/// fraction of the size. A collision only makes a lookup read and discard a row: every query
/// also compares the text itself. The function is part of the file format: never change it
/// without a migration.
///
/// Event ids are the exception: they are UUIDv7, time-ordered, and every event has its own,
/// so a hash would put each insert on a random page of that index (a 16 KiB WAL frame per
/// event). Their key is the id's first 63 bits (the millisecond and 12 random bits), which
/// keeps inserts at the index's end; an id that is not a UUID falls back to the hash.
fn lookup_key(lookup: Lookup, account: &str, region: &str, value: &str) -> i64 {
    if let Lookup::EventId = lookup {
        if let Some(k) = uuid_prefix(value) {
            return k;
        }
    }
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    };
    eat(&[lookup as u8]);
    for part in [account, region, value] {
        eat(&(part.len() as u64).to_le_bytes());
        eat(part.as_bytes());
    }
    h as i64
}

/// The first 16 hex digits of a UUID string as a non-negative integer in the same order.
fn uuid_prefix(id: &str) -> Option<i64> {
    let b = id.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' {
        return None;
    }
    let mut v: u64 = 0;
    for c in b[0..8].iter().chain(&b[9..13]).chain(&b[14..18]) {
        let d = char::from(*c).to_digit(16)?;
        v = (v << 4) | u64::from(d);
    }
    i64::try_from(v >> 1).ok()
}

/// A row's keys, in the order of `KEY_COLUMNS`.
fn row_keys(row: &TrailRow) -> [i64; 7] {
    let k = |l, v| lookup_key(l, &row.account_id, &row.region, v);
    [
        k(Lookup::Scope, ""),
        k(Lookup::EventId, &row.event_id),
        k(Lookup::EventName, &row.event_name),
        k(Lookup::Username, &row.username),
        k(Lookup::EventSource, &row.event_source),
        k(Lookup::AccessKeyId, &row.access_key_id),
        k(Lookup::ResourceName, &row.resource_name),
    ]
}

/// Migration 2: adds the integer key columns, fills them for the rows already there (in
/// batches, so a long trail is not held in memory), and swaps the text indexes for integer
/// ones. Every index also holds the row's seq (its rowid), so each serves `seq < ?` newest
/// first.
fn integer_lookup_keys(t: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
    for col in KEY_COLUMNS {
        t.execute_batch(&format!(
            "ALTER TABLE trail ADD COLUMN {col} INTEGER NOT NULL DEFAULT 0"
        ))?;
    }
    t.execute_batch(
        "DROP INDEX trail_account; DROP INDEX trail_event_id; DROP INDEX trail_event_name;
         DROP INDEX trail_username; DROP INDEX trail_source; DROP INDEX trail_akid;
         DROP INDEX trail_resource_name;",
    )?;
    let sets: Vec<String> = KEY_COLUMNS
        .iter()
        .enumerate()
        .map(|(i, col)| format!("{col} = ?{}", i + 2))
        .collect();
    let mut update = t.prepare(&format!(
        "UPDATE trail SET {} WHERE seq = ?1",
        sets.join(", ")
    ))?;
    let mut select = t.prepare(
        "SELECT seq, account_id, region, event_id, event_name, event_source, username, access_key_id, resource_name
         FROM trail WHERE seq > ?1 ORDER BY seq LIMIT 10000",
    )?;
    let mut after = 0i64;
    loop {
        let batch = select
            .query_map([after], |r| {
                let row = TrailRow {
                    seq: r.get(0)?,
                    account_id: r.get(1)?,
                    region: r.get(2)?,
                    event_id: r.get(3)?,
                    event_name: r.get(4)?,
                    event_source: r.get(5)?,
                    username: r.get(6)?,
                    access_key_id: r.get(7)?,
                    resource_name: r.get(8)?,
                    ..TrailRow::default()
                };
                Ok((row.seq, row_keys(&row)))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let Some((last, _)) = batch.last() else { break };
        after = *last;
        for (seq, k) in &batch {
            update.execute(params![seq, k[0], k[1], k[2], k[3], k[4], k[5], k[6]])?;
        }
    }
    for col in KEY_COLUMNS {
        t.execute_batch(&format!("CREATE INDEX trail_{col} ON trail ({col})"))?;
    }
    Ok(())
}

/// The embedded back end: one SQLite database file in WAL mode.
/// Jobs nobody waits for (audit events of read-only calls), collected without waking the
/// writer; it takes them every few milliseconds, or when a waited-for job arrives.
type Detached = Arc<Mutex<Vec<Box<dyn WriteJob>>>>;

/// Detached jobs beyond this many wake the writer; beyond `MAX_DETACHED` they go through the
/// bounded channel (so a writer that cannot keep up slows producers down).
const NUDGE_AT: usize = 1024;
const MAX_DETACHED: usize = 16_384;

/// Wakes the writer (it runs nothing).
struct Nudge;

impl WriteJob for Nudge {
    fn run(&mut self, _: &mut dyn Tx) -> bool {
        true
    }
    fn finish(self: Box<Self>, _: Result<(), StoreError>) {}
    fn needs_savepoint(&self) -> bool {
        false
    }
    fn waits(&self) -> bool {
        false
    }
}

pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<SyncSender<Box<dyn WriteJob>>>>,
    detached: Detached,
    handle: Mutex<Option<thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
}

/// Page size of a new database.
const PAGE_SIZE: i64 = 16 * 1024;
/// Pages the WAL grows to before a checkpoint copies them back (64 MiB of 16 KiB pages).
const WAL_PAGES: i64 = 4000;

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // 16 KiB pages for a new database (an existing one keeps its own): the trail appends
    // a few KiB per event, and every page is a WAL frame written, and later copied back, by
    // its own system calls.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk (fsync of the WAL) before the writer answers anyone.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // A larger WAL between checkpoints: a page written by many commits is copied back once.
    conn.pragma_update(None, "wal_autocheckpoint", WAL_PAGES)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = open(path)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::sync_channel::<Box<dyn WriteJob>>(4096);
        let detached: Detached = Arc::default();
        let queued = detached.clone();
        let handle = thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer_loop(conn, rx, queued))
            .map_err(|e| StoreError::Backend(format!("spawn writer: {e}")))?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(Some(tx)),
            detached,
            handle: Mutex::new(Some(handle)),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Stops accepting writes, lets queued ones commit, and waits for the writer.
    pub fn close(&self) {
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Ok(mut h) = self.handle.lock() {
            if let Some(h) = h.take() {
                let _ = h.join();
            }
        }
    }

    fn reader(&self) -> Result<Connection, StoreError> {
        if let Some(c) = self.readers.lock().ok().and_then(|mut r| r.pop()) {
            return Ok(c);
        }
        open(&self.path)
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
    if version > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {version}, newer than this build knows ({}); upgrade Rampart",
            MIGRATIONS.len()
        )));
    }
    for (i, step) in MIGRATIONS.iter().enumerate().skip(version) {
        let t = conn.transaction()?;
        match step {
            Migration::Sql(sql) => t.execute_batch(sql)?,
            Migration::Code(run) => run(&t)?,
        }
        t.pragma_update(None, "user_version", (i + 1) as i64)?;
        t.commit()?;
    }
    Ok(())
}

/// The writer's copy of the trail's head, `(seq, hash)` of its last row (`Some(None)`: the
/// trail is empty), so an append chains to it without a query. `None` when unknown: at
/// start, and after anything rolled back or wiped.
type Head = Option<Option<(i64, Vec<u8>)>>;

fn writer_loop(mut conn: Connection, rx: Receiver<Box<dyn WriteJob>>, detached: Detached) {
    // Whether commits currently fsync the WAL (`synchronous = FULL`, set by `open`).
    let mut syncing = true;
    let mut head: Head = None;
    loop {
        // Wait for a job that someone waits for, or for the linger time to pass.
        let (first, open) = match rx.recv_timeout(LINGER) {
            Ok(j) => (Some(j), true),
            Err(mpsc::RecvTimeoutError::Timeout) => (None, true),
            Err(mpsc::RecvTimeoutError::Disconnected) => (None, false),
        };
        // Detached jobs queued so far were (nearly always) submitted before the job that woke
        // the writer: they go first, so the trail keeps the order events happened in.
        let mut group: Vec<Box<dyn WriteJob>> = Vec::new();
        if let Ok(mut d) = detached.lock() {
            let take = d.len().min(MAX_GROUP);
            group.extend(d.drain(..take));
        }
        group.extend(first);
        while group.len() < MAX_GROUP + NUDGE_AT {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        if !group.is_empty() {
            // A group nobody waits for (audit events of read-only calls, acknowledged before
            // they are written) commits without an fsync of its own: its frames reach the
            // WAL file (so a killed process loses nothing) and the next group someone waits
            // for, or the next checkpoint, syncs them with its own.
            let durable = group.iter().any(|j| j.waits());
            if durable != syncing {
                let mode = if durable { "FULL" } else { "NORMAL" };
                match conn.pragma_update(None, "synchronous", mode) {
                    Ok(()) => syncing = durable,
                    Err(e) => tracing::error!(error = %e, "synchronous mode could not be set"),
                }
            }
            let result = run_group(&mut conn, &mut group, &mut head);
            if result.is_err() {
                head = None;
            }
            for job in group {
                let r = match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(StoreError::Backend(e.to_string())),
                };
                job.finish(r);
            }
        }
        if !open && detached.lock().map(|d| d.is_empty()).unwrap_or(true) {
            return;
        }
    }
}

fn run_group(
    conn: &mut Connection,
    group: &mut [Box<dyn WriteJob>],
    head: &mut Head,
) -> Result<(), StoreError> {
    exec(conn, "BEGIN IMMEDIATE")?;
    for job in group.iter_mut() {
        if !job.needs_savepoint() {
            let mut tx = SqliteTx {
                conn,
                head: Some(&mut *head),
            };
            if catch_unwind(AssertUnwindSafe(|| job.run(&mut tx))).is_err() {
                tracing::error!("an unguarded write job panicked; the group is rolled back");
                let _ = exec(conn, "ROLLBACK");
                return Err(StoreError::Backend("a write job panicked".into()));
            }
            continue;
        }
        if let Err(e) = exec(conn, "SAVEPOINT job") {
            let _ = exec(conn, "ROLLBACK");
            return Err(e.into());
        }
        let keep = {
            let mut tx = SqliteTx {
                conn,
                head: Some(&mut *head),
            };
            catch_unwind(AssertUnwindSafe(|| job.run(&mut tx))).unwrap_or_else(|_| {
                tracing::error!("a write job panicked; its changes are rolled back");
                false
            })
        };
        let end = if keep {
            exec(conn, "RELEASE job")
        } else {
            *head = None;
            exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job"))
        };
        if let Err(e) = end {
            let _ = exec(conn, "ROLLBACK");
            return Err(e.into());
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        let _ = exec(conn, "ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

impl Store for SqliteStore {
    fn read_dyn(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let conn = self.reader()?;
        exec(&conn, "BEGIN")?;
        let r = {
            let mut tx = SqliteTx {
                conn: &conn,
                head: None,
            };
            f(&mut tx)
        };
        let end = exec(&conn, "COMMIT");
        if r.is_ok() && end.is_ok() {
            if let Ok(mut pool) = self.readers.lock() {
                if pool.len() < MAX_IDLE_READERS {
                    pool.push(conn);
                }
            }
        }
        r?;
        end?;
        Ok(())
    }

    fn submit(&self, job: Box<dyn WriteJob>) {
        let sender = self.writer.lock().ok().and_then(|w| w.clone());
        let job = if !job.waits() && sender.is_some() {
            let rejected = match self.detached.lock() {
                Ok(mut d) if d.len() < MAX_DETACHED => {
                    d.push(job);
                    if d.len() == NUDGE_AT {
                        if let Some(s) = &sender {
                            let _ = s.try_send(Box::new(Nudge));
                        }
                    }
                    None
                }
                // Too many queued: wait for room in the channel like any write.
                _ => Some(job),
            };
            match rejected {
                None => return,
                Some(j) => j,
            }
        } else {
            job
        };
        match sender {
            Some(s) => {
                if let Err(mpsc::SendError(job)) = s.send(job) {
                    job.finish(Err(StoreError::Closed));
                }
            }
            None => job.finish(Err(StoreError::Closed)),
        }
    }
}

struct SqliteTx<'c> {
    conn: &'c Connection,
    /// The writer's trail head (`None` for readers).
    head: Option<&'c mut Head>,
}

fn row_to_trail(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrailRow> {
    let mut row = TrailRow {
        seq: r.get(0)?,
        account_id: r.get(1)?,
        region: r.get(2)?,
        event_id: r.get(3)?,
        event_time_ms: r.get(4)?,
        event_name: r.get(5)?,
        event_source: r.get(6)?,
        username: r.get(7)?,
        access_key_id: r.get(8)?,
        read_only: r.get::<_, i64>(9)? != 0,
        resource_type: r.get(10)?,
        resource_name: r.get(11)?,
        record: r.get(12)?,
        hash: r.get(13)?,
        indexed: false,
    };
    let stored: [i64; 7] = [
        r.get(14)?,
        r.get(15)?,
        r.get(16)?,
        r.get(17)?,
        r.get(18)?,
        r.get(19)?,
        r.get(20)?,
    ];
    row.indexed = stored == row_keys(&row);
    Ok(row)
}

const TRAIL_COLS: &str =
    "seq, account_id, region, event_id, event_time, event_name, event_source, username, access_key_id, read_only, resource_type, resource_name, record, hash,
     k_scope, k_event_id, k_event_name, k_username, k_event_source, k_access_key_id, k_resource_name";

impl Tx for SqliteTx<'_> {
    fn get(&mut self, coll: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT value FROM kv WHERE coll = ?1 AND key = ?2")?;
        Ok(st.query_row(params![coll, key], |r| r.get(0)).optional()?)
    }

    fn put(&mut self, coll: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut st = self
            .conn
            .prepare_cached("INSERT INTO kv (coll, key, value) VALUES (?1, ?2, ?3) ON CONFLICT (coll, key) DO UPDATE SET value = excluded.value")?;
        st.execute(params![coll, key, value])?;
        Ok(())
    }

    fn delete(&mut self, coll: &str, key: &str) -> Result<bool, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("DELETE FROM kv WHERE coll = ?1 AND key = ?2")?;
        Ok(st.execute(params![coll, key])? > 0)
    }

    fn scan(
        &mut self,
        coll: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // No LIMIT, ORDER BY or second bound in the SQL: any of them makes SQLite re-prepare
        // the statement on every execution (measured: a full parse per scan, 13% of a KMS
        // request's CPU). The table is WITHOUT ROWID with primary key (coll, key), so a scan
        // of one coll walks its b-tree in key order; the loop checks that and stops at the
        // first key past the prefix or at `limit`.
        let start = match after {
            Some(a) if a >= prefix => a.to_string(),
            // The greatest string below every key with the prefix is not expressible; start
            // after the prefix minus its last character and skip what precedes the prefix.
            _ => {
                let mut p = prefix.to_string();
                p.pop();
                p
            }
        };
        let mut st = self
            .conn
            .prepare_cached("SELECT key, value FROM kv WHERE coll = ?1 AND key > ?2")?;
        let mut rows = st.query(params![coll, start])?;
        let mut out: Vec<(String, Vec<u8>)> = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next()? else { break };
            let key: String = r.get(0)?;
            if let Some((prev, _)) = out.last() {
                if key <= *prev {
                    return Err(StoreError::Backend(format!(
                        "kv scan of {coll} returned keys out of order"
                    )));
                }
            }
            if after.is_some_and(|a| key.as_str() <= a) || key.as_str() < prefix {
                continue;
            }
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key, r.get(1)?));
        }
        Ok(out)
    }

    fn wipe(&mut self) -> Result<(), StoreError> {
        if let Some(h) = self.head.as_deref_mut() {
            *h = None;
        }
        self.conn
            .execute_batch("DELETE FROM kv; DELETE FROM trail; DELETE FROM trail_digest;")?;
        Ok(())
    }

    fn trail_append(&mut self, row: &TrailRow) -> Result<(), StoreError> {
        let k = row_keys(row);
        let mut st = self.conn.prepare_cached(
            "INSERT INTO trail (seq, account_id, region, event_id, event_time, event_name, event_source, username, access_key_id, read_only, resource_type, resource_name, record, hash,
                                k_scope, k_event_id, k_event_name, k_username, k_event_source, k_access_key_id, k_resource_name)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        )?;
        let done = st.execute(params![
            row.seq,
            row.account_id,
            row.region,
            row.event_id,
            row.event_time_ms,
            row.event_name,
            row.event_source,
            row.username,
            row.access_key_id,
            row.read_only as i64,
            row.resource_type,
            row.resource_name,
            row.record,
            row.hash,
            k[0],
            k[1],
            k[2],
            k[3],
            k[4],
            k[5],
            k[6]
        ]);
        if let Some(h) = self.head.as_deref_mut() {
            *h = match done {
                Ok(_) => Some(Some((row.seq, row.hash.clone()))),
                Err(_) => None,
            };
        }
        done?;
        Ok(())
    }

    fn trail_head(&mut self) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        if let Some(Some(known)) = self.head.as_deref() {
            return Ok(known.clone());
        }
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, hash FROM trail ORDER BY seq DESC LIMIT 1")?;
        let found: Option<(i64, Vec<u8>)> = st
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some(h) = self.head.as_deref_mut() {
            *h = Some(found.clone());
        }
        Ok(found)
    }

    fn trail_range(&mut self, after_seq: i64, limit: usize) -> Result<Vec<TrailRow>, StoreError> {
        let sql = format!("SELECT {TRAIL_COLS} FROM trail WHERE seq > ?1 ORDER BY seq LIMIT ?2");
        let mut st = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st.query_map(params![after_seq, limit], row_to_trail)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn trail_query(&mut self, q: &TrailQuery) -> Result<Vec<TrailRow>, StoreError> {
        // The lookup's integer key finds the candidates through its index (named, so the
        // planner cannot pick another); the text comparisons drop the rare collision.
        let (lookup, text_col, value) = match &q.attribute {
            Some((attr, v)) => {
                let (lookup, col) = match attr {
                    TrailAttribute::EventId => (Lookup::EventId, "event_id"),
                    TrailAttribute::EventName => (Lookup::EventName, "event_name"),
                    TrailAttribute::Username => (Lookup::Username, "username"),
                    TrailAttribute::EventSource => (Lookup::EventSource, "event_source"),
                    TrailAttribute::AccessKeyId => (Lookup::AccessKeyId, "access_key_id"),
                    TrailAttribute::ResourceName => (Lookup::ResourceName, "resource_name"),
                    TrailAttribute::ReadOnly => (Lookup::Scope, "read_only"),
                    TrailAttribute::ResourceType => (Lookup::Scope, "resource_type"),
                };
                let value = match attr {
                    TrailAttribute::ReadOnly if v.eq_ignore_ascii_case("true") => "1".to_string(),
                    TrailAttribute::ReadOnly => "0".to_string(),
                    _ => v.clone(),
                };
                (lookup, Some(col), value)
            }
            None => (Lookup::Scope, None, String::new()),
        };
        let key_col = KEY_COLUMNS[lookup as usize];
        let key_value = match lookup {
            Lookup::Scope => "",
            _ => value.as_str(),
        };
        let key = lookup_key(lookup, &q.account_id, &q.region, key_value);
        let text_filter = match text_col {
            Some(col) => format!("{col} = ?4"),
            None => "?4 = ?4".to_string(),
        };
        let sql = format!(
            "SELECT {TRAIL_COLS} FROM trail INDEXED BY trail_{key_col}
             WHERE {key_col} = ?8 AND seq < ?1 AND event_time >= ?2 AND event_time <= ?3
               AND account_id = ?6 AND region = ?7 AND {text_filter}
             ORDER BY seq DESC LIMIT ?5"
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let rows = st.query_map(
            params![
                q.before_seq.unwrap_or(i64::MAX),
                q.start_ms.unwrap_or(i64::MIN),
                q.end_ms.unwrap_or(i64::MAX),
                value,
                limit,
                q.account_id,
                q.region,
                key
            ],
            row_to_trail,
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn digest_put(&mut self, d: &TrailDigest) -> Result<(), StoreError> {
        let mut st = self.conn.prepare_cached(
            "INSERT INTO trail_digest (seq, time_ms, head_hash, signature) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (seq) DO UPDATE SET time_ms = excluded.time_ms, head_hash = excluded.head_hash, signature = excluded.signature",
        )?;
        st.execute(params![d.seq, d.time_ms, d.head_hash, d.signature])?;
        Ok(())
    }

    fn digests(&mut self) -> Result<Vec<TrailDigest>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT seq, time_ms, head_hash, signature FROM trail_digest ORDER BY seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok(TrailDigest {
                seq: r.get(0)?,
                time_ms: r.get(1)?,
                head_hash: r.get(2)?,
                signature: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests/sqlite.rs"]
mod tests;
