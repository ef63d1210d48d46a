//! Rotation: RotateSecret, CancelRotateSecret and the four-step protocol (`createSecret`,
//! `setSecret`, `testSecret`, `finishSecret`) run on a worker thread against a rotator.
//!
//! In place of Lambda, `RotationLambdaARN` (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`)
//! names a rotator: [`RANDOM_ROTATOR`] and [`POSTGRES_ROTATOR`], built in; an HTTPS webhook
//! registered in the server's configuration, which gets each step's Lambda event as the body
//! of a POST; or an executable `NAME` in the rotators directory, which gets it as JSON on
//! stdin. Either calls back into Rampart with an AWS SDK or the CLI, as a Lambda function
//! would.
use crate::labels::{self, CURRENT, PENDING};
use crate::record::RulesRec;
use crate::schedule::{self, Schedule};
use crate::{marked_for_deletion, now, password, service_ctx, SecretsService, R};
use chrono::{TimeZone, Utc};
use rampart_core::{AwsError, RequestContext};
use rampart_model::secretsmanager as m;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// The function name of the built-in rotator that puts a new random value.
pub const RANDOM_ROTATOR: &str = "rampart-random-rotator";
/// The function name of the built-in PostgreSQL rotator (single user: the user changes its
/// own password with `ALTER USER`), for secrets in AWS's JSON format for databases.
pub const POSTGRES_ROTATOR: &str = "rampart-postgres-rotator";
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];
/// Seconds before a failed scheduled rotation is tried again.
const RETRY_SECS: f64 = 3600.0;

/// Where rotators come from.
#[derive(Debug, Clone)]
pub struct Rotators {
    /// The directory of local-command rotators (`<dir>/<function name>`).
    pub dir: Option<PathBuf>,
    /// The endpoint a local-command rotator calls back (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// How long one step may run (Lambda's maximum is 15 minutes).
    pub step_timeout: Duration,
    /// The webhook rotators (HTTPS endpoints registered by function name).
    pub webhooks: Option<std::sync::Arc<dyn Webhooks>>,
}

/// Rotators reached over HTTPS, registered with the server by function name.
pub trait Webhooks: Send + Sync + std::fmt::Debug {
    /// Whether a webhook rotator is registered under `name`.
    fn has(&self, name: &str) -> bool;
    /// POSTs one step's Lambda event to the rotator `name` and waits up to `timeout` for a
    /// 2xx answer; `Err` says why not (for the log: never a secret).
    fn invoke(&self, name: &str, event: &[u8], timeout: Duration) -> Result<(), String>;
}

impl Default for Rotators {
    fn default() -> Self {
        Rotators {
            dir: None,
            endpoint: None,
            step_timeout: Duration::from_secs(300),
            webhooks: None,
        }
    }
}

enum Rotator {
    Random,
    Postgres,
    Webhook(String),
    Command(PathBuf),
}

fn no_lambda() -> AwsError {
    m::invalid_request_exception(
        "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.",
    )
}

fn cannot_invoke() -> AwsError {
    AwsError::access_denied(
        "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.",
    )
}

fn in_progress() -> AwsError {
    m::invalid_request_exception(
        "A previous rotation isn't complete. That rotation will be reattempted.",
    )
}

/// The function name of a Lambda ARN in the caller's account and region.
/// A Lambda function name as a rotator's name: 1-64 letters, digits, `-` and `_`.
pub fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn function_name(region: &str, account: &str, arn: &str) -> Option<String> {
    let rest = arn.strip_prefix("arn:aws:lambda:")?;
    let parts: Vec<&str> = rest.split(':').collect();
    match parts.as_slice() {
        [r, a, "function", name] | [r, a, "function", name, _] if *r == region && *a == account => {
            valid_function_name(name).then(|| name.to_string())
        }
        _ => None,
    }
}

impl Rotators {
    fn resolve(&self, region: &str, account: &str, arn: &str) -> Option<Rotator> {
        let name = function_name(region, account, arn)?;
        if name == RANDOM_ROTATOR {
            return Some(Rotator::Random);
        }
        if name == POSTGRES_ROTATOR {
            return Some(Rotator::Postgres);
        }
        if self.webhooks.as_ref().is_some_and(|w| w.has(&name)) {
            return Some(Rotator::Webhook(name));
        }
        let path = self.dir.as_ref()?.join(&name);
        let meta = std::fs::metadata(&path).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            if meta.permissions().mode() & 0o111 == 0 {
                return None;
            }
        }
        meta.is_file().then_some(Rotator::Command(path))
    }
}

