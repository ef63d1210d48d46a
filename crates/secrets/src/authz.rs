//! What a request acts on, for the request path's authorizer: the secret's ARN, its resource
//! policy and Secrets Manager's condition keys. Wire it with `Registry::add_with_resources`.
use crate::record::SecretRec;
use crate::{SecretsService, R};
use rampart_core::{RequestContext, ResourceAccess};
use serde_json::Value;

/// Operations that name no existing secret: identity policies alone decide.
const NO_SECRET: &[&str] = &[
    "CreateSecret",
    "ListSecrets",
    "GetRandomPassword",
    "BatchGetSecretValue",
];

fn bool_str(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_bool).map(|b| b.to_string())
}

/// Secrets Manager's condition keys for a request on `rec`.
pub fn condition_keys(rec: &SecretRec, input: &Value) -> Vec<(String, Vec<String>)> {
    let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = vec![("secretsmanager:SecretId".to_string(), vec![rec.arn.clone()])];
    for t in &rec.tags {
        out.push((
            format!("secretsmanager:ResourceTag/{}", t.key),
            vec![t.value.clone()],
        ));
        out.push((format!("aws:ResourceTag/{}", t.key), vec![t.value.clone()]));
    }
    out.push((
        "secretsmanager:SecretPrimaryRegion".to_string(),
        vec![rec.primary_region.clone().unwrap_or(rec.region.clone())],
    ));
    if let Some(l) = &rec.rotation.lambda_arn {
        out.push((
            "secretsmanager:resource/AllowRotationLambdaArn".to_string(),
            vec![l.clone()],
        ));
    }
    for (param, key) in [
        ("VersionId", "secretsmanager:VersionId"),
        ("VersionStage", "secretsmanager:VersionStage"),
        ("KmsKeyId", "secretsmanager:KmsKeyId"),
        ("Description", "secretsmanager:Description"),
        ("RotationLambdaARN", "secretsmanager:RotationLambdaARN"),
    ] {
        if let Some(v) = s(param) {
            out.push((key.to_string(), vec![v]));
        }
    }
    if let Some(b) = bool_str(input.get("BlockPublicPolicy")) {
        out.push(("secretsmanager:BlockPublicPolicy".to_string(), vec![b]));
    }
    if let Some(b) = bool_str(input.get("ForceOverwriteReplicaSecret")) {
        out.push((
            "secretsmanager:ForceOverwriteReplicaSecret".to_string(),
            vec![b],
        ));
    }
    out
}

impl SecretsService {
    /// The secret the request names (none when it names no existing secret: the operation
    /// then answers ResourceNotFoundException), with its resource policy.
    pub fn accesses(
        &self,
        ctx: &RequestContext,
        op: &str,
        input: &Value,
    ) -> R<Vec<ResourceAccess>> {
        if NO_SECRET.contains(&op) {
            return Ok(Vec::new());
        }
        let Some(id) = input.get("SecretId").and_then(Value::as_str) else {
            return Ok(Vec::new());
        };
        let rec = self.find_cached(ctx, id)?;
        Ok(rec
            .map(|rec| ResourceAccess {
                action: format!("secretsmanager:{op}"),
                resource: rec.arn.clone(),
                resource_type: "AWS::SecretsManager::Secret".to_string(),
                policy: rec.policy.clone(),
                policy_required: false,
                context: condition_keys(&rec, input),
                grant: None,
                // The owner, which may not be the caller (a secret of another account named
                // by its ARN).
                account: Some(rec.account_id.clone()),
            })
            .into_iter()
            .collect())
    }
}
