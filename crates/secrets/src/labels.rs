//! Staging labels, as AWS moves them. Pure functions over a secret's versions; the service
//! calls them inside the one write transaction that also stores the result.
use crate::record::VersionRec;
use rampart_core::AwsError;
use rampart_model::secretsmanager as m;

pub const CURRENT: &str = "AWSCURRENT";
pub const PREVIOUS: &str = "AWSPREVIOUS";
pub const PENDING: &str = "AWSPENDING";
/// Staging labels attached across all versions of a secret (AWS quota).
pub const MAX_STAGES: usize = 20;
/// Versions kept before unlabeled ones are removed (AWS: "more than 100").
pub const MAX_VERSIONS: usize = 100;
/// Unlabeled versions younger than this are never removed.
pub const PRUNE_MIN_AGE_SECS: f64 = 86_400.0;

fn too_many_labels() -> AwsError {
    m::limit_exceeded_exception(format!(
        "You can't attach more than {MAX_STAGES} staging labels across the versions of a secret."
    ))
}

/// Attaches `stage` to version `target`, removing it from any other version. Moving
/// `AWSCURRENT` away from a version moves `AWSPREVIOUS` to that version.
fn attach_one(versions: &mut [VersionRec], target: &str, stage: &str) -> Result<(), AwsError> {
    let holder = versions.iter().find(|v| v.has(stage)).map(|v| v.id.clone());
    if holder.as_deref() == Some(target) {
        return Ok(());
    }
    for v in versions.iter_mut() {
        v.stages.retain(|s| s != stage);
    }
    if stage == CURRENT {
        if let Some(old) = &holder {
            for v in versions.iter_mut() {
                v.stages.retain(|s| s != PREVIOUS);
            }
            if let Some(v) = versions.iter_mut().find(|v| v.id == *old) {
                v.stages.push(PREVIOUS.to_string());
            }
        }
        // The new current version is no longer the previous one.
        if let Some(v) = versions.iter_mut().find(|v| v.id == target) {
            v.stages.retain(|s| s != PREVIOUS);
        }
    }
    if let Some(v) = versions.iter_mut().find(|v| v.id == target) {
        v.stages.push(stage.to_string());
    }
    if versions.iter().map(|v| v.stages.len()).sum::<usize>() > MAX_STAGES {
        return Err(too_many_labels());
    }
    Ok(())
}

/// Attaches every label of `stages` to `target` (PutSecretValue's `VersionStages`).
pub fn attach(
    versions: &mut [VersionRec],
    target: &str,
    stages: &[String],
) -> Result<(), AwsError> {
    let mut uniq: Vec<&String> = Vec::new();
    for s in stages {
        if !uniq.contains(&s) {
            uniq.push(s);
        }
    }
    if uniq.len() > MAX_STAGES {
        return Err(too_many_labels());
    }
    for s in uniq {
        attach_one(versions, target, s)?;
    }
    Ok(())
}

/// `UpdateSecretVersionStage`.
pub fn update_stage(
    versions: &mut [VersionRec],
    stage: &str,
    remove_from: Option<&str>,
    move_to: Option<&str>,
) -> Result<(), AwsError> {
    let exists = |id: &str| versions.iter().any(|v| v.id == id);
    if let Some(id) = remove_from {
        if !exists(id) {
            return Err(m::invalid_parameter_exception(format!(
                "Not a valid version: {id}"
            )));
        }
    }
    if let Some(id) = move_to {
        if !exists(id) {
            return Err(m::invalid_parameter_exception(format!(
                "Not a valid version: {id}"
            )));
        }
    }
    let holder = versions.iter().find(|v| v.has(stage)).map(|v| v.id.clone());
    match (remove_from, move_to) {
        (None, None) => Err(m::invalid_parameter_exception(
            "You must specify MoveToVersionId, RemoveFromVersionId, or both.",
        )),
        (Some(from), None) => {
            if holder.as_deref() != Some(from) {
                return Err(m::invalid_parameter_exception(format!(
                    "The staging label {stage} is not attached to version {from}."
                )));
            }
            if stage == CURRENT {
                return Err(m::invalid_parameter_exception(
                    "You can't remove the staging label AWSCURRENT from a version without attaching it to another version: specify MoveToVersionId.",
                ));
            }
            for v in versions.iter_mut() {
                v.stages.retain(|s| s != stage);
            }
            Ok(())
        }
        (from, Some(to)) => {
            if let Some(h) = &holder {
                if h != to && from != Some(h.as_str()) {
                    return Err(match from {
                        None => m::invalid_parameter_exception(format!(
                            "The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                        )),
                        Some(f) => m::invalid_parameter_exception(format!(
                            "The staging label {stage} is currently attached to version {h}, not to version {f}; you must explicitly reference that version in RemoveFromVersionId."
                        )),
                    });
                }
            } else if let Some(f) = from {
                return Err(m::invalid_parameter_exception(format!(
                    "The staging label {stage} is not attached to version {f}."
                )));
            }
            attach_one(versions, to, stage)
        }
    }
}

/// Removes versions without staging labels beyond [`MAX_VERSIONS`], oldest first, never one
/// younger than [`PRUNE_MIN_AGE_SECS`]. Returns how many were removed.
pub fn prune(versions: &mut Vec<VersionRec>, now: f64) -> usize {
    let mut excess = versions.len().saturating_sub(MAX_VERSIONS);
    if excess == 0 {
        return 0;
    }
    let mut order: Vec<(f64, String)> = versions
        .iter()
        .filter(|v| v.stages.is_empty() && now - v.created >= PRUNE_MIN_AGE_SECS)
        .map(|v| (v.created, v.id.clone()))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut doomed = Vec::new();
    for (_, id) in order {
        if excess == 0 {
            break;
        }
        doomed.push(id);
        excess -= 1;
    }
    let n = doomed.len();
    versions.retain(|v| !doomed.contains(&v.id));
    n
}

/// Prunes as [`prune`] does after a new version was added, refusing the new version when the
/// secret would still hold more than [`MAX_VERSIONS`] (all labeled or younger than a day):
/// AWS's quota on versions per secret, which writing more than once every ~15 minutes
/// reaches.
pub fn prune_for_new(versions: &mut Vec<VersionRec>, now: f64) -> Result<(), AwsError> {
    prune(versions, now);
    if versions.len() > MAX_VERSIONS {
        return Err(m::limit_exceeded_exception(format!(
            "You can't create more than {MAX_VERSIONS} versions of a secret. Secrets Manager removes versions without staging labels only once they are more than 24 hours old."
        )));
    }
    Ok(())
}

/// Checks the label invariant: at most one version per label.
pub fn consistent(versions: &[VersionRec]) -> bool {
    let mut seen = std::collections::HashSet::new();
    versions
        .iter()
        .flat_map(|v| v.stages.iter())
        .all(|s| seen.insert(s.clone()))
}

#[cfg(test)]
#[path = "tests/labels.rs"]
mod tests;