fn schedule_of(r: &RulesRec) -> R<Option<Schedule>> {
    if let Some(d) = &r.duration {
        schedule::parse_duration(d).map_err(|e| {
            m::invalid_parameter_exception(format!("Invalid RotationRules.Duration: {e}."))
        })?;
    }
    match (r.automatically_after_days, &r.schedule_expression) {
        (Some(_), Some(_)) => Err(m::invalid_parameter_exception(
            "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.",
        )),
        (Some(d), None) => {
            if !(1..=1000).contains(&d) {
                return Err(m::invalid_parameter_exception(
                    "RotationRules.AutomaticallyAfterDays must be within 1-1000.",
                ));
            }
            Ok(Some(Schedule::Days(d)))
        }
        (None, Some(e)) => schedule::parse_expression(e).map(Some).map_err(|why| {
            m::invalid_parameter_exception(format!(
                "Invalid RotationRules.ScheduleExpression {e}: {why}."
            ))
        }),
        (None, None) => Ok(None),
    }
}

pub(crate) fn next_after(rules: Option<&RulesRec>, t: f64) -> Option<f64> {
    let s = rules.and_then(|r| schedule_of(r).ok().flatten())?;
    let base = Utc.timestamp_millis_opt((t * 1000.0) as i64).single()?;
    schedule::next_rotation(&s, base).map(|d| d.timestamp_millis() as f64 / 1000.0)
}

