//! Grants: permissions on one key for one grantee, effective as soon as they are created (a
//! grant token is accepted at once; Rampart's grants have no propagation delay). The request
//! path asks [`KmsService::grant_for`] whether a grant allows a call the policies do not.
use crate::record::{now, resolve, scope, KeyRecord};
use crate::{decode_marker, limit_of, page, KmsService, TxR, R};
use rampart_core::{AwsError, PrincipalKind, RequestContext};
use rampart_model::kms as m;
use rampart_model::{Timestamp, Unit};
use rampart_store::Tx;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const GRANTS: &str = "kms_grant";
const MAX_GRANTS_PER_KEY: usize = 50_000;
const TOKEN_PREFIX: &str = "RGT1";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ConstraintsRec {
    pub subset: Option<BTreeMap<String, String>>,
    pub equals: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct GrantRecord {
    pub grant_id: String,
    pub key_id: String,
    pub key_arn: String,
    pub name: Option<String>,
    pub created: f64,
    pub grantee: String,
    pub retiring: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<m::GrantOperation>,
    pub constraints: Option<ConstraintsRec>,
}

impl GrantRecord {
    fn store_key(&self, ctx: &RequestContext) -> String {
        format!("{}{}/{}", scope(ctx), self.key_id, self.grant_id)
    }

    fn entry(&self) -> m::GrantListEntry {
        m::GrantListEntry {
            key_id: Some(self.key_arn.clone()),
            grant_id: Some(self.grant_id.clone()),
            name: Some(self.name.clone().unwrap_or_default()),
            creation_date: Some(Timestamp(self.created)),
            grantee_principal: Some(self.grantee.clone()),
            retiring_principal: self.retiring.clone(),
            issuing_account: Some(format!("arn:aws:iam::{}:root", self.issuing_account)),
            operations: Some(self.operations.clone()),
            constraints: self.constraints.as_ref().map(|c| m::GrantConstraints {
                encryption_context_subset: c.subset.clone(),
                encryption_context_equals: c.equals.clone(),
                source_arn: None,
            }),
            ..Default::default()
        }
    }

    /// Whether the grant's encryption-context constraint admits `context`.
    fn admits(&self, context: &BTreeMap<String, String>) -> bool {
        let Some(c) = &self.constraints else {
            return true;
        };
        c.equals.as_ref().is_none_or(|e| e == context)
            && c.subset
                .as_ref()
                .is_none_or(|s| s.iter().all(|(k, v)| context.get(k) == Some(v)))
    }
}

/// Who is calling, for matching a grant's grantee or retiring principal: the caller's own
/// ARN or, for a role session, its role. A session ARN does not show the role's path, so the
/// role matches by account and name (unique in an account whatever the path).
struct Caller {
    arn: String,
    /// `arn:aws:iam::ACCOUNT:role/` and the role's name, for a role session.
    role: Option<(String, String)>,
}

impl Caller {
    fn of(ctx: &RequestContext) -> Caller {
        let p = &ctx.principal;
        // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
        let role = p
            .arn
            .split_once(":assumed-role/")
            .filter(|_| p.kind == PrincipalKind::AssumedRole)
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(r, _)| {
                (
                    format!("arn:aws:iam::{}:role/", p.account_id),
                    r.to_string(),
                )
            });
        Caller {
            arn: p.arn.clone(),
            role,
        }
    }

    /// Whether `principal` (a grantee or retiring principal ARN) names the caller.
    fn is(&self, principal: &str) -> bool {
        if principal == self.arn {
            return true;
        }
        let Some((prefix, name)) = &self.role else {
            return false;
        };
        principal.strip_prefix(prefix.as_str()).is_some_and(|rest| {
            rest.rsplit_once('/')
                .map_or(rest, |(_, last)| last)
                .eq(name.as_str())
        })
    }
}

/// A grant token for `grant_id`.
fn token_for(grant_id: &str) -> String {
    let mut nonce = [0u8; 16];
    rampart_core::ids::random_bytes(&mut nonce);
    let hex: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{grant_id}{hex}")
}

