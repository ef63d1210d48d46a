//! The symmetric envelope: sealing and opening Rampart's ciphertext blob (AES-256-GCM with the
//! header and the encryption context as associated data) for 1 KiB and 4 KiB plaintexts.
//!
//!     cargo bench -p rampart-kms --bench envelope
#![allow(clippy::unwrap_used, clippy::expect_used)]
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rampart_kms::blob;
use std::collections::BTreeMap;
use std::hint::black_box;
use uuid::Uuid;

fn envelope(c: &mut Criterion) {
    let key = [9u8; 32];
    let (kid, mid) = (Uuid::new_v4(), Uuid::new_v4());
    let mut ctx = BTreeMap::new();
    ctx.insert(
        "SecretARN".to_string(),
        "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf".to_string(),
    );
    ctx.insert("SecretVersionId".to_string(), Uuid::new_v4().to_string());
    let mut g = c.benchmark_group("blob");
    for size in [1024usize, 4096] {
        let pt = vec![0x5au8; size];
        let sealed = blob::seal(kid, mid, &key, &ctx, &pt).unwrap();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("seal", size), &pt, |b, pt| {
            b.iter(|| blob::seal(kid, mid, &key, black_box(&ctx), black_box(pt)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("open", size), &sealed, |b, s| {
            b.iter(|| blob::open(black_box(s), &key, black_box(&ctx)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, envelope);
criterion_main!(benches);
