//! Generates `crates/model/src/generated/` from the pinned botocore models.
//!
//! ```text
//! cargo run -p codegen -- --botocore <dir-or-wheel> [--check] [--out <dir>]
//! ```
//! `--botocore` is a directory holding `botocore/data` (an unpacked wheel or a botocore
//! checkout), the `data` directory itself, or the `.whl` file. `--check` regenerates in memory
//! and exits 1 listing the files that differ (for CI). Deviations from the models go into
//! `crates/codegen/patches.json` (JSON merge patches, one per service), never into the output.
#![forbid(unsafe_code)]

mod gen;
#[path = "../../model/src/javaregex.rs"]
#[allow(dead_code)]
mod javaregex;
mod wheel;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The botocore release the output is pinned to.
pub const BOTOCORE_VERSION: &str = "1.44.5";

/// The services to generate: (Rust module, botocore service directory, API version).
/// Adding a service is one line here.
const SERVICES: &[(&str, &str, &str)] = &[
    ("cloudtrail", "cloudtrail", "2013-11-01"),
    ("iam", "iam", "2010-05-08"),
    ("kms", "kms", "2014-11-01"),
    ("organizations", "organizations", "2016-11-28"),
    ("secretsmanager", "secretsmanager", "2017-10-17"),
    ("sts", "sts", "2011-06-15"),
    ("wafv2", "wafv2", "2019-07-29"),
];

/// Rampart's own APIs, modelled in botocore's format under `crates/codegen/models/`:
/// (Rust module, directory, API version).
const LOCAL_SERVICES: &[(&str, &str, &str)] = &[("edge", "rampart-edge", "2026-12-01")];

fn usage() -> ExitCode {
    eprintln!("usage: cargo run -p codegen -- --botocore <dir|wheel> [--check] [--out <dir>]");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut botocore: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut check = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--botocore" => botocore = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--check" => check = true,
            "-h" | "--help" => return usage(),
            _ => {
                eprintln!("unknown argument {a}");
                return usage();
            }
        }
    }
    let Some(botocore) =
        botocore.or_else(|| std::env::var_os("RAMPART_BOTOCORE").map(PathBuf::from))
    else {
        eprintln!("--botocore <dir|wheel> is required (or set RAMPART_BOTOCORE)");
        return usage();
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = out.unwrap_or_else(|| manifest.join("../model/src/generated"));
    match run(&botocore, &out, manifest, check) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("codegen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(botocore: &Path, out: &Path, manifest: &Path, check: bool) -> Result<ExitCode, String> {
    let patches_path = &manifest.join("patches.json");
    let source = wheel::Source::open(botocore)?;
    match source.version()? {
        Some(v) if v != BOTOCORE_VERSION => {
            return Err(format!(
                "{} is botocore {v}, expected {BOTOCORE_VERSION}",
                botocore.display()
            ))
        }
        Some(_) => {}
        None => eprintln!(
            "note: {} has no botocore/__init__.py; assuming botocore {BOTOCORE_VERSION}",
            botocore.display()
        ),
    }
    let patches: Value = serde_json::from_str(
        &std::fs::read_to_string(patches_path)
            .map_err(|e| format!("{}: {e}", patches_path.display()))?,
    )
    .map_err(|e| format!("{}: {e}", patches_path.display()))?;

    let mut files: Vec<(String, String)> = Vec::new();
    let mut summary = Vec::new();
    let all = SERVICES
        .iter()
        .map(|s| (s, false))
        .chain(LOCAL_SERVICES.iter().map(|s| (s, true)));
    for ((module, dir, version), local) in all {
        let raw = if local {
            let p = manifest.join(format!("models/{dir}/{version}/service-2.json"));
            std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?
        } else {
            source.read(&format!("{dir}/{version}/service-2.json.gz"))?
        };
        let mut model: Value =
            serde_json::from_slice(&raw).map_err(|e| format!("{dir} model: {e}"))?;
        if let Some(p) = patches.get(*module) {
            merge_patch(&mut model, p);
        }
        let g = gen::generate(module, &model)?;
        summary.push((module.to_string(), g.stats, g.bad_patterns));
        files.push((format!("{module}.rs"), rustfmt(&g.code)?));
    }
    files.push((
        "mod.rs".to_string(),
        rustfmt(&gen::generate_mod(
            SERVICES.iter().chain(LOCAL_SERVICES).map(|s| s.0),
        ))?,
    ));

    let out = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let out = out.as_path();
    let mut differ = Vec::new();
    let mut removed = Vec::new();
    for (name, text) in &files {
        let path = out.join(name);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(text.as_str()) {
            differ.push(path.clone());
            if !check {
                std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
                std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    // Files of services no longer listed.
    if let Ok(entries) = std::fs::read_dir(out) {
        let mut stale: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .filter(|p| {
                !files
                    .iter()
                    .any(|(n, _)| p.file_name().is_some_and(|f| f == n.as_str()))
            })
            .collect();
        stale.sort();
        for p in stale {
            if !check {
                std::fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                println!("removed: {}", p.display());
            }
            removed.push(p);
        }
    }

    for (module, stats, bad) in &summary {
        println!("{module}: {stats}");
        for (shape, pattern, err) in bad {
            println!("  pattern of {shape} not checked (the regex crate cannot compile it: {err}): {pattern}");
        }
    }
    for (name, text) in &files {
        println!("{name}: {} bytes", text.len());
    }
    if check {
        if differ.is_empty() && removed.is_empty() {
            println!("generated files are up to date");
            Ok(ExitCode::SUCCESS)
        } else {
            for p in &differ {
                println!("differs: {}", p.display());
            }
            for p in &removed {
                println!("not generated any more: {}", p.display());
            }
            println!("run `cargo run -p codegen -- --botocore <dir|wheel>` and commit the result");
            Ok(ExitCode::FAILURE)
        }
    } else {
        for p in &differ {
            println!("wrote: {}", p.display());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if k.starts_with("//") {
                continue; // comments in patches.json
            }
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// Formats Rust source with `rustfmt` (edition 2021, the workspace's settings).
fn rustfmt(code: &str) -> Result<String, String> {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child =
        Command::new(std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string()))
            .args(["--edition", "2021", "--emit", "stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run rustfmt: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("rustfmt: no stdin")?;
    let input = code.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|e| format!("rustfmt: {e}"))?;
    writer
        .join()
        .map_err(|_| "rustfmt: writer thread panicked".to_string())?
        .map_err(|e| format!("rustfmt: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("rustfmt: {e}"))
}