/// The grant id a token names; `InvalidGrantTokenException` for anything else.
fn grant_id_of(token: &str) -> R<String> {
    token
        .strip_prefix(TOKEN_PREFIX)
        .filter(|r| r.len() == 96 && r.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|r| r.get(..64))
        .map(str::to_string)
        .ok_or_else(|| m::invalid_grant_token_exception("Invalid grant token"))
}

/// Checks the grant tokens a request passes (`GrantTokens`).
pub(crate) fn check_tokens(tokens: Option<&[String]>) -> R<()> {
    for t in tokens.unwrap_or_default() {
        grant_id_of(t)?;
    }
    Ok(())
}

fn key_grants(tx: &mut dyn Tx, ctx: &RequestContext, key_id: &str) -> TxR<Vec<GrantRecord>> {
    let rows: Vec<(String, GrantRecord)> = tx.scan_json(
        GRANTS,
        &format!("{}{key_id}/", scope(ctx)),
        None,
        MAX_GRANTS_PER_KEY + 1,
    )?;
    Ok(rows.into_iter().map(|(_, g)| g).collect())
}

/// Deletes every grant of a key (the key is being deleted).
pub(crate) fn delete_all(tx: &mut dyn Tx, ctx: &RequestContext, key_id: &str) -> TxR<()> {
    let prefix = format!("{}{key_id}/", scope(ctx));
    let rows = tx.scan(GRANTS, &prefix, None, crate::MAX_SCAN)?;
    for (k, _) in rows {
        tx.delete(GRANTS, &k)?;
    }
    Ok(())
}

/// Operations a grant with an encryption-context constraint may allow: those that take an
/// encryption context, and DescribeKey and RetireGrant, to which the constraint does not
/// apply (AWS's CreateGrant `Constraints`).
fn takes_context(op: m::GrantOperation) -> bool {
    use m::GrantOperation as G;
    matches!(
        op,
        G::DescribeKey
            | G::Decrypt
            | G::Encrypt
            | G::GenerateDataKey
            | G::GenerateDataKeyWithoutPlaintext
            | G::ReEncryptFrom
            | G::ReEncryptTo
            | G::GenerateDataKeyPair
            | G::GenerateDataKeyPairWithoutPlaintext
            | G::CreateGrant
            | G::RetireGrant
    )
}

impl KmsService {
    /// The id of a grant on `k` that lets the caller perform `op` with `context`.
    pub(crate) fn grant_for(
        &self,
        ctx: &RequestContext,
        k: &KeyRecord,
        op: &str,
        context: &BTreeMap<String, String>,
    ) -> R<Option<String>> {
        let Ok(op) = op.parse::<m::GrantOperation>() else {
            return Ok(None);
        };
        let unconstrained = matches!(
            op,
            m::GrantOperation::DescribeKey | m::GrantOperation::RetireGrant
        );
        let cache_key = format!("g\n{}\n{}\n{}", ctx.account_id, ctx.region, k.key_id);
        let grants = match self.keys.get(&cache_key) {
            Some(crate::keycache::Entry::Grants(g)) => g,
            _ => {
                let generation = self.keys.generation();
                let g = Arc::new(self.read(|tx| key_grants(tx, ctx, &k.key_id))?);
                self.keys.put(
                    cache_key,
                    generation,
                    crate::keycache::Entry::Grants(g.clone()),
                );
                g
            }
        };
        let me = Caller::of(ctx);
        Ok(grants
            .iter()
            .find(|g| {
                me.is(&g.grantee)
                    && g.operations.contains(&op)
                    && (unconstrained || g.admits(context))
            })
            .map(|g| g.grant_id.clone()))
    }