fn lock_set(
    s: &std::sync::Mutex<std::collections::HashSet<String>>,
) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
    match s.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl SecretsService {
    pub(crate) fn rotate(
        &self,
        ctx: &RequestContext,
        input: m::RotateSecretRequest,
    ) -> R<m::RotateSecretResponse> {
        let rec = self.load_live(ctx, &input.secret_id)?;
        let lambda = input
            .rotation_lambda_arn
            .clone()
            .or_else(|| rec.rotation.lambda_arn.clone())
            .ok_or_else(no_lambda)?;
        if self
            .rotators
            .resolve(&ctx.region, &ctx.account_id, &lambda)
            .is_none()
        {
            return Err(cannot_invoke());
        }
        let rules = match input.rotation_rules {
            Some(r) => Some(RulesRec {
                automatically_after_days: r.automatically_after_days,
                schedule_expression: r.schedule_expression,
                duration: r.duration,
            }),
            None => rec.rotation.rules.clone(),
        };
        if let Some(r) = &rules {
            schedule_of(r)?;
        }
        let immediately = input.rotate_immediately.unwrap_or(true);
        let token = input
            .client_request_token
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let tok = token.clone();
        let (arn, name) = self.mutate(ctx, &input.secret_id, true, move |rec| {
            if immediately {
                begin(rec, &tok)?;
                rec.rotation.in_progress = Some(tok.clone());
            }
            let t = now();
            rec.rotation.next_rotation = next_after(rules.as_ref(), t);
            rec.rotation.lambda_arn = Some(lambda);
            rec.rotation.rules = rules;
            rec.rotation.enabled = true;
            Ok((rec.arn.clone(), rec.name.clone()))
        })?;
        if immediately {
            self.spawn_rotation(ctx.clone(), arn.clone(), token.clone());
        } else {
            self.spawn_test(ctx.clone(), arn.clone());
        }
        Ok(m::RotateSecretResponse {
            arn: Some(arn),
            name: Some(name),
            version_id: immediately.then_some(token),
        })
    }

    pub(crate) fn cancel_rotation(
        &self,
        ctx: &RequestContext,
        raw: &str,
    ) -> R<m::CancelRotateSecretResponse> {
        let (arn, name, pending) = self.mutate(ctx, raw, true, |rec| {
            if rec.rotation.lambda_arn.is_none() {
                return Err(no_lambda());
            }
            rec.rotation.enabled = false;
            rec.rotation.next_rotation = None;
            // Not resumed after a restart either.
            rec.rotation.in_progress = None;
            let pending = rec
                .versions
                .iter()
                .find(|v| v.has(PENDING) && !v.has(CURRENT))
                .map(|v| v.id.clone());
            Ok((rec.arn.clone(), rec.name.clone(), pending))
        })?;
        Ok(m::CancelRotateSecretResponse {
            arn: Some(arn),
            name: Some(name),
            version_id: pending,
        })
    }

    /// A scheduled rotation that is due: resumes an unfinished one or starts a new one.
    pub(crate) fn start_scheduled_rotation(&self, rec: &crate::record::SecretRec) {
        if lock_set(&self.rotating).contains(&rec.arn) {
            return;
        }
        let ctx = service_ctx(&rec.account_id, &rec.region, "RotateSecret");
        // The token is chosen in the same transaction that attaches AWSPENDING.
        let started = self.mutate(&ctx, &rec.arn, true, move |rec| {
            let token = rec
                .versions
                .iter()
                .find(|v| v.has(PENDING) && !v.has(CURRENT))
                .map(|v| v.id.clone())
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
            begin(rec, &token)?;
            rec.rotation.in_progress = Some(token.clone());
            Ok(token)
        });
        match started {
            Ok(token) => self.spawn_rotation(ctx, rec.arn.clone(), token),
            Err(e) => {
                tracing::warn!(secret = %rec.arn, code = %e.code, "scheduled rotation not started")
            }
        }
    }

    /// Resumes the rotations a stopped (or killed) server left running: each starts again
    /// from `createSecret` with its token, whose steps are written to be repeatable.
    pub(crate) fn resume_rotations(&self, recs: &[crate::record::SecretRec]) {
        for rec in recs {
            if let (Some(token), false) = (&rec.rotation.in_progress, rec.deleted()) {
                tracing::info!(secret = %rec.arn, "resuming a rotation interrupted by a restart");
                let ctx = service_ctx(&rec.account_id, &rec.region, "RotateSecret");
                self.spawn_rotation(ctx, rec.arn.clone(), token.clone());
            }
        }
    }

    /// Runs the rotation on a worker thread; one rotation of a secret at a time (a second
    /// waits for the first to finish).
    fn spawn_rotation(&self, ctx: RequestContext, arn: String, token: String) {
        let svc = self.clone();
        let spawned = std::thread::Builder::new()
            .name("secrets-rotation".into())
            .spawn(move || {
                if svc.acquire(&arn) {
                    svc.run_rotation(&ctx, &arn, &token);
                    lock_set(&svc.rotating).remove(&arn);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "rotation worker could not start");
        }
    }

    /// Waits until no other worker of this process rotates `arn`, then marks it taken.
    fn acquire(&self, arn: &str) -> bool {
        let deadline = Instant::now() + self.rotators.step_timeout * 5;
        while !lock_set(&self.rotating).insert(arn.to_string()) {
            if Instant::now() > deadline {
                tracing::warn!(secret = %arn, "rotation not started: another one is still running");
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// RotateImmediately=false: AWS tests the configuration by running the `testSecret` step
    /// against an AWSPENDING copy of the current value, then removes that label.
    fn spawn_test(&self, ctx: RequestContext, arn: String) {
        let svc = self.clone();
        let spawned = std::thread::Builder::new()
            .name("secrets-rotation-test".into())
            .spawn(move || {
                if svc.acquire(&arn) {
                    svc.run_test(&ctx, &arn);
                    lock_set(&svc.rotating).remove(&arn);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "rotation test worker could not start");
        }
    }

    fn run_test(&self, ctx: &RequestContext, arn: &str) {
        let Ok(rec) = self.load_live(ctx, arn) else {
            return;
        };
        // An unfinished rotation keeps its AWSPENDING version: nothing to test with.
        if rec
            .versions
            .iter()
            .any(|v| v.has(PENDING) && !v.has(CURRENT))
        {
            return;
        }
        let Some(rotator) = rec
            .rotation
            .lambda_arn
            .as_deref()
            .and_then(|l| self.rotators.resolve(&ctx.region, &ctx.account_id, l))
        else {
            return;
        };
        let Ok((_, _, pt)) = self.read_value(ctx, arn, None, Some(CURRENT)) else {
            return;
        };
        let token = uuid::Uuid::new_v4().to_string();
        if let Err(e) = self.put_version(
            ctx,
            arn,
            token.clone(),
            &pt,
            Some(vec![PENDING.to_string()]),
            None,
        ) {
            tracing::warn!(secret = %arn, code = %e.code, "rotation test not started");
            return;
        }
        let r = match &rotator {
            // Its testSecret step does nothing.
            Rotator::Random => Ok(()),
            r => self.step(r, ctx, arn, &token, "testSecret"),
        };
        match r {
            Ok(()) => tracing::info!(secret = %arn, "rotation configuration tested"),
            Err(e) => tracing::warn!(secret = %arn, code = %e.code, "rotation test failed"),
        }
        let removed = self.mutate(ctx, arn, false, move |rec| {
            if let Some(v) = rec.version_mut(&token) {
                v.stages.retain(|s| s != PENDING);
            }
            Ok(())
        });
        if let Err(e) = removed {
            tracing::warn!(secret = %arn, code = %e.code, "rotation test version not cleaned up");
        }
    }

    /// Runs the four steps; on success moves the schedule on, on failure leaves AWSPENDING
    /// where it is (the next RotateSecret with the same token, or the scheduler, resumes).
    pub fn run_rotation(&self, ctx: &RequestContext, arn: &str, token: &str) -> bool {
        let rotator = match self.load(ctx, arn) {
            Ok(rec) => rec
                .rotation
                .lambda_arn
                .as_deref()
                .and_then(|l| self.rotators.resolve(&ctx.region, &ctx.account_id, l)),
            Err(_) => None,
        };
        let mut ok = rotator.is_some();
        if let Some(rotator) = &rotator {
            for step in STEPS {
                if let Err(e) = self.step(rotator, ctx, arn, token, step) {
                    tracing::warn!(secret = %arn, step, code = %e.code, "rotation step failed");
                    ok = false;
                    break;
                }
            }
        }
        let tok = token.to_string();
        let done = self.mutate(ctx, arn, false, move |rec| {
            let t = now();
            if rec.rotation.in_progress.as_deref() == Some(tok.as_str()) {
                rec.rotation.in_progress = None;
            }
            let finished = ok && rec.version(&tok).is_some_and(|v| v.has(CURRENT));
            if finished {
                if let Some(v) = rec.version_mut(&tok) {
                    v.stages.retain(|s| s != PENDING);
                }
                rec.rotation.last_rotated = Some(t);
                rec.rotation.next_rotation = next_after(rec.rotation.rules.as_ref(), t);
            } else if rec.rotation.enabled && rec.rotation.next_rotation.is_none_or(|n| n <= t) {
                rec.rotation.next_rotation = Some(t + RETRY_SECS);
            }
            Ok(finished)
        });
        match done {
            Ok(true) => {
                tracing::info!(secret = %arn, "rotation finished");
                true
            }
            Ok(false) => {
                tracing::warn!(secret = %arn, "rotation did not finish; AWSPENDING left in place");
                false
            }
            Err(e) => {
                tracing::warn!(secret = %arn, code = %e.code, "rotation outcome not recorded");
                false
            }
        }
    }

    /// One step of the rotation protocol, by the rotator that does it.
    fn step(
        &self,
        rotator: &Rotator,
        ctx: &RequestContext,
        arn: &str,
        token: &str,
        step: &str,
    ) -> R<()> {
        match rotator {
            Rotator::Random => self.random_step(ctx, arn, token, step),
            Rotator::Postgres => self.postgres_step(ctx, arn, token, step),
            Rotator::Webhook(name) => self.webhook_step(name, arn, token, step),
            Rotator::Command(p) => self.command_step(p, ctx, arn, token, step),
        }
    }

    /// A webhook rotator: the Lambda event POSTed, a 2xx answer for success.
    fn webhook_step(&self, name: &str, arn: &str, token: &str, step: &str) -> R<()> {
        let failed =
            || m::internal_service_error(format!("The rotation function failed at step {step}."));
        let hooks = self.rotators.webhooks.as_ref().ok_or_else(failed)?;
        let event = lambda_event(arn, token, step);
        hooks
            .invoke(
                name,
                event.to_string().as_bytes(),
                self.rotators.step_timeout,
            )
            .map_err(|why| {
                tracing::warn!(rotator = %name, step, why, "rotator failed");
                failed()
            })
    }

    /// The built-in rotator: a new random value (only the `password` field of a JSON object).
    fn random_step(&self, ctx: &RequestContext, arn: &str, token: &str, step: &str) -> R<()> {
        match step {
            "createSecret" => {
                let rec = self.load_live(ctx, arn)?;
                if rec.version(token).is_some_and(|v| v.ciphertext.is_some()) {
                    return Ok(());
                }
                let (_, _, pt) = self.read_value(ctx, arn, None, Some(CURRENT))?;
                let spec = password::Spec {
                    exclude_characters: "/@\"'\\".to_string(),
                    ..password::Spec::default()
                };
                let pw = password::generate(&spec)?;
                let (s, _) = crate::decode_value(&pt)?;
                let s = s.map(Zeroizing::new);
                let new: Zeroizing<String> = match s
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                {
                    Some(serde_json::Value::Object(mut o)) if o.contains_key("password") => {
                        o.insert("password".into(), serde_json::Value::String(pw.to_string()));
                        Zeroizing::new(serde_json::Value::Object(o).to_string())
                    }
                    _ => pw,
                };
                let mut value = Zeroizing::new(Vec::with_capacity(new.len() + 1));
                value.push(b'S');
                value.extend_from_slice(new.as_bytes());
                self.put_version(
                    ctx,
                    arn,
                    token.to_string(),
                    &value,
                    Some(vec![PENDING.to_string()]),
                    None,
                )?;
                Ok(())
            }
            "finishSecret" => {
                let tok = token.to_string();
                self.mutate(ctx, arn, true, move |rec| {
                    let cur = rec.with_stage(CURRENT).map(|v| v.id.clone());
                    if cur.as_deref() == Some(tok.as_str()) {
                        return Ok(());
                    }
                    labels::update_stage(&mut rec.versions, CURRENT, cur.as_deref(), Some(&tok))?;
                    rec.last_changed = Some(now());
                    Ok(())
                })
            }
            _ => Ok(()),
        }
    }

    /// The PostgreSQL rotator, as AWS's single-user rotation function: `setSecret` logs in
    /// with the current (or previous) credentials and sets the pending password, `testSecret`
    /// logs in with the pending ones.
    fn postgres_step(&self, ctx: &RequestContext, arn: &str, token: &str, step: &str) -> R<()> {
        let fail = |why: &str| {
            tracing::warn!(secret = %arn, step, why, "postgres rotation step failed");
            m::internal_service_error(format!("The rotation function failed at step {step}."))
        };
        let creds = |version: Option<&str>, stage: &str| -> R<DbCreds> {
            let (_, _, pt) = self.read_value(ctx, arn, version, Some(stage))?;
            let (s, _) = crate::decode_value(&pt)?;
            let s = Zeroizing::new(s.unwrap_or_default());
            DbCreds::parse(&s).ok_or_else(|| fail("the secret is not a PostgreSQL JSON secret"))
        };
        match step {
            "createSecret" => {
                creds(None, CURRENT)?;
                self.random_step(ctx, arn, token, step)
            }
            "setSecret" => {
                let pending = creds(Some(token), PENDING)?;
                if pending.login(&["SELECT 1"]).is_ok() {
                    return Ok(());
                }
                let mut last = String::from("no credentials");
                for stage in [CURRENT, labels::PREVIOUS] {
                    let Ok(admin) = creds(None, stage) else {
                        continue;
                    };
                    if admin.host != pending.host || admin.username != pending.username {
                        return Err(fail("the pending secret names another database or user"));
                    }
                    let alter = format!(
                        "ALTER USER {} WITH PASSWORD {}",
                        crate::pg::quote_ident(&pending.username),
                        crate::pg::quote_literal(&pending.password)
                    );
                    let alter = Zeroizing::new(alter);
                    match admin.login(&[alter.as_str()]) {
                        Ok(()) => return Ok(()),
                        // The server's message, never the statement (it holds the password).
                        Err(e) => last = e,
                    }
                }
                Err(fail(&last))
            }
            "testSecret" => creds(Some(token), PENDING)?
                .login(&["SELECT NOW()"])
                .map_err(|e| fail(&e)),
            "finishSecret" => self.random_step(ctx, arn, token, step),
            _ => Ok(()),
        }
    }

    /// A local-command rotator: the Lambda event on stdin, exit status 0 for success.
    fn command_step(
        &self,
        path: &std::path::Path,
        ctx: &RequestContext,
        arn: &str,
        token: &str,
        step: &str,
    ) -> R<()> {
        let fail = |why: &str| {
            tracing::warn!(rotator = %path.display(), step, why, "rotator failed");
            m::internal_service_error(format!("The rotation function failed at step {step}."))
        };
        let event = lambda_event(arn, token, step);
        let log = path.with_extension("log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null());
        let mut cmd = Command::new(path);
        // Rampart's own settings (a root-key passphrase among them) are not the rotator's.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RAMPART_") {
                cmd.env_remove(&k);
            }
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(stderr)
            .env("AWS_REGION", &ctx.region)
            .env("AWS_DEFAULT_REGION", &ctx.region)
            .env("RAMPART_ROTATION_STEP", step);
        if let Some(ep) = &self.rotators.endpoint {
            cmd.env("AWS_ENDPOINT_URL", ep);
        }
        let mut child = cmd.spawn().map_err(|_| fail("spawn"))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(event.to_string().as_bytes());
        }
        let deadline = Instant::now() + self.rotators.step_timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(_)) => return Err(fail("exit status")),
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(fail("timeout"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => return Err(fail("wait")),
            }
        }
    }
}

/// The event a rotation Lambda function gets for one step.
fn lambda_event(arn: &str, token: &str, step: &str) -> serde_json::Value {
    serde_json::json!({
        "SecretId": arn,
        "ClientRequestToken": token,
        "Step": step,
        "RotationToken": uuid::Uuid::new_v4().to_string(),
    })
}

/// Attaches AWSPENDING to version `token` (created empty if new), refusing when another
/// rotation is unfinished.
fn begin(rec: &mut crate::record::SecretRec, token: &str) -> R<()> {
    if rec.deleted() {
        return Err(marked_for_deletion());
    }
    if let Some(p) = rec
        .versions
        .iter()
        .find(|v| v.has(PENDING) && !v.has(CURRENT))
    {
        if p.id != token {
            return Err(in_progress());
        }
        return Ok(());
    }
    if rec.version(token).is_some_and(|v| v.ciphertext.is_some()) {
        return Err(m::resource_exists_exception(
            "You can't modify an existing version, you can only create a new version.",
        ));
    }
    let t = now();
    if rec.version(token).is_none() {
        rec.versions
            .push(crate::record::VersionRec::new(token, Vec::new(), t));
    }
    labels::attach(&mut rec.versions, token, &[PENDING.to_string()])?;
    labels::prune_for_new(&mut rec.versions, t)
}

/// AWS's JSON format for database credentials.
struct DbCreds {
    host: String,
    port: u16,
    username: String,
    password: Zeroizing<String>,
    dbname: String,
}

impl DbCreds {
    fn parse(s: &str) -> Option<DbCreds> {
        let v: serde_json::Value = serde_json::from_str(s).ok()?;
        let port = match v.get("port") {
            None => 5432,
            Some(serde_json::Value::String(p)) => p.parse().ok()?,
            Some(p) => u16::try_from(p.as_u64()?).ok()?,
        };
        Some(DbCreds {
            host: v.get("host")?.as_str()?.to_string(),
            port,
            username: v.get("username")?.as_str()?.to_string(),
            password: Zeroizing::new(v.get("password")?.as_str()?.to_string()),
            dbname: v
                .get("dbname")
                .and_then(|d| d.as_str())
                .unwrap_or("postgres")
                .to_string(),
        })
    }

    fn login(&self, queries: &[&str]) -> Result<(), String> {
        crate::pg::run(
            &crate::pg::Conn {
                host: &self.host,
                port: self.port,
                user: &self.username,
                password: &self.password,
                dbname: &self.dbname,
            },
            queries,
        )
    }
}

#[cfg(test)]
#[path = "tests/rotation.rs"]
mod tests;
