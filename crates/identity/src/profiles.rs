//! IAM instance profiles: a container for one role, as EC2 (and Terraform's
//! `aws_iam_instance_profile`) use them. Names are unique per account regardless of case; a
//! profile holds at most one role; neither a profile with a role nor a role in a profile can
//! be deleted (`DeleteConflict`), as on AWS.
use crate::records::{
    entity_arn, load, merge_tags, name_key, now, remove_tags, scan_all, tags_in, tags_out, Role,
    TagRec,
};
use crate::{Identity, IdentityError};
use rampart_core::{ids, AwsError, RequestContext};
use rampart_model::iam as m;
use rampart_store::Tx;
use serde::{Deserialize, Serialize};

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, IdentityError>;

pub(crate) const PROFILES: &str = "iam_instance_profile";
/// AWS's default quota of instance profiles per account.
const MAX_PROFILES: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ProfileRec {
    pub account_id: String,
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: String,
    /// The role's name (at most one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<TagRec>,
}

fn fail<T>(e: AwsError) -> TxR<T> {
    Err(IdentityError::Aws(e))
}

fn no_profile(name: &str) -> AwsError {
    m::no_such_entity_exception(format!("Instance Profile {name} cannot be found."))
}

fn find(tx: &mut dyn Tx, account: &str, name: &str) -> TxR<ProfileRec> {
    match tx.get_json::<ProfileRec>(PROFILES, &name_key(account, name))? {
        Some(p) => Ok(p),
        None => fail(no_profile(name)),
    }
}

fn put(tx: &mut dyn Tx, p: &ProfileRec) -> TxR<()> {
    tx.put_json(PROFILES, &name_key(&p.account_id, &p.name), p)?;
    Ok(())
}

/// Every instance profile of `account`.
pub(crate) fn all(tx: &mut dyn Tx, account: &str) -> TxR<Vec<ProfileRec>> {
    Ok(
        scan_all::<ProfileRec>(tx, PROFILES, &format!("{account}/"))?
            .into_iter()
            .map(|(_, p)| p)
            .collect(),
    )
}

/// The instance profiles `role` (as named) is in.
pub(crate) fn of_role(tx: &mut dyn Tx, account: &str, role: &str) -> TxR<Vec<ProfileRec>> {
    Ok(all(tx, account)?
        .into_iter()
        .filter(|p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(role)))
        .collect())
}

/// `DeleteRole`'s refusal for a role still in an instance profile.
pub(crate) fn check_role_unused(tx: &mut dyn Tx, account: &str, role: &str) -> TxR<()> {
    if of_role(tx, account, role)?.is_empty() {
        Ok(())
    } else {
        fail(m::delete_conflict_exception(
            "Cannot delete entity, must remove roles from instance profile first.",
        ))
    }
}

/// The model's shape of `p`, with its role(s) as `role_out` shows them.
pub(crate) fn out(
    tx: &mut dyn Tx,
    p: &ProfileRec,
    role_out: impl Fn(&Role) -> m::Role,
) -> TxR<m::InstanceProfile> {
    let mut roles = Vec::new();
    for r in &p.roles {
        if let Ok(role) = load::<Role>(tx, &p.account_id, r) {
            roles.push(role_out(&role));
        }
    }
    Ok(m::InstanceProfile {
        path: p.path.clone(),
        instance_profile_name: p.name.clone(),
        instance_profile_id: p.id.clone(),
        arn: p.arn.clone(),
        create_date: crate::records::ts(&p.create_date),
        roles,
        tags: (!p.tags.is_empty()).then(|| tags_out(&p.tags)),
    })
}

pub(crate) fn create(
    id: &Identity,
    ctx: &RequestContext,
    input: m::CreateInstanceProfileRequest,
) -> R<ProfileRec> {
    let path = input.path.unwrap_or_else(|| "/".to_string());
    let tags = tags_in(input.tags.as_deref())?;
    let account = ctx.account_id.clone();
    let name = input.instance_profile_name;
    let p = ProfileRec {
        arn: entity_arn(&account, "instance-profile", &path, &name),
        account_id: account.clone(),
        name: name.clone(),
        id: ids::iam_id("AIPA"),
        path,
        create_date: now(),
        roles: Vec::new(),
        tags,
    };
    id.change(move |tx| {
        if tx.get(PROFILES, &name_key(&account, &name))?.is_some() {
            return fail(m::entity_already_exists_exception(format!(
                "Instance Profile {name} already exists."
            )));
        }
        if crate::records::count(tx, PROFILES, &format!("{account}/"), MAX_PROFILES)?
            >= MAX_PROFILES
        {
            return fail(m::limit_exceeded_exception(format!(
                "Cannot exceed quota for InstanceProfilesPerAccount: {MAX_PROFILES}"
            )));
        }
        put(tx, &p)?;
        Ok(p)
    })
}

pub(crate) fn delete(id: &Identity, ctx: &RequestContext, name: String) -> R<()> {
    let account = ctx.account_id.clone();
    id.change(move |tx| {
        let p = find(tx, &account, &name)?;
        if !p.roles.is_empty() {
            return fail(m::delete_conflict_exception(
                "Cannot delete entity, must remove roles from instance profile first.",
            ));
        }
        tx.delete(PROFILES, &name_key(&account, &p.name))?;
        Ok(())
    })
}

pub(crate) fn add_role(
    id: &Identity,
    ctx: &RequestContext,
    profile: String,
    role: String,
) -> R<()> {
    let account = ctx.account_id.clone();
    id.change(move |tx| {
        let mut p = find(tx, &account, &profile)?;
        let r = load::<Role>(tx, &account, &role)?;
        if !p.roles.is_empty() {
            return fail(m::limit_exceeded_exception(
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ));
        }
        p.roles.push(r.role_name);
        put(tx, &p)
    })
}

pub(crate) fn remove_role(
    id: &Identity,
    ctx: &RequestContext,
    profile: String,
    role: String,
) -> R<()> {
    let account = ctx.account_id.clone();
    id.change(move |tx| {
        let mut p = find(tx, &account, &profile)?;
        let before = p.roles.len();
        p.roles.retain(|r| !r.eq_ignore_ascii_case(&role));
        if p.roles.len() == before {
            return fail(m::no_such_entity_exception(format!(
                "The role with name {role} cannot be found."
            )));
        }
        put(tx, &p)
    })
}

pub(crate) fn get(id: &Identity, ctx: &RequestContext, name: &str) -> R<ProfileRec> {
    id.query(|tx| find(tx, &ctx.account_id, name))
}

pub(crate) fn tag(id: &Identity, ctx: &RequestContext, name: String, tags: Vec<m::Tag>) -> R<()> {
    let account = ctx.account_id.clone();
    id.change(move |tx| {
        let mut p = find(tx, &account, &name)?;
        merge_tags(&mut p.tags, &tags)?;
        put(tx, &p)
    })
}

pub(crate) fn untag(id: &Identity, ctx: &RequestContext, name: String, keys: Vec<String>) -> R<()> {
    let account = ctx.account_id.clone();
    id.change(move |tx| {
        let mut p = find(tx, &account, &name)?;
        remove_tags(&mut p.tags, &keys);
        put(tx, &p)
    })
}