    pub(crate) fn create_grant(
        &self,
        ctx: &RequestContext,
        input: m::CreateGrantRequest,
    ) -> R<m::CreateGrantResponse> {
        check_tokens(input.grant_tokens.as_deref())?;
        let grantee = match (input.grantee_principal, input.grantee_service_principal) {
            (Some(g), None) => g,
            (None, Some(_)) => {
                return Err(m::unsupported_operation_exception(
                    "Grants to service principals are not supported by Rampart yet.",
                ))
            }
            _ => {
                return Err(AwsError::validation(
                    "Specify exactly one of GranteePrincipal and GranteeServicePrincipal.",
                ))
            }
        };
        if !grantee.starts_with("arn:aws:iam::") && !grantee.starts_with("arn:aws:sts::") {
            return Err(AwsError::validation(format!(
                "Invalid principal: {grantee}. The grantee principal must be an AWS account, IAM user, IAM role, or assumed-role ARN."
            )));
        }
        if input.operations.is_empty() {
            return Err(AwsError::validation(
                "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        let constraints = input.constraints.map(|c| ConstraintsRec {
            subset: c.encryption_context_subset,
            equals: c.encryption_context_equals,
        });
        if constraints.is_some() && !input.operations.iter().all(|o| takes_context(*o)) {
            return Err(AwsError::validation(
                "Grant constraints are allowed only with grants for cryptographic operations that take an encryption context.",
            ));
        }
        let dry = input.dry_run == Some(true);
        let ctx2 = ctx.clone();
        let (grant_id, token) = self.write(move |tx| {
            let k = resolve(tx, &ctx2, &input.key_id)?;
            // AWS's key-state table: DisabledException on a disabled key,
            // KMSInvalidStateException while pending deletion.
            k.require_usable()?;
            let existing = key_grants(tx, &ctx2, &k.key_id)?;
            if let Some(same) = existing.iter().find(|g| {
                input.name.is_some()
                    && g.name == input.name
                    && g.grantee == grantee
                    && g.retiring == input.retiring_principal
                    && g.operations == input.operations
                    && g.constraints == constraints
            }) {
                return Ok((same.grant_id.clone(), token_for(&same.grant_id)));
            }
            if existing.len() >= MAX_GRANTS_PER_KEY {
                return Err(m::limit_exceeded_exception(format!(
                    "The key {} has the maximum number of grants (50000).",
                    k.arn
                ))
                .into());
            }
            if dry {
                return Err(crate::dry_run(Some(true))
                    .err()
                    .unwrap_or_else(AwsError::internal)
                    .into());
            }
            let mut raw = [0u8; 32];
            rampart_core::ids::random_bytes(&mut raw);
            let grant_id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            let g = GrantRecord {
                grant_id: grant_id.clone(),
                key_id: k.key_id.clone(),
                key_arn: k.arn.clone(),
                name: input.name,
                created: now(),
                grantee,
                retiring: input.retiring_principal,
                // The caller's account (the key may be another account's).
                issuing_account: ctx2.principal.account_id.clone(),
                operations: input.operations,
                constraints,
            };
            tx.put_json(GRANTS, &g.store_key(&ctx2), &g)?;
            Ok((grant_id.clone(), token_for(&grant_id)))
        })?;
        Ok(m::CreateGrantResponse {
            grant_token: Some(token),
            grant_id: Some(grant_id),
        })
    }

    pub(crate) fn list_grants(
        &self,
        ctx: &RequestContext,
        input: m::ListGrantsRequest,
    ) -> R<m::ListGrantsResponse> {
        let after = decode_marker(input.marker.as_deref())?;
        let grants = self.read(|tx| {
            let k = resolve(tx, ctx, &input.key_id)?;
            key_grants(tx, ctx, &k.key_id)
        })?;
        let items: Vec<GrantRecord> = grants
            .into_iter()
            .filter(|g| input.grant_id.as_ref().is_none_or(|id| *id == g.grant_id))
            .filter(|g| {
                input
                    .grantee_principal
                    .as_ref()
                    .is_none_or(|p| *p == g.grantee)
            })
            .collect();
        let (rows, next) = page(
            items,
            after.as_deref(),
            limit_of(input.limit, 50, 100)?,
            |g| g.grant_id.clone(),
        );
        Ok(m::ListGrantsResponse {
            grants: Some(rows.iter().map(GrantRecord::entry).collect()),
            truncated: Some(next.is_some()),
            next_marker: next,
        })
    }

    pub(crate) fn list_retirable(
        &self,
        ctx: &RequestContext,
        input: m::ListRetirableGrantsRequest,
    ) -> R<m::ListGrantsResponse> {
        let Some(who) = input.retiring_principal else {
            return Err(AwsError::validation("RetiringPrincipal is required."));
        };
        let after = decode_marker(input.marker.as_deref())?;
        let all: Vec<(String, GrantRecord)> =
            self.read(|tx| Ok(tx.scan_json(GRANTS, &scope(ctx), None, crate::MAX_SCAN)?))?;
        let items: Vec<GrantRecord> = all
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| g.retiring.as_deref() == Some(who.as_str()))
            .collect();
        let (rows, next) = page(
            items,
            after.as_deref(),
            limit_of(input.limit, 50, 100)?,
            |g| g.grant_id.clone(),
        );
        Ok(m::ListGrantsResponse {
            grants: Some(rows.iter().map(GrantRecord::entry).collect()),
            truncated: Some(next.is_some()),
            next_marker: next,
        })
    }

