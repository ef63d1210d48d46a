//! What the store holds for a secret: metadata and every version, each version's value only as
//! a KMS ciphertext (base64). One record per secret, so that every change to versions and
//! staging labels is one write of one record inside one transaction.
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct VersionRec {
    pub id: String,
    pub stages: Vec<String>,
    /// Seconds since the Unix epoch.
    pub created: f64,
    /// Midnight (UTC) of the day the version was last read, as AWS reports it.
    #[serde(default)]
    pub last_accessed: Option<f64>,
    /// The KMS key ARN the value is encrypted under.
    #[serde(default)]
    pub kms_key_arn: Option<String>,
    /// The value: a KMS ciphertext blob (base64) of a tagged plaintext. `None` for a version
    /// created by RotateSecret whose value the rotator has not put yet.
    #[serde(default)]
    pub ciphertext: Option<String>,
}

impl fmt::Debug for VersionRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VersionRec")
            .field("id", &self.id)
            .field("stages", &self.stages)
            .field("created", &self.created)
            .field("has_value", &self.ciphertext.is_some())
            .finish()
    }
}

impl VersionRec {
    pub fn new(id: &str, stages: Vec<String>, created: f64) -> Self {
        VersionRec {
            id: id.to_string(),
            stages,
            created,
            last_accessed: None,
            kms_key_arn: None,
            ciphertext: None,
        }
    }

    pub fn has(&self, stage: &str) -> bool {
        self.stages.iter().any(|s| s == stage)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TagRec {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RulesRec {
    #[serde(default)]
    pub automatically_after_days: Option<i64>,
    #[serde(default)]
    pub schedule_expression: Option<String>,
    #[serde(default)]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RotationRec {
    pub lambda_arn: Option<String>,
    pub rules: Option<RulesRec>,
    pub enabled: bool,
    pub last_rotated: Option<f64>,
    pub next_rotation: Option<f64>,
    /// The token of a rotation running on a worker (cleared when it finishes or fails): a
    /// server killed meanwhile resumes it when it starts again.
    #[serde(default)]
    pub in_progress: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SecretRec {
    pub name: String,
    pub arn: String,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The key as the caller named it; `None`: `alias/aws/secretsmanager`.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<TagRec>,
    pub created: f64,
    #[serde(default)]
    pub last_changed: Option<f64>,
    #[serde(default)]
    pub last_accessed: Option<f64>,
    /// When the secret is (to be) deleted; `Some` means scheduled for deletion.
    #[serde(default)]
    pub deletion_date: Option<f64>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub rotation: RotationRec,
    #[serde(default)]
    pub r#type: Option<String>,
    /// In creation order.
    #[serde(default)]
    pub versions: Vec<VersionRec>,
    /// On a primary: the regions it is replicated to.
    #[serde(default)]
    pub replicas: Vec<ReplicaRec>,
    /// On a replica: the primary's region.
    #[serde(default)]
    pub primary_region: Option<String>,
    /// Bumped by every change (a replica carries the primary's: an older copy never
    /// overwrites a newer one).
    #[serde(default)]
    pub revision: u64,
    /// On a secret created with `CrossAccountPrimaryARN`: the primary of another account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_account_primary: Option<CrossPrimaryRec>,
    /// On a primary: the secret of another account it is replicated to (at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_account_replica: Option<CrossReplicaRec>,
}

/// A cross-account replica's link to its primary.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CrossPrimaryRec {
    pub primary_arn: String,
    /// `None` until the primary's owner associates the replica.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub status_message: Option<String>,
    /// The resource policy AWS attaches to a new replica (`cross-account-replication`): the
    /// primary's account may accept replication into it.
    #[serde(default)]
    pub policy: String,
    /// The primary's revision last copied here (an older copy never overwrites a newer one).
    #[serde(default)]
    pub revision: u64,
}

/// A primary's link to its cross-account replica.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CrossReplicaRec {
    pub replica_arn: String,
    #[serde(default)]
    pub role_arn: Option<String>,
    pub status: String,
    #[serde(default)]
    pub status_message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ReplicaRec {
    pub region: String,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// `InSync` or `Failed` (replication is synchronous: never `InProgress` for long).
    pub status: String,
    #[serde(default)]
    pub status_message: Option<String>,
}

impl SecretRec {
    /// Whether changes are copied elsewhere (other regions, another account).
    pub fn is_replicated(&self) -> bool {
        !self.replicas.is_empty() || self.cross_account_replica.is_some()
    }

    pub fn version(&self, id: &str) -> Option<&VersionRec> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn version_mut(&mut self, id: &str) -> Option<&mut VersionRec> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    pub fn with_stage(&self, stage: &str) -> Option<&VersionRec> {
        self.versions.iter().find(|v| v.has(stage))
    }

    pub fn deleted(&self) -> bool {
        self.deletion_date.is_some()
    }
}