    /// Removes a grant: `retire` checks that the caller may retire it (its retiring
    /// principal, its grantee when it allows RetireGrant, or its account's root); revoking is
    /// authorized by policy on the request path.
    fn remove_grant(
        &self,
        ctx: &RequestContext,
        key: Option<String>,
        grant_id: String,
        retire: bool,
        dry: bool,
    ) -> R<Unit> {
        let ctx2 = ctx.clone();
        let me = Caller::of(ctx);
        self.write(move |tx| {
            let grants: Vec<GrantRecord> = match &key {
                Some(raw) => {
                    let k = resolve(tx, &ctx2, raw)?;
                    key_grants(tx, &ctx2, &k.key_id)?
                }
                None => tx
                    .scan_json::<GrantRecord>(GRANTS, &scope(&ctx2), None, crate::MAX_SCAN)?
                    .into_iter()
                    .map(|(_, g)| g)
                    .collect(),
            };
            let Some(g) = grants.into_iter().find(|g| g.grant_id == grant_id) else {
                return Err(m::not_found_exception(format!("Grant ID {grant_id} not found")).into());
            };
            if retire {
                let allowed = g.retiring.as_ref().is_some_and(|r| me.is(r))
                    || (me.is(&g.grantee)
                        && g.operations.contains(&m::GrantOperation::RetireGrant))
                    || ctx2.principal.kind == PrincipalKind::Root
                        && ctx2.principal.account_id == g.issuing_account;
                if !allowed {
                    return Err(AwsError::new(
                        "AccessDeniedException",
                        400,
                        format!(
                            "User: {} is not authorized to perform: kms:RetireGrant on resource: {}",
                            ctx2.principal.arn, g.key_arn
                        ),
                    )
                    .into());
                }
            }
            if dry {
                return Err(crate::dry_run(Some(true)).err().unwrap_or_else(AwsError::internal).into());
            }
            tx.delete(GRANTS, &g.store_key(&ctx2))?;
            Ok(Unit::default())
        })
    }

    pub(crate) fn retire_grant(
        &self,
        ctx: &RequestContext,
        input: m::RetireGrantRequest,
    ) -> R<Unit> {
        let (key, id) = match (input.grant_token, input.key_id, input.grant_id) {
            (Some(t), _, _) => (None, grant_id_of(&t)?),
            (None, Some(k), Some(g)) => (Some(k), g),
            _ => {
                return Err(AwsError::validation(
                    "Specify either GrantToken or both KeyId and GrantId.",
                ))
            }
        };
        self.remove_grant(ctx, key, id, true, input.dry_run == Some(true))
    }

    pub(crate) fn revoke_grant(
        &self,
        ctx: &RequestContext,
        input: m::RevokeGrantRequest,
    ) -> R<Unit> {
        self.remove_grant(
            ctx,
            Some(input.key_id),
            input.grant_id,
            false,
            input.dry_run == Some(true),
        )
    }
}
