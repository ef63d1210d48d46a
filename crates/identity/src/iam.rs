//! The IAM API (`iam`, awsQuery): users, groups, roles, customer managed and inline policies,
//! access keys, tags, permissions boundaries and `GetAccountAuthorizationDetails`, with
//! AWS's names, ARNs, ids, quotas and error messages. Every change invalidates the identity
//! caches, so it applies to the very next request.
use crate::policydoc::{self, AwsManaged, DocKind};
use crate::records::{
    count, entity_arn, load, merge_tags, name_key, now, parse_policy_arn, remove_tags, save,
    scan_all, tags_in, tags_out, ts, user_keys_prefix, AccessKeyRecord, Entity, Group,
    InlinePolicy, KeyStatus, ManagedPolicy, PolicyVersionRec, Role, TagRec, User, GROUPS, KEYS,
    KEYS_BY_USER, KEYS_LAST_USED, MAX_ATTACHED, MAX_GROUPS, MAX_GROUPS_PER_USER, MAX_KEYS_PER_USER,
    MAX_POLICIES, MAX_POLICY_VERSIONS, MAX_ROLES, MAX_USERS, POLICIES, ROLES, USERS,
};
use crate::{Identity, IdentityError};
use base64::Engine as _;
use rampart_core::{ids, AwsError, PrincipalKind, RequestContext};
use rampart_model::iam::{self as m, Iam};
use rampart_model::Unit;
use rampart_store::Tx;
use std::collections::HashMap;
use zeroize::Zeroizing;

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, IdentityError>;

/// The IAM service over an [`Identity`].
pub struct IamService {
    id: Identity,
}

fn fail<T>(e: AwsError) -> TxR<T> {
    Err(IdentityError::Aws(e))
}

/// IAM's code for a request that is well-formed but not acceptable.
fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::new("ValidationError", 400, msg)
}

fn policy_not_found(arn: &str) -> AwsError {
    m::no_such_entity_exception(format!("Policy {arn} was not found."))
}

fn not_attachable(arn: &str) -> AwsError {
    m::no_such_entity_exception(format!("Policy {arn} does not exist or is not attachable."))
}

fn key_not_found(akid: &str) -> AwsError {
    m::no_such_entity_exception(format!("The Access Key with id {akid} cannot be found."))
}

fn bad_arn(arn: &str) -> AwsError {
    m::invalid_input_exception(format!("ARN {arn} is not valid."))
}

fn path_or_root(p: Option<String>) -> String {
    p.unwrap_or_else(|| "/".to_string())
}

fn prefix_ok(path: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

/// The path of a managed policy from its ARN (`/` for `...:policy/name`).
fn policy_path(arn: &str) -> String {
    let Some(i) = arn.find(":policy/") else {
        return "/".to_string();
    };
    let rest = arn.get(i + ":policy".len()..).unwrap_or("/");
    match rest.rfind('/') {
        Some(j) => rest.get(..=j).unwrap_or("/").to_string(),
        None => "/".to_string(),
    }
}

fn policy_name_of(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// One page of `items` (already in order): the items after `marker`, at most `max_items`
/// (default 100), whether more follow and the marker of the next page.
fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> R<(Vec<T>, Option<bool>, Option<String>)> {
    let max = usize::try_from(max_items.unwrap_or(100).clamp(1, 1000)).unwrap_or(100);
    let after: Option<String> = match marker {
        None => None,
        Some(mk) => {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(mk)
                .map_err(|_| m::invalid_input_exception("Invalid Marker."))?;
            Some(
                String::from_utf8(bytes)
                    .map_err(|_| m::invalid_input_exception("Invalid Marker."))?,
            )
        }
    };
    let mut rest: Vec<T> = match &after {
        Some(a) => items.into_iter().filter(|i| key(i) > *a).collect(),
        None => items,
    };
    if rest.len() > max {
        rest.truncate(max);
        let next = rest
            .last()
            .map(|i| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(i)));
        Ok((rest, Some(true), next))
    } else {
        Ok((rest, Some(false), None))
    }
}

// ---- conversions to the model's shapes ----------------------------------------------------

fn boundary_out(arn: &Option<String>) -> Option<m::AttachedPermissionsBoundary> {
    arn.as_ref().map(|a| m::AttachedPermissionsBoundary {
        permissions_boundary_type: Some(
            m::PermissionsBoundaryAttachmentType::PermissionsBoundaryPolicy,
        ),
        permissions_boundary_arn: Some(a.clone()),
    })
}

fn opt_tags(tags: &[TagRec]) -> Option<Vec<m::Tag>> {
    (!tags.is_empty()).then(|| tags_out(tags))
}

/// A user as lists show it (no boundary, no tags).
pub(crate) fn user_summary(u: &User) -> m::User {
    user_out(u, false)
}

/// A user as `GetUser`/`CreateUser` return it (`full`), or as `ListUsers` does.
fn user_out(u: &User, full: bool) -> m::User {
    m::User {
        path: u.path.clone(),
        user_name: u.user_name.clone(),
        user_id: u.user_id.clone(),
        arn: u.arn.clone(),
        create_date: ts(&u.create_date),
        password_last_used: None,
        permissions_boundary: if full {
            boundary_out(&u.permissions_boundary)
        } else {
            None
        },
        tags: if full { opt_tags(&u.tags) } else { None },
    }
}

fn group_out(g: &Group) -> m::Group {
    m::Group {
        path: g.path.clone(),
        group_name: g.group_name.clone(),
        group_id: g.group_id.clone(),
        arn: g.arn.clone(),
        create_date: ts(&g.create_date),
    }
}

/// A role as `GetRole` returns it (`full`), or as `ListRoles` and `CreateRole` do.
fn role_out(r: &Role, full: bool) -> m::Role {
    m::Role {
        path: r.path.clone(),
        role_name: r.role_name.clone(),
        role_id: r.role_id.clone(),
        arn: r.arn.clone(),
        create_date: ts(&r.create_date),
        assume_role_policy_document: Some(policydoc::url_encode(&r.trust_policy)),
        description: r.description.clone(),
        max_session_duration: Some(r.max_session_duration),
        permissions_boundary: if full {
            boundary_out(&r.permissions_boundary)
        } else {
            None
        },
        tags: if full { opt_tags(&r.tags) } else { None },
        role_last_used: full.then(|| role_last_used(r)),
        source_role_template: None,
    }
}

fn role_last_used(r: &Role) -> m::RoleLastUsed {
    match &r.last_used {
        Some((date, region)) => m::RoleLastUsed {
            last_used_date: Some(ts(date)),
            region: Some(region.clone()),
        },
        None => m::RoleLastUsed::default(),
    }
}

/// How many entities of an account use each managed policy (by ARN): as a permissions
/// policy, and as a permissions boundary.
#[derive(Default)]
struct Usage {
    attached: HashMap<String, i32>,
    boundary: HashMap<String, i32>,
}

impl Usage {
    fn of(tx: &mut dyn Tx, account: &str) -> TxR<Usage> {
        let prefix = format!("{account}/");
        let mut u = Usage::default();
        let mut add = |attached: &[String], boundary: Option<&str>| {
            for a in attached {
                *u.attached.entry(a.clone()).or_default() += 1;
            }
            if let Some(b) = boundary {
                *u.boundary.entry(b.to_string()).or_default() += 1;
            }
        };
        for (_, x) in scan_all::<User>(tx, USERS, &prefix)? {
            add(&x.attached_policies, x.permissions_boundary.as_deref());
        }
        for (_, x) in scan_all::<Group>(tx, GROUPS, &prefix)? {
            add(&x.attached_policies, None);
        }
        for (_, x) in scan_all::<Role>(tx, ROLES, &prefix)? {
            add(&x.attached_policies, x.permissions_boundary.as_deref());
        }
        Ok(u)
    }

    fn attachments(&self, arn: &str) -> i32 {
        self.attached.get(arn).copied().unwrap_or(0)
    }

    fn boundaries(&self, arn: &str) -> i32 {
        self.boundary.get(arn).copied().unwrap_or(0)
    }
}

fn policy_out(p: &ManagedPolicy, usage: &Usage, with_tags: bool) -> m::Policy {
    m::Policy {
        policy_name: Some(p.policy_name.clone()),
        policy_id: Some(p.policy_id.clone()),
        arn: Some(p.arn.clone()),
        path: Some(p.path.clone()),
        default_version_id: Some(p.default_version.clone()),
        attachment_count: Some(usage.attachments(&p.arn)),
        permissions_boundary_usage_count: Some(usage.boundaries(&p.arn)),
        is_attachable: Some(true),
        description: if with_tags {
            p.description.clone()
        } else {
            None
        },
        create_date: Some(ts(&p.create_date)),
        update_date: Some(ts(&p.update_date)),
        tags: if with_tags { opt_tags(&p.tags) } else { None },
    }
}

fn aws_policy_out(a: &AwsManaged, usage: &Usage, full: bool) -> m::Policy {
    let arn = a.arn();
    m::Policy {
        policy_name: Some(a.name.to_string()),
        policy_id: Some(a.id.to_string()),
        path: Some(a.path.to_string()),
        default_version_id: Some(a.version.to_string()),
        attachment_count: Some(usage.attachments(&arn)),
        permissions_boundary_usage_count: Some(usage.boundaries(&arn)),
        is_attachable: Some(true),
        description: full.then(|| a.description.to_string()),
        create_date: Some(ts(a.create_date)),
        update_date: Some(ts(a.update_date)),
        tags: None,
        arn: Some(arn),
    }
}

fn version_out(v: &PolicyVersionRec, default: &str, with_document: bool) -> m::PolicyVersion {
    m::PolicyVersion {
        document: with_document.then(|| policydoc::url_encode(&v.document)),
        version_id: Some(v.version_id.clone()),
        is_default_version: Some(v.version_id == default),
        create_date: Some(ts(&v.create_date)),
    }
}

fn aws_version_out(a: &AwsManaged, with_document: bool) -> m::PolicyVersion {
    m::PolicyVersion {
        document: with_document.then(|| policydoc::url_encode(a.document)),
        version_id: Some(a.version.to_string()),
        is_default_version: Some(true),
        create_date: Some(ts(a.create_date)),
    }
}

fn inline_details(list: &[InlinePolicy]) -> Option<Vec<m::PolicyDetail>> {
    Some(
        list.iter()
            .map(|p| m::PolicyDetail {
                policy_name: Some(p.name.clone()),
                policy_document: Some(policydoc::url_encode(&p.document)),
            })
            .collect(),
    )
}

fn attached_out(arns: &[String]) -> Vec<m::AttachedPolicy> {
    arns.iter()
        .map(|a| m::AttachedPolicy {
            policy_name: Some(policy_name_of(a)),
            policy_arn: Some(a.clone()),
        })
        .collect()
}

// ---- managed policy lookups -----------------------------------------------------------------

/// A managed policy of either kind.
enum AnyPolicy {
    Aws(&'static AwsManaged),
    Customer(Box<ManagedPolicy>),
}

/// The managed policy `arn`, visible to `account` (AWS managed, or the account's own), or
/// `None`. A malformed ARN is `InvalidInput`.
fn find_policy(tx: &mut dyn Tx, account: &str, arn: &str) -> TxR<Option<AnyPolicy>> {
    if let Some(a) = policydoc::aws_managed(arn) {
        return Ok(Some(AnyPolicy::Aws(a)));
    }
    let Some((acct, name)) = parse_policy_arn(arn) else {
        return fail(bad_arn(arn));
    };
    if acct != account {
        return Ok(None);
    }
    Ok(tx
        .get_json::<ManagedPolicy>(POLICIES, &name_key(acct, name))?
        .filter(|p| p.arn == arn)
        .map(|p| AnyPolicy::Customer(Box::new(p))))
}

/// A policy that can be attached, or `NoSuchEntity` ("does not exist or is not attachable").
fn attachable(tx: &mut dyn Tx, account: &str, arn: &str) -> TxR<()> {
    match find_policy(tx, account, arn)? {
        Some(_) => Ok(()),
        None => fail(not_attachable(arn)),
    }
}

/// A policy usable as a permissions boundary, or `NoSuchEntity`.
fn boundary_policy(tx: &mut dyn Tx, account: &str, arn: &str) -> TxR<()> {
    match find_policy(tx, account, arn)? {
        Some(_) => Ok(()),
        None => fail(m::no_such_entity_exception(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        ))),
    }
}

/// The account's own managed policy `arn` for a change: `NoSuchEntity` when it does not
/// exist, `AccessDenied` for an AWS managed policy (read-only).
fn own_policy(
    tx: &mut dyn Tx,
    ctx_arn: &str,
    account: &str,
    arn: &str,
    action: &str,
) -> TxR<ManagedPolicy> {
    match find_policy(tx, account, arn)? {
        Some(AnyPolicy::Customer(p)) => Ok(*p),
        Some(AnyPolicy::Aws(_)) => fail(AwsError::new(
            "AccessDenied",
            403,
            format!("User: {ctx_arn} is not authorized to perform: iam:{action} on resource: policy {arn}"),
        )),
        None => fail(policy_not_found(arn)),
    }
}

fn save_policy(tx: &mut dyn Tx, p: &ManagedPolicy) -> TxR<()> {
    tx.put_json(POLICIES, &name_key(&p.account_id, &p.policy_name), p)?;
    Ok(())
}

/// The user an access-key call is about: `UserName`, else the caller (an IAM user).
pub(crate) fn key_user(ctx: &RequestContext, user_name: Option<String>) -> R<String> {
    if let Some(u) = user_name {
        return Ok(u);
    }
    match (&ctx.principal.kind, &ctx.principal.user_name) {
        (PrincipalKind::IamUser, Some(u)) => Ok(u.clone()),
        _ => Err(validation(
            "Must specify userName when calling with non-User credentials",
        )),
    }
}

/// The access keys of a user, oldest first.
fn keys_of(tx: &mut dyn Tx, account: &str, user: &str) -> TxR<Vec<AccessKeyRecord>> {
    let mut out = Vec::new();
    for (_, akid) in scan_all::<String>(tx, KEYS_BY_USER, &user_keys_prefix(account, user))? {
        if let Some(rec) = tx.get_json::<AccessKeyRecord>(KEYS, &akid)? {
            out.push(rec);
        }
    }
    out.sort_by(|a, b| a.create_date.cmp(&b.create_date));
    Ok(out)
}

/// The key `akid` of `user` in `account`, or `NoSuchEntity`.
fn key_of_user(tx: &mut dyn Tx, account: &str, user: &str, akid: &str) -> TxR<AccessKeyRecord> {
    match tx.get_json::<AccessKeyRecord>(KEYS, akid)? {
        Some(k) if k.account_id == account && k.user_name.eq_ignore_ascii_case(user) => Ok(k),
        _ => fail(key_not_found(akid)),
    }
}

// ---- generic entity operations -----------------------------------------------------------------

fn attach<E: Entity>(tx: &mut dyn Tx, account: &str, name: &str, arn: &str) -> TxR<()> {
    let mut e = load::<E>(tx, account, name)?;
    attachable(tx, account, arn)?;
    if !e.attached().iter().any(|a| a == arn) {
        if e.attached().len() >= MAX_ATTACHED {
            return fail(m::limit_exceeded_exception(format!(
                "Cannot exceed quota for {}: {MAX_ATTACHED}",
                E::KIND.attached_quota()
            )));
        }
        e.attached_mut().push(arn.to_string());
        save(tx, account, &e)?;
    }
    Ok(())
}

fn detach<E: Entity>(tx: &mut dyn Tx, account: &str, name: &str, arn: &str) -> TxR<()> {
    let mut e = load::<E>(tx, account, name)?;
    let before = e.attached().len();
    e.attached_mut().retain(|a| a != arn);
    if e.attached().len() == before {
        return fail(policy_not_found(arn));
    }
    save(tx, account, &e)?;
    Ok(())
}

type AttachedPage = (Vec<m::AttachedPolicy>, Option<bool>, Option<String>);

fn list_attached<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    path_prefix: Option<&str>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> TxR<AttachedPage> {
    let e = load::<E>(tx, account, name)?;
    let arns: Vec<String> = e
        .attached()
        .iter()
        .filter(|a| prefix_ok(&policy_path(a), path_prefix))
        .cloned()
        .collect();
    let (arns, trunc, next) = page(arns, |a| a.clone(), marker, max_items)?;
    Ok((attached_out(&arns), trunc, next))
}

fn put_inline<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    policy_name: &str,
    document: String,
) -> TxR<()> {
    let mut e = load::<E>(tx, account, name)?;
    policydoc::validate(&document, DocKind::Inline)?;
    let others: usize = e
        .inline()
        .iter()
        .filter(|p| p.name != policy_name)
        .map(|p| policydoc::size(&p.document))
        .sum();
    let limit = E::KIND.inline_limit();
    if others + policydoc::size(&document) > limit {
        return fail(m::limit_exceeded_exception(format!(
            "Maximum policy size of {limit} bytes exceeded for {} {}",
            E::KIND.word(),
            e.name()
        )));
    }
    match e.inline_mut().iter_mut().find(|p| p.name == policy_name) {
        Some(p) => p.document = document,
        None => e.inline_mut().push(InlinePolicy {
            name: policy_name.to_string(),
            document,
        }),
    }
    save(tx, account, &e)?;
    Ok(())
}

/// `(entity name, policy name, URL-encoded document)`.
fn get_inline<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    policy_name: &str,
) -> TxR<(String, String, String)> {
    let e = load::<E>(tx, account, name)?;
    match e.inline().iter().find(|p| p.name == policy_name) {
        Some(p) => Ok((
            e.name().to_string(),
            p.name.clone(),
            policydoc::url_encode(&p.document),
        )),
        None => fail(E::KIND.inline_not_found(policy_name)),
    }
}

fn delete_inline<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    policy_name: &str,
) -> TxR<()> {
    let mut e = load::<E>(tx, account, name)?;
    let before = e.inline().len();
    e.inline_mut().retain(|p| p.name != policy_name);
    if e.inline().len() == before {
        return fail(E::KIND.inline_not_found(policy_name));
    }
    save(tx, account, &e)?;
    Ok(())
}

type NamesPage = (Vec<String>, Option<bool>, Option<String>);

fn list_inline<E: Entity>(
    tx: &mut dyn Tx,
    account: &str,
    name: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> TxR<NamesPage> {
    let e = load::<E>(tx, account, name)?;
    let mut names: Vec<String> = e.inline().iter().map(|p| p.name.clone()).collect();
    names.sort();
    Ok(page(names, |n| n.clone(), marker, max_items)?)
}

/// Refuses to delete an entity that still has policies.
fn no_policies_left<E: Entity>(e: &E) -> TxR<()> {
    if !e.inline().is_empty() {
        return fail(m::delete_conflict_exception(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !e.attached().is_empty() {
        return fail(m::delete_conflict_exception(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    Ok(())
}

type TagsPage = (Vec<m::Tag>, Option<bool>, Option<String>);

fn tags_page(tags: &[TagRec], marker: Option<&str>, max_items: Option<i32>) -> R<TagsPage> {
    page(tags_out(tags), |t| t.key.clone(), marker, max_items)
}

impl IamService {
    pub fn new(id: Identity) -> Self {
        IamService { id }
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> TxR<T>) -> R<T> {
        self.id.query(f)
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn Tx) -> TxR<T> + Send + 'static,
    ) -> R<T> {
        self.id.change(f)
    }

    /// A page (by name) of the instance profiles `select` reads, as the list operations show
    /// them.
    fn profiles_page(
        &self,
        select: impl FnOnce(&mut dyn Tx) -> TxR<Vec<crate::profiles::ProfileRec>>,
        marker: Option<&str>,
        max_items: Option<i32>,
    ) -> R<(Vec<m::InstanceProfile>, Option<bool>, Option<String>)> {
        let all = self.read(|tx| {
            select(tx)?
                .iter()
                .map(|p| crate::profiles::out(tx, p, |r| role_out(r, false)))
                .collect::<Result<Vec<_>, _>>()
        })?;
        page(
            all,
            |p| p.instance_profile_name.to_ascii_lowercase(),
            marker,
            max_items,
        )
    }
}

impl Iam for IamService {
    // ---- the policy simulator -----------------------------------------------------------

    fn simulate_principal_policy(
        &self,
        ctx: &RequestContext,
        input: m::SimulatePrincipalPolicyRequest,
    ) -> R<m::SimulatePolicyResponse> {
        crate::simulate::principal_policy(&self.id, ctx, input)
    }

    fn simulate_custom_policy(
        &self,
        ctx: &RequestContext,
        input: m::SimulateCustomPolicyRequest,
    ) -> R<m::SimulatePolicyResponse> {
        crate::simulate::custom_policy(ctx, input)
    }

    // ---- users ----------------------------------------------------------------------------

    fn create_user(
        &self,
        ctx: &RequestContext,
        input: m::CreateUserRequest,
    ) -> R<m::CreateUserResponse> {
        let account = ctx.account_id.clone();
        let path = path_or_root(input.path);
        let tags = tags_in(input.tags.as_deref())?;
        let name = input.user_name;
        let boundary = input.permissions_boundary;
        let user = self.write(move |tx| {
            if tx.get(USERS, &name_key(&account, &name))?.is_some() {
                return fail(m::entity_already_exists_exception(format!(
                    "User with name {name} already exists."
                )));
            }
            if count(tx, USERS, &format!("{account}/"), MAX_USERS + 1)? >= MAX_USERS {
                return fail(m::limit_exceeded_exception(format!(
                    "Cannot exceed quota for UsersPerAccount: {MAX_USERS}"
                )));
            }
            if let Some(b) = &boundary {
                boundary_policy(tx, &account, b)?;
            }
            let user = User {
                account_id: account.clone(),
                arn: entity_arn(&account, "user", &path, &name),
                user_name: name,
                user_id: ids::iam_id("AIDA"),
                path,
                create_date: now(),
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
                groups: Vec::new(),
                permissions_boundary: boundary,
                tags,
            };
            save(tx, &account, &user)?;
            Ok(user)
        })?;
        Ok(m::CreateUserResponse {
            user: Some(user_out(&user, true)),
        })
    }

    fn get_user(&self, ctx: &RequestContext, input: m::GetUserRequest) -> R<m::GetUserResponse> {
        let name = match input.user_name {
            Some(n) => n,
            None => match (&ctx.principal.kind, &ctx.principal.user_name) {
                (PrincipalKind::IamUser, Some(n)) => n.clone(),
                (PrincipalKind::Root, _) => {
                    let account = ctx.account_id.clone();
                    let created = self.read(|tx| {
                        Ok(tx
                            .get_json::<crate::Account>(crate::records::ACCOUNTS, &account)?
                            .map(|a| a.created))
                    })?;
                    return Ok(m::GetUserResponse {
                        user: m::User {
                            path: "/".into(),
                            user_name: "root".into(),
                            user_id: ctx.account_id.clone(),
                            arn: ctx.principal.arn.clone(),
                            create_date: created.as_deref().map(ts).unwrap_or_default(),
                            ..Default::default()
                        },
                    });
                }
                _ => {
                    return Err(validation(
                        "Must specify userName when calling with non-User credentials",
                    ))
                }
            },
        };
        let account = &ctx.account_id;
        let user = self.read(|tx| load::<User>(tx, account, &name))?;
        Ok(m::GetUserResponse {
            user: user_out(&user, true),
        })
    }

    fn list_users(
        &self,
        ctx: &RequestContext,
        input: m::ListUsersRequest,
    ) -> R<m::ListUsersResponse> {
        let prefix = format!("{}/", ctx.account_id);
        let users = self.read(|tx| Ok(scan_all::<User>(tx, USERS, &prefix)?))?;
        let users: Vec<(String, User)> = users
            .into_iter()
            .filter(|(_, u)| prefix_ok(&u.path, input.path_prefix.as_deref()))
            .collect();
        let (users, is_truncated, marker) = page(
            users,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListUsersResponse {
            users: users.iter().map(|(_, u)| user_out(u, false)).collect(),
            is_truncated,
            marker,
        })
    }

    fn update_user(&self, ctx: &RequestContext, input: m::UpdateUserRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut user = load::<User>(tx, &account, &input.user_name)?;
            let old_key = name_key(&account, &user.user_name);
            let old_name = user.user_name.clone();
            if let Some(new) = &input.new_user_name {
                let new_key = name_key(&account, new);
                if new_key != old_key && tx.get(USERS, &new_key)?.is_some() {
                    return fail(m::entity_already_exists_exception(format!(
                        "User with name {new} already exists."
                    )));
                }
                user.user_name = new.clone();
            }
            if let Some(p) = &input.new_path {
                user.path = p.clone();
            }
            user.arn = entity_arn(&account, "user", &user.path, &user.user_name);
            tx.delete(USERS, &old_key)?;
            save(tx, &account, &user)?;
            if user.user_name != old_name {
                // The access keys follow the user.
                for mut k in keys_of(tx, &account, &old_name)? {
                    tx.delete(
                        KEYS_BY_USER,
                        &format!(
                            "{}{}",
                            user_keys_prefix(&account, &old_name),
                            k.access_key_id
                        ),
                    )?;
                    k.user_name = user.user_name.clone();
                    tx.put_json(KEYS, &k.access_key_id, &k)?;
                    tx.put_json(
                        KEYS_BY_USER,
                        &format!(
                            "{}{}",
                            user_keys_prefix(&account, &user.user_name),
                            k.access_key_id
                        ),
                        &k.access_key_id,
                    )?;
                }
            }
            Ok(Unit {})
        })
    }

    fn delete_user(&self, ctx: &RequestContext, input: m::DeleteUserRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let user = load::<User>(tx, &account, &input.user_name)?;
            if !keys_of(tx, &account, &user.user_name)?.is_empty() {
                return fail(m::delete_conflict_exception(
                    "Cannot delete entity, must delete access keys first.",
                ));
            }
            no_policies_left(&user)?;
            if crate::login::has_profile(tx, &account, &user.user_name)? {
                return fail(m::delete_conflict_exception(
                    "Cannot delete entity, must delete login profile first.",
                ));
            }
            if crate::mfa::user_has_devices(tx, &account, &user.user_name)? {
                return fail(m::delete_conflict_exception(
                    "Cannot delete entity, must remove MFA device first.",
                ));
            }
            if !user.groups.is_empty() {
                return fail(m::delete_conflict_exception(
                    "Cannot delete entity, must remove user from all groups first.",
                ));
            }
            tx.delete(USERS, &name_key(&account, &user.user_name))?;
            Ok(Unit {})
        })
    }

    fn get_account_summary(
        &self,
        ctx: &RequestContext,
        _input: Unit,
    ) -> R<m::GetAccountSummaryResponse> {
        let account = ctx.account_id.clone();
        let prefix = format!("{account}/");
        let counts = self.read(|tx| {
            let n = |tx: &mut dyn Tx, coll: &str| count(tx, coll, &prefix, usize::MAX);
            let users = n(tx, USERS)?;
            let groups = n(tx, GROUPS)?;
            let roles = n(tx, ROLES)?;
            let policies: Vec<(String, ManagedPolicy)> = scan_all(tx, POLICIES, &prefix)?;
            let versions: usize = policies.iter().map(|(_, p)| p.versions.len()).sum();
            let (devices, in_use) = crate::mfa::counts(tx, &account)?;
            let profiles = n(tx, crate::profiles::PROFILES)?;
            Ok([
                users,
                groups,
                roles,
                policies.len(),
                versions,
                devices,
                in_use,
                profiles,
            ])
        })?;
        let i = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
        let [users, groups, roles, policies, versions, devices, in_use, profiles] = counts.map(i);
        let q = |n: usize| i(n);
        let map: std::collections::BTreeMap<String, i32> = [
            ("Users", users),
            ("UsersQuota", q(MAX_USERS)),
            ("Groups", groups),
            ("GroupsQuota", q(MAX_GROUPS)),
            ("Roles", roles),
            ("RolesQuota", q(MAX_ROLES)),
            ("Policies", policies),
            ("PoliciesQuota", q(MAX_POLICIES)),
            ("PolicyVersionsInUse", versions),
            ("PolicyVersionsInUseQuota", 10_000),
            ("VersionsPerPolicyQuota", q(MAX_POLICY_VERSIONS)),
            ("PolicySizeQuota", q(policydoc::MANAGED_POLICY_SIZE)),
            ("AssumeRolePolicySizeQuota", q(policydoc::TRUST_POLICY_SIZE)),
            ("UserPolicySizeQuota", 2_048),
            ("GroupPolicySizeQuota", 5_120),
            ("RolePolicySizeQuota", 10_240),
            ("GroupsPerUserQuota", q(MAX_GROUPS_PER_USER)),
            ("AttachedPoliciesPerUserQuota", q(MAX_ATTACHED)),
            ("AttachedPoliciesPerGroupQuota", q(MAX_ATTACHED)),
            ("AttachedPoliciesPerRoleQuota", q(MAX_ATTACHED)),
            ("AccessKeysPerUserQuota", q(MAX_KEYS_PER_USER)),
            ("SigningCertificatesPerUserQuota", 2),
            ("MFADevices", devices),
            ("MFADevicesInUse", in_use),
            // The account root has no credentials of its own here (AWS's recommendation).
            ("AccountMFAEnabled", 0),
            ("AccountAccessKeysPresent", 0),
            ("AccountPasswordPresent", 0),
            ("AccountSigningCertificatesPresent", 0),
            ("ServerCertificates", 0),
            ("ServerCertificatesQuota", 20),
            ("InstanceProfiles", profiles),
            ("InstanceProfilesQuota", 1_000),
            ("Providers", 0),
            ("GlobalEndpointTokenVersion", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Ok(m::GetAccountSummaryResponse {
            summary_map: Some(map),
        })
    }

    // ---- console passwords and the account password policy (crate::login) ---------------

    fn create_login_profile(
        &self,
        ctx: &RequestContext,
        input: m::CreateLoginProfileRequest,
    ) -> R<m::CreateLoginProfileResponse> {
        crate::login::create(&self.id, ctx, input)
    }

    fn get_login_profile(
        &self,
        ctx: &RequestContext,
        input: m::GetLoginProfileRequest,
    ) -> R<m::GetLoginProfileResponse> {
        Ok(m::GetLoginProfileResponse {
            login_profile: crate::login::get(&self.id, ctx, input.user_name)?,
        })
    }

    fn update_login_profile(
        &self,
        ctx: &RequestContext,
        input: m::UpdateLoginProfileRequest,
    ) -> R<Unit> {
        crate::login::update(&self.id, ctx, input)?;
        Ok(Unit {})
    }

    fn delete_login_profile(
        &self,
        ctx: &RequestContext,
        input: m::DeleteLoginProfileRequest,
    ) -> R<Unit> {
        crate::login::delete(&self.id, ctx, input.user_name)?;
        Ok(Unit {})
    }

    fn change_password(&self, ctx: &RequestContext, input: m::ChangePasswordRequest) -> R<Unit> {
        crate::login::change(&self.id, ctx, input)?;
        Ok(Unit {})
    }

    fn update_account_password_policy(
        &self,
        ctx: &RequestContext,
        input: m::UpdateAccountPasswordPolicyRequest,
    ) -> R<Unit> {
        crate::login::put_policy(&self.id, ctx, input)?;
        Ok(Unit {})
    }

    fn get_account_password_policy(
        &self,
        ctx: &RequestContext,
        _input: Unit,
    ) -> R<m::GetAccountPasswordPolicyResponse> {
        Ok(m::GetAccountPasswordPolicyResponse {
            password_policy: crate::login::get_policy(&self.id, ctx)?,
        })
    }

    fn delete_account_password_policy(&self, ctx: &RequestContext, _input: Unit) -> R<Unit> {
        crate::login::delete_policy(&self.id, ctx)?;
        Ok(Unit {})
    }

    // ---- virtual MFA devices (crate::mfa) ------------------------------------------------

    fn create_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: m::CreateVirtualMFADeviceRequest,
    ) -> R<m::CreateVirtualMFADeviceResponse> {
        crate::mfa::create(&self.id, ctx, input)
    }

    fn enable_mfa_device(&self, ctx: &RequestContext, input: m::EnableMFADeviceRequest) -> R<Unit> {
        crate::mfa::enable(
            &self.id,
            ctx,
            input.user_name,
            input.serial_number,
            input.authentication_code1,
            input.authentication_code2,
            false,
        )?;
        Ok(Unit {})
    }

    fn resync_mfa_device(&self, ctx: &RequestContext, input: m::ResyncMFADeviceRequest) -> R<Unit> {
        crate::mfa::enable(
            &self.id,
            ctx,
            input.user_name,
            input.serial_number,
            input.authentication_code1,
            input.authentication_code2,
            true,
        )?;
        Ok(Unit {})
    }

    fn deactivate_mfa_device(
        &self,
        ctx: &RequestContext,
        input: m::DeactivateMFADeviceRequest,
    ) -> R<Unit> {
        crate::mfa::deactivate(&self.id, ctx, input)?;
        Ok(Unit {})
    }

    fn delete_virtual_mfa_device(
        &self,
        ctx: &RequestContext,
        input: m::DeleteVirtualMFADeviceRequest,
    ) -> R<Unit> {
        crate::mfa::delete(&self.id, ctx, input.serial_number)?;
        Ok(Unit {})
    }

    fn list_virtual_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: m::ListVirtualMFADevicesRequest,
    ) -> R<m::ListVirtualMFADevicesResponse> {
        let all = crate::mfa::list_virtual(&self.id, ctx, input.assignment_status)?;
        let (virtual_mfa_devices, is_truncated, marker) = page(
            all,
            |d| d.serial_number.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListVirtualMFADevicesResponse {
            virtual_mfa_devices,
            is_truncated,
            marker,
        })
    }

    fn list_mfa_devices(
        &self,
        ctx: &RequestContext,
        input: m::ListMFADevicesRequest,
    ) -> R<m::ListMFADevicesResponse> {
        let all = crate::mfa::list_for_user(&self.id, ctx, input.user_name)?;
        let (mfa_devices, is_truncated, marker) = page(
            all,
            |d| d.serial_number.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListMFADevicesResponse {
            mfa_devices,
            is_truncated,
            marker,
        })
    }

    fn get_mfa_device(
        &self,
        ctx: &RequestContext,
        input: m::GetMFADeviceRequest,
    ) -> R<m::GetMFADeviceResponse> {
        crate::mfa::get(&self.id, ctx, input)
    }

    fn tag_mfa_device(&self, ctx: &RequestContext, input: m::TagMFADeviceRequest) -> R<Unit> {
        crate::mfa::retag(&self.id, ctx, input.serial_number, input.tags, Vec::new())?;
        Ok(Unit {})
    }

    fn untag_mfa_device(&self, ctx: &RequestContext, input: m::UntagMFADeviceRequest) -> R<Unit> {
        crate::mfa::retag(
            &self.id,
            ctx,
            input.serial_number,
            Vec::new(),
            input.tag_keys,
        )?;
        Ok(Unit {})
    }

    fn list_mfa_device_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListMFADeviceTagsRequest,
    ) -> R<m::ListMFADeviceTagsResponse> {
        let t = crate::mfa::tags(&self.id, ctx, &input.serial_number)?;
        let (tags, is_truncated, marker) = tags_page(&t, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListMFADeviceTagsResponse {
            tags,
            is_truncated,
            marker,
        })
    }

    fn tag_user(&self, ctx: &RequestContext, input: m::TagUserRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            merge_tags(&mut u.tags, &input.tags)?;
            save(tx, &account, &u)?;
            Ok(Unit {})
        })
    }

    fn untag_user(&self, ctx: &RequestContext, input: m::UntagUserRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            remove_tags(&mut u.tags, &input.tag_keys);
            save(tx, &account, &u)?;
            Ok(Unit {})
        })
    }

    fn list_user_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListUserTagsRequest,
    ) -> R<m::ListUserTagsResponse> {
        let u = self.read(|tx| load::<User>(tx, &ctx.account_id, &input.user_name))?;
        let (tags, is_truncated, marker) =
            tags_page(&u.tags, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListUserTagsResponse {
            tags,
            is_truncated,
            marker,
        })
    }

    fn put_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: m::PutUserPermissionsBoundaryRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            boundary_policy(tx, &account, &input.permissions_boundary)?;
            u.permissions_boundary = Some(input.permissions_boundary);
            save(tx, &account, &u)?;
            Ok(Unit {})
        })
    }

    fn delete_user_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: m::DeleteUserPermissionsBoundaryRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            u.permissions_boundary = None;
            save(tx, &account, &u)?;
            Ok(Unit {})
        })
    }

    // ---- groups ---------------------------------------------------------------------------

    fn create_group(
        &self,
        ctx: &RequestContext,
        input: m::CreateGroupRequest,
    ) -> R<m::CreateGroupResponse> {
        let account = ctx.account_id.clone();
        let path = path_or_root(input.path);
        let name = input.group_name;
        let group = self.write(move |tx| {
            if tx.get(GROUPS, &name_key(&account, &name))?.is_some() {
                return fail(m::entity_already_exists_exception(format!(
                    "Group with name {name} already exists."
                )));
            }
            if count(tx, GROUPS, &format!("{account}/"), MAX_GROUPS + 1)? >= MAX_GROUPS {
                return fail(m::limit_exceeded_exception(format!(
                    "Cannot exceed quota for GroupsPerAccount: {MAX_GROUPS}"
                )));
            }
            let g = Group {
                account_id: account.clone(),
                arn: entity_arn(&account, "group", &path, &name),
                group_name: name,
                group_id: ids::iam_id("AGPA"),
                path,
                create_date: now(),
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
            };
            save(tx, &account, &g)?;
            Ok(g)
        })?;
        Ok(m::CreateGroupResponse {
            group: group_out(&group),
        })
    }

    fn get_group(&self, ctx: &RequestContext, input: m::GetGroupRequest) -> R<m::GetGroupResponse> {
        let account = &ctx.account_id;
        let (group, members) = self.read(|tx| {
            let g = load::<Group>(tx, account, &input.group_name)?;
            let gk = g.group_name.to_ascii_lowercase();
            let members: Vec<(String, User)> = scan_all::<User>(tx, USERS, &format!("{account}/"))?
                .into_iter()
                .filter(|(_, u)| u.groups.contains(&gk))
                .collect();
            Ok((g, members))
        })?;
        let (members, is_truncated, marker) = page(
            members,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::GetGroupResponse {
            group: group_out(&group),
            users: members.iter().map(|(_, u)| user_out(u, false)).collect(),
            is_truncated,
            marker,
        })
    }

    fn list_groups(
        &self,
        ctx: &RequestContext,
        input: m::ListGroupsRequest,
    ) -> R<m::ListGroupsResponse> {
        let prefix = format!("{}/", ctx.account_id);
        let groups: Vec<(String, Group)> = self
            .read(|tx| Ok(scan_all::<Group>(tx, GROUPS, &prefix)?))?
            .into_iter()
            .filter(|(_, g)| prefix_ok(&g.path, input.path_prefix.as_deref()))
            .collect();
        let (groups, is_truncated, marker) = page(
            groups,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListGroupsResponse {
            groups: groups.iter().map(|(_, g)| group_out(g)).collect(),
            is_truncated,
            marker,
        })
    }

    fn update_group(&self, ctx: &RequestContext, input: m::UpdateGroupRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut g = load::<Group>(tx, &account, &input.group_name)?;
            let old_key = g.group_name.to_ascii_lowercase();
            if let Some(new) = &input.new_group_name {
                let new_key = new.to_ascii_lowercase();
                if new_key != old_key && tx.get(GROUPS, &name_key(&account, new))?.is_some() {
                    return fail(m::entity_already_exists_exception(format!(
                        "Group with name {new} already exists."
                    )));
                }
                g.group_name = new.clone();
            }
            if let Some(p) = &input.new_path {
                g.path = p.clone();
            }
            g.arn = entity_arn(&account, "group", &g.path, &g.group_name);
            tx.delete(GROUPS, &name_key(&account, &old_key))?;
            save(tx, &account, &g)?;
            let new_key = g.group_name.to_ascii_lowercase();
            if new_key != old_key {
                for (_, mut u) in scan_all::<User>(tx, USERS, &format!("{account}/"))? {
                    if let Some(slot) = u.groups.iter_mut().find(|x| **x == old_key) {
                        *slot = new_key.clone();
                        save(tx, &account, &u)?;
                    }
                }
            }
            Ok(Unit {})
        })
    }

    fn delete_group(&self, ctx: &RequestContext, input: m::DeleteGroupRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let g = load::<Group>(tx, &account, &input.group_name)?;
            let gk = g.group_name.to_ascii_lowercase();
            let has_members = scan_all::<User>(tx, USERS, &format!("{account}/"))?
                .iter()
                .any(|(_, u)| u.groups.contains(&gk));
            if has_members {
                return fail(m::delete_conflict_exception(
                    "Cannot delete entity, must remove users from group first.",
                ));
            }
            no_policies_left(&g)?;
            tx.delete(GROUPS, &name_key(&account, &gk))?;
            Ok(Unit {})
        })
    }

    fn add_user_to_group(&self, ctx: &RequestContext, input: m::AddUserToGroupRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let g = load::<Group>(tx, &account, &input.group_name)?;
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            let gk = g.group_name.to_ascii_lowercase();
            if !u.groups.contains(&gk) {
                if u.groups.len() >= MAX_GROUPS_PER_USER {
                    return fail(m::limit_exceeded_exception(format!(
                        "Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}"
                    )));
                }
                u.groups.push(gk);
                save(tx, &account, &u)?;
            }
            Ok(Unit {})
        })
    }

    fn remove_user_from_group(
        &self,
        ctx: &RequestContext,
        input: m::RemoveUserFromGroupRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let g = load::<Group>(tx, &account, &input.group_name)?;
            let mut u = load::<User>(tx, &account, &input.user_name)?;
            let gk = g.group_name.to_ascii_lowercase();
            if u.groups.contains(&gk) {
                u.groups.retain(|x| *x != gk);
                save(tx, &account, &u)?;
            }
            Ok(Unit {})
        })
    }

    fn list_groups_for_user(
        &self,
        ctx: &RequestContext,
        input: m::ListGroupsForUserRequest,
    ) -> R<m::ListGroupsForUserResponse> {
        let account = &ctx.account_id;
        let mut groups = self.read(|tx| {
            let u = load::<User>(tx, account, &input.user_name)?;
            let mut out = Vec::new();
            for gk in &u.groups {
                if let Some(g) = tx.get_json::<Group>(GROUPS, &name_key(account, gk))? {
                    out.push(g);
                }
            }
            Ok(out)
        })?;
        groups.sort_by_key(|g| g.group_name.to_ascii_lowercase());
        let (groups, is_truncated, marker) = page(
            groups,
            |g| g.group_name.to_ascii_lowercase(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListGroupsForUserResponse {
            groups: groups.iter().map(group_out).collect(),
            is_truncated,
            marker,
        })
    }

    // ---- roles ----------------------------------------------------------------------------

    fn create_role(
        &self,
        ctx: &RequestContext,
        input: m::CreateRoleRequest,
    ) -> R<m::CreateRoleResponse> {
        let account = ctx.account_id.clone();
        policydoc::validate(&input.assume_role_policy_document, DocKind::Trust)?;
        let tags = tags_in(input.tags.as_deref())?;
        let path = path_or_root(input.path);
        let role = self.write(move |tx| {
            let name = input.role_name;
            if tx.get(ROLES, &name_key(&account, &name))?.is_some() {
                return fail(m::entity_already_exists_exception(format!(
                    "Role with name {name} already exists."
                )));
            }
            if count(tx, ROLES, &format!("{account}/"), MAX_ROLES + 1)? >= MAX_ROLES {
                return fail(m::limit_exceeded_exception(format!(
                    "Cannot exceed quota for RolesPerAccount: {MAX_ROLES}"
                )));
            }
            if let Some(b) = &input.permissions_boundary {
                boundary_policy(tx, &account, b)?;
            }
            let r = Role {
                account_id: account.clone(),
                arn: entity_arn(&account, "role", &path, &name),
                role_name: name,
                role_id: ids::iam_id("AROA"),
                path,
                create_date: now(),
                trust_policy: input.assume_role_policy_document,
                description: input.description,
                max_session_duration: input.max_session_duration.unwrap_or(3600),
                permissions_boundary: input.permissions_boundary,
                tags,
                attached_policies: Vec::new(),
                inline_policies: Vec::new(),
                last_used: None,
            };
            save(tx, &account, &r)?;
            Ok(r)
        })?;
        let mut out = role_out(&role, false);
        out.permissions_boundary = boundary_out(&role.permissions_boundary);
        out.tags = opt_tags(&role.tags);
        Ok(m::CreateRoleResponse { role: out })
    }

    fn get_role(&self, ctx: &RequestContext, input: m::GetRoleRequest) -> R<m::GetRoleResponse> {
        let r = self.read(|tx| load::<Role>(tx, &ctx.account_id, &input.role_name))?;
        Ok(m::GetRoleResponse {
            role: role_out(&r, true),
        })
    }

    fn list_roles(
        &self,
        ctx: &RequestContext,
        input: m::ListRolesRequest,
    ) -> R<m::ListRolesResponse> {
        let prefix = format!("{}/", ctx.account_id);
        let roles: Vec<(String, Role)> = self
            .read(|tx| Ok(scan_all::<Role>(tx, ROLES, &prefix)?))?
            .into_iter()
            .filter(|(_, r)| prefix_ok(&r.path, input.path_prefix.as_deref()))
            .collect();
        let (roles, is_truncated, marker) = page(
            roles,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListRolesResponse {
            roles: roles.iter().map(|(_, r)| role_out(r, false)).collect(),
            is_truncated,
            marker,
        })
    }

    fn update_role(
        &self,
        ctx: &RequestContext,
        input: m::UpdateRoleRequest,
    ) -> R<m::UpdateRoleResponse> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            if let Some(d) = input.description {
                r.description = Some(d);
            }
            if let Some(s) = input.max_session_duration {
                r.max_session_duration = s;
            }
            save(tx, &account, &r)?;
            Ok(m::UpdateRoleResponse {})
        })
    }

    fn update_role_description(
        &self,
        ctx: &RequestContext,
        input: m::UpdateRoleDescriptionRequest,
    ) -> R<m::UpdateRoleDescriptionResponse> {
        let account = ctx.account_id.clone();
        let r = self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            r.description = Some(input.description);
            save(tx, &account, &r)?;
            Ok(r)
        })?;
        Ok(m::UpdateRoleDescriptionResponse {
            role: Some(role_out(&r, true)),
        })
    }

    fn update_assume_role_policy(
        &self,
        ctx: &RequestContext,
        input: m::UpdateAssumeRolePolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            policydoc::validate(&input.policy_document, DocKind::Trust)?;
            r.trust_policy = input.policy_document;
            save(tx, &account, &r)?;
            Ok(Unit {})
        })
    }

    fn delete_role(&self, ctx: &RequestContext, input: m::DeleteRoleRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let r = load::<Role>(tx, &account, &input.role_name)?;
            no_policies_left(&r)?;
            crate::profiles::check_role_unused(tx, &account, &r.role_name)?;
            tx.delete(ROLES, &name_key(&account, &r.role_name))?;
            Ok(Unit {})
        })
    }

    fn tag_role(&self, ctx: &RequestContext, input: m::TagRoleRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            merge_tags(&mut r.tags, &input.tags)?;
            save(tx, &account, &r)?;
            Ok(Unit {})
        })
    }

    fn untag_role(&self, ctx: &RequestContext, input: m::UntagRoleRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            remove_tags(&mut r.tags, &input.tag_keys);
            save(tx, &account, &r)?;
            Ok(Unit {})
        })
    }

    // ---- instance profiles (crates/identity/src/profiles.rs) ---------------------------------

    fn create_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::CreateInstanceProfileRequest,
    ) -> R<m::CreateInstanceProfileResponse> {
        let p = crate::profiles::create(&self.id, ctx, input)?;
        let instance_profile =
            self.read(|tx| crate::profiles::out(tx, &p, |r| role_out(r, false)))?;
        Ok(m::CreateInstanceProfileResponse { instance_profile })
    }

    fn get_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::GetInstanceProfileRequest,
    ) -> R<m::GetInstanceProfileResponse> {
        let p = crate::profiles::get(&self.id, ctx, &input.instance_profile_name)?;
        let instance_profile =
            self.read(|tx| crate::profiles::out(tx, &p, |r| role_out(r, true)))?;
        Ok(m::GetInstanceProfileResponse { instance_profile })
    }

    fn delete_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::DeleteInstanceProfileRequest,
    ) -> R<Unit> {
        crate::profiles::delete(&self.id, ctx, input.instance_profile_name)?;
        Ok(Unit {})
    }

    fn add_role_to_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::AddRoleToInstanceProfileRequest,
    ) -> R<Unit> {
        crate::profiles::add_role(&self.id, ctx, input.instance_profile_name, input.role_name)?;
        Ok(Unit {})
    }

    fn remove_role_from_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::RemoveRoleFromInstanceProfileRequest,
    ) -> R<Unit> {
        crate::profiles::remove_role(&self.id, ctx, input.instance_profile_name, input.role_name)?;
        Ok(Unit {})
    }

    fn list_instance_profiles(
        &self,
        ctx: &RequestContext,
        input: m::ListInstanceProfilesRequest,
    ) -> R<m::ListInstanceProfilesResponse> {
        let prefix = input.path_prefix.clone();
        let (instance_profiles, is_truncated, marker) = self.profiles_page(
            |tx| {
                let all = crate::profiles::all(tx, &ctx.account_id)?;
                Ok(all
                    .into_iter()
                    .filter(|p| prefix_ok(&p.path, prefix.as_deref()))
                    .collect())
            },
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListInstanceProfilesResponse {
            instance_profiles,
            is_truncated,
            marker,
        })
    }

    fn list_instance_profiles_for_role(
        &self,
        ctx: &RequestContext,
        input: m::ListInstanceProfilesForRoleRequest,
    ) -> R<m::ListInstanceProfilesForRoleResponse> {
        let (instance_profiles, is_truncated, marker) = self.profiles_page(
            |tx| {
                let role = load::<Role>(tx, &ctx.account_id, &input.role_name)?;
                crate::profiles::of_role(tx, &ctx.account_id, &role.role_name)
            },
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListInstanceProfilesForRoleResponse {
            instance_profiles,
            is_truncated,
            marker,
        })
    }

    fn tag_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::TagInstanceProfileRequest,
    ) -> R<Unit> {
        crate::profiles::tag(&self.id, ctx, input.instance_profile_name, input.tags)?;
        Ok(Unit {})
    }

    fn untag_instance_profile(
        &self,
        ctx: &RequestContext,
        input: m::UntagInstanceProfileRequest,
    ) -> R<Unit> {
        crate::profiles::untag(&self.id, ctx, input.instance_profile_name, input.tag_keys)?;
        Ok(Unit {})
    }

    fn list_instance_profile_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListInstanceProfileTagsRequest,
    ) -> R<m::ListInstanceProfileTagsResponse> {
        let p = crate::profiles::get(&self.id, ctx, &input.instance_profile_name)?;
        let (tags, is_truncated, marker) =
            tags_page(&p.tags, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListInstanceProfileTagsResponse {
            tags,
            is_truncated,
            marker,
        })
    }

    fn list_role_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListRoleTagsRequest,
    ) -> R<m::ListRoleTagsResponse> {
        let r = self.read(|tx| load::<Role>(tx, &ctx.account_id, &input.role_name))?;
        let (tags, is_truncated, marker) =
            tags_page(&r.tags, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListRoleTagsResponse {
            tags,
            is_truncated,
            marker,
        })
    }

    fn put_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: m::PutRolePermissionsBoundaryRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            boundary_policy(tx, &account, &input.permissions_boundary)?;
            r.permissions_boundary = Some(input.permissions_boundary);
            save(tx, &account, &r)?;
            Ok(Unit {})
        })
    }

    fn delete_role_permissions_boundary(
        &self,
        ctx: &RequestContext,
        input: m::DeleteRolePermissionsBoundaryRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let mut r = load::<Role>(tx, &account, &input.role_name)?;
            r.permissions_boundary = None;
            save(tx, &account, &r)?;
            Ok(Unit {})
        })
    }

    // ---- managed policies -----------------------------------------------------------------

    fn create_policy(
        &self,
        ctx: &RequestContext,
        input: m::CreatePolicyRequest,
    ) -> R<m::CreatePolicyResponse> {
        let account = ctx.account_id.clone();
        policydoc::validate(&input.policy_document, DocKind::Managed)?;
        let tags = tags_in(input.tags.as_deref())?;
        let path = path_or_root(input.path);
        let p = self.write(move |tx| {
            let name = input.policy_name;
            if tx.get(POLICIES, &name_key(&account, &name))?.is_some() {
                return fail(m::entity_already_exists_exception(format!(
                    "A policy called {name} already exists. Duplicate names are not allowed."
                )));
            }
            if count(tx, POLICIES, &format!("{account}/"), MAX_POLICIES + 1)? >= MAX_POLICIES {
                return fail(m::limit_exceeded_exception(format!(
                    "Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES}"
                )));
            }
            let created = now();
            let p = ManagedPolicy {
                account_id: account.clone(),
                arn: entity_arn(&account, "policy", &path, &name),
                policy_name: name,
                policy_id: ids::iam_id("ANPA"),
                path,
                description: input.description,
                create_date: created.clone(),
                update_date: created.clone(),
                default_version: "v1".into(),
                next_version: 2,
                versions: vec![PolicyVersionRec {
                    version_id: "v1".into(),
                    document: input.policy_document,
                    create_date: created,
                }],
                tags,
            };
            save_policy(tx, &p)?;
            Ok(p)
        })?;
        let mut out = policy_out(&p, &Usage::default(), true);
        // CreatePolicy answers without the description.
        out.description = None;
        Ok(m::CreatePolicyResponse { policy: Some(out) })
    }

    fn get_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetPolicyRequest,
    ) -> R<m::GetPolicyResponse> {
        let account = &ctx.account_id;
        let arn = &input.policy_arn;
        let policy = self.read(|tx| {
            let found = find_policy(tx, account, arn)?;
            let usage = Usage::of(tx, account)?;
            match found {
                Some(AnyPolicy::Aws(a)) => Ok(aws_policy_out(a, &usage, true)),
                Some(AnyPolicy::Customer(p)) => Ok(policy_out(&p, &usage, true)),
                None => fail(policy_not_found(arn)),
            }
        })?;
        Ok(m::GetPolicyResponse {
            policy: Some(policy),
        })
    }

    fn list_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListPoliciesRequest,
    ) -> R<m::ListPoliciesResponse> {
        let account = &ctx.account_id;
        let scope = input.scope.unwrap_or(m::PolicyScopeType::All);
        let (local, usage) = self.read(|tx| {
            let local = if scope == m::PolicyScopeType::Aws {
                Vec::new()
            } else {
                scan_all::<ManagedPolicy>(tx, POLICIES, &format!("{account}/"))?
            };
            Ok((local, Usage::of(tx, account)?))
        })?;
        let mut all: Vec<m::Policy> = local
            .iter()
            .map(|(_, p)| policy_out(p, &usage, false))
            .collect();
        if scope != m::PolicyScopeType::Local {
            all.extend(
                policydoc::AWS_MANAGED
                    .iter()
                    .map(|a| aws_policy_out(a, &usage, false)),
            );
        }
        let only_attached = input.only_attached.unwrap_or(false);
        let mut all: Vec<m::Policy> = all
            .into_iter()
            .filter(|p| {
                prefix_ok(
                    p.path.as_deref().unwrap_or("/"),
                    input.path_prefix.as_deref(),
                )
            })
            .filter(|p| {
                let attached = p.attachment_count.unwrap_or(0) > 0;
                let boundary = p.permissions_boundary_usage_count.unwrap_or(0) > 0;
                match input.policy_usage_filter {
                    Some(m::PolicyUsageType::PermissionsPolicy) => attached,
                    Some(m::PolicyUsageType::PermissionsBoundary) => boundary,
                    None => !only_attached || attached || boundary,
                }
            })
            .collect();
        let sort_key = |p: &m::Policy| {
            format!(
                "{}\n{}",
                p.policy_name.as_deref().unwrap_or("").to_ascii_lowercase(),
                p.arn.as_deref().unwrap_or("")
            )
        };
        all.sort_by_key(sort_key);
        let (policies, is_truncated, marker) =
            page(all, sort_key, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListPoliciesResponse {
            policies: Some(policies),
            is_truncated,
            marker,
        })
    }

    fn delete_policy(&self, ctx: &RequestContext, input: m::DeletePolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        self.write(move |tx| {
            let p = own_policy(tx, &caller, &account, &input.policy_arn, "DeletePolicy")?;
            let usage = Usage::of(tx, &account)?;
            if usage.attachments(&p.arn) > 0 || usage.boundaries(&p.arn) > 0 {
                return fail(m::delete_conflict_exception(
                    "Cannot delete a policy attached to entities.",
                ));
            }
            if p.versions.len() > 1 {
                return fail(m::delete_conflict_exception(
                    "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
                ));
            }
            tx.delete(POLICIES, &name_key(&account, &p.policy_name))?;
            Ok(Unit {})
        })
    }

    fn create_policy_version(
        &self,
        ctx: &RequestContext,
        input: m::CreatePolicyVersionRequest,
    ) -> R<m::CreatePolicyVersionResponse> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        let (v, default) = self.write(move |tx| {
            let mut p = own_policy(tx, &caller, &account, &input.policy_arn, "CreatePolicyVersion")?;
            policydoc::validate(&input.policy_document, DocKind::Managed)?;
            if p.versions.len() >= MAX_POLICY_VERSIONS {
                return fail(m::limit_exceeded_exception(
                    "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
                ));
            }
            let v = PolicyVersionRec {
                version_id: format!("v{}", p.next_version),
                document: input.policy_document,
                create_date: now(),
            };
            p.next_version = p.next_version.saturating_add(1);
            if input.set_as_default.unwrap_or(false) {
                p.default_version = v.version_id.clone();
                p.update_date = v.create_date.clone();
            }
            p.versions.push(v.clone());
            save_policy(tx, &p)?;
            Ok((v, p.default_version))
        })?;
        Ok(m::CreatePolicyVersionResponse {
            policy_version: Some(version_out(&v, &default, false)),
        })
    }

    fn get_policy_version(
        &self,
        ctx: &RequestContext,
        input: m::GetPolicyVersionRequest,
    ) -> R<m::GetPolicyVersionResponse> {
        let account = &ctx.account_id;
        let arn = &input.policy_arn;
        let vid = &input.version_id;
        let missing = || {
            m::no_such_entity_exception(format!(
                "Policy {arn} version {vid} does not exist or is not attachable."
            ))
        };
        let v = self.read(|tx| match find_policy(tx, account, arn)? {
            Some(AnyPolicy::Aws(a)) if a.version == vid.as_str() => Ok(aws_version_out(a, true)),
            Some(AnyPolicy::Customer(p)) => {
                match p.versions.iter().find(|v| v.version_id == *vid) {
                    Some(v) => Ok(version_out(v, &p.default_version, true)),
                    None => fail(missing()),
                }
            }
            _ => fail(missing()),
        })?;
        Ok(m::GetPolicyVersionResponse {
            policy_version: Some(v),
        })
    }

    fn list_policy_versions(
        &self,
        ctx: &RequestContext,
        input: m::ListPolicyVersionsRequest,
    ) -> R<m::ListPolicyVersionsResponse> {
        let account = &ctx.account_id;
        let arn = &input.policy_arn;
        let versions = self.read(|tx| match find_policy(tx, account, arn)? {
            Some(AnyPolicy::Aws(a)) => Ok(vec![aws_version_out(a, false)]),
            Some(AnyPolicy::Customer(p)) => {
                let mut vs: Vec<&PolicyVersionRec> = p.versions.iter().collect();
                // Newest first.
                vs.sort_by_key(|v| std::cmp::Reverse(version_number(&v.version_id)));
                Ok(vs
                    .into_iter()
                    .map(|v| version_out(v, &p.default_version, false))
                    .collect())
            }
            None => fail(policy_not_found(arn)),
        })?;
        let (versions, is_truncated, marker) = page(
            versions,
            |v| {
                format!(
                    "{:010}",
                    u32::MAX - version_number(v.version_id.as_deref().unwrap_or(""))
                )
            },
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListPolicyVersionsResponse {
            versions: Some(versions),
            is_truncated,
            marker,
        })
    }

    fn delete_policy_version(
        &self,
        ctx: &RequestContext,
        input: m::DeletePolicyVersionRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        self.write(move |tx| {
            let mut p = own_policy(
                tx,
                &caller,
                &account,
                &input.policy_arn,
                "DeletePolicyVersion",
            )?;
            let vid = input.version_id;
            if !p.versions.iter().any(|v| v.version_id == vid) {
                return fail(m::no_such_entity_exception(format!(
                    "Policy {} version {vid} does not exist or is not attachable.",
                    p.arn
                )));
            }
            if p.default_version == vid {
                return fail(m::delete_conflict_exception(
                    "Cannot delete the default version of a policy.",
                ));
            }
            p.versions.retain(|v| v.version_id != vid);
            save_policy(tx, &p)?;
            Ok(Unit {})
        })
    }

    fn set_default_policy_version(
        &self,
        ctx: &RequestContext,
        input: m::SetDefaultPolicyVersionRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        self.write(move |tx| {
            let mut p = own_policy(
                tx,
                &caller,
                &account,
                &input.policy_arn,
                "SetDefaultPolicyVersion",
            )?;
            let vid = input.version_id;
            if !p.versions.iter().any(|v| v.version_id == vid) {
                return fail(m::no_such_entity_exception(format!(
                    "Policy {} version {vid} does not exist or is not attachable.",
                    p.arn
                )));
            }
            p.default_version = vid;
            p.update_date = now();
            save_policy(tx, &p)?;
            Ok(Unit {})
        })
    }

    fn tag_policy(&self, ctx: &RequestContext, input: m::TagPolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        self.write(move |tx| {
            let mut p = own_policy(tx, &caller, &account, &input.policy_arn, "TagPolicy")?;
            merge_tags(&mut p.tags, &input.tags)?;
            save_policy(tx, &p)?;
            Ok(Unit {})
        })
    }

    fn untag_policy(&self, ctx: &RequestContext, input: m::UntagPolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        let caller = ctx.principal.arn.clone();
        self.write(move |tx| {
            let mut p = own_policy(tx, &caller, &account, &input.policy_arn, "UntagPolicy")?;
            remove_tags(&mut p.tags, &input.tag_keys);
            save_policy(tx, &p)?;
            Ok(Unit {})
        })
    }

    fn list_policy_tags(
        &self,
        ctx: &RequestContext,
        input: m::ListPolicyTagsRequest,
    ) -> R<m::ListPolicyTagsResponse> {
        let account = &ctx.account_id;
        let arn = &input.policy_arn;
        let tags = self.read(|tx| match find_policy(tx, account, arn)? {
            Some(AnyPolicy::Aws(_)) => Ok(Vec::new()),
            Some(AnyPolicy::Customer(p)) => Ok(p.tags),
            None => fail(policy_not_found(arn)),
        })?;
        let (tags, is_truncated, marker) =
            tags_page(&tags, input.marker.as_deref(), input.max_items)?;
        Ok(m::ListPolicyTagsResponse {
            tags,
            is_truncated,
            marker,
        })
    }

    // ---- attachments ----------------------------------------------------------------------

    fn attach_user_policy(
        &self,
        ctx: &RequestContext,
        input: m::AttachUserPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| attach::<User>(tx, &account, &input.user_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn attach_group_policy(
        &self,
        ctx: &RequestContext,
        input: m::AttachGroupPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| attach::<Group>(tx, &account, &input.group_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn attach_role_policy(
        &self,
        ctx: &RequestContext,
        input: m::AttachRolePolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| attach::<Role>(tx, &account, &input.role_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn detach_user_policy(
        &self,
        ctx: &RequestContext,
        input: m::DetachUserPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| detach::<User>(tx, &account, &input.user_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn detach_group_policy(
        &self,
        ctx: &RequestContext,
        input: m::DetachGroupPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| detach::<Group>(tx, &account, &input.group_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn detach_role_policy(
        &self,
        ctx: &RequestContext,
        input: m::DetachRolePolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| detach::<Role>(tx, &account, &input.role_name, &input.policy_arn))?;
        Ok(Unit {})
    }

    fn list_attached_user_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListAttachedUserPoliciesRequest,
    ) -> R<m::ListAttachedUserPoliciesResponse> {
        let (attached, is_truncated, marker) = self.read(|tx| {
            list_attached::<User>(
                tx,
                &ctx.account_id,
                &input.user_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListAttachedUserPoliciesResponse {
            attached_policies: Some(attached),
            is_truncated,
            marker,
        })
    }

    fn list_attached_group_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListAttachedGroupPoliciesRequest,
    ) -> R<m::ListAttachedGroupPoliciesResponse> {
        let (attached, is_truncated, marker) = self.read(|tx| {
            list_attached::<Group>(
                tx,
                &ctx.account_id,
                &input.group_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListAttachedGroupPoliciesResponse {
            attached_policies: Some(attached),
            is_truncated,
            marker,
        })
    }

    fn list_attached_role_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListAttachedRolePoliciesRequest,
    ) -> R<m::ListAttachedRolePoliciesResponse> {
        let (attached, is_truncated, marker) = self.read(|tx| {
            list_attached::<Role>(
                tx,
                &ctx.account_id,
                &input.role_name,
                input.path_prefix.as_deref(),
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListAttachedRolePoliciesResponse {
            attached_policies: Some(attached),
            is_truncated,
            marker,
        })
    }

    fn list_entities_for_policy(
        &self,
        ctx: &RequestContext,
        input: m::ListEntitiesForPolicyRequest,
    ) -> R<m::ListEntitiesForPolicyResponse> {
        let account = &ctx.account_id;
        let arn = &input.policy_arn;
        let usage = input.policy_usage_filter;
        let wants = |attached: &[String], boundary: Option<&str>| match usage {
            Some(m::PolicyUsageType::PermissionsPolicy) => attached.iter().any(|a| a == arn),
            Some(m::PolicyUsageType::PermissionsBoundary) => boundary == Some(arn.as_str()),
            None => attached.iter().any(|a| a == arn) || boundary == Some(arn.as_str()),
        };
        let filter = input.entity_filter;
        let want_kind = |k: m::EntityType| filter.is_none_or(|f| f == k);
        let prefix = input.path_prefix.as_deref();
        let (users, groups, roles) = self.read(|tx| {
            if find_policy(tx, account, arn)?.is_none() {
                return fail(policy_not_found(arn));
            }
            let all = format!("{account}/");
            let users: Vec<m::PolicyUser> = if want_kind(m::EntityType::User) {
                scan_all::<User>(tx, USERS, &all)?
                    .into_iter()
                    .filter(|(_, u)| prefix_ok(&u.path, prefix))
                    .filter(|(_, u)| wants(&u.attached_policies, u.permissions_boundary.as_deref()))
                    .map(|(_, u)| m::PolicyUser {
                        user_name: Some(u.user_name),
                        user_id: Some(u.user_id),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let groups: Vec<m::PolicyGroup> = if want_kind(m::EntityType::Group) {
                scan_all::<Group>(tx, GROUPS, &all)?
                    .into_iter()
                    .filter(|(_, g)| prefix_ok(&g.path, prefix))
                    .filter(|(_, g)| wants(&g.attached_policies, None))
                    .map(|(_, g)| m::PolicyGroup {
                        group_name: Some(g.group_name),
                        group_id: Some(g.group_id),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let roles: Vec<m::PolicyRole> = if want_kind(m::EntityType::Role) {
                scan_all::<Role>(tx, ROLES, &all)?
                    .into_iter()
                    .filter(|(_, r)| prefix_ok(&r.path, prefix))
                    .filter(|(_, r)| wants(&r.attached_policies, r.permissions_boundary.as_deref()))
                    .map(|(_, r)| m::PolicyRole {
                        role_name: Some(r.role_name),
                        role_id: Some(r.role_id),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok((users, groups, roles))
        })?;
        // One sequence (groups, users, roles, each by name) paged by MaxItems/Marker.
        let mut items: Vec<(String, Entity3)> = Vec::new();
        items.extend(groups.into_iter().map(|g| {
            let k = format!(
                "0{}",
                g.group_name
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            );
            (k, Entity3::Group(g))
        }));
        items.extend(users.into_iter().map(|u| {
            let k = format!(
                "1{}",
                u.user_name
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            );
            (k, Entity3::User(u))
        }));
        items.extend(roles.into_iter().map(|r| {
            let k = format!(
                "2{}",
                r.role_name
                    .as_deref()
                    .unwrap_or_default()
                    .to_ascii_lowercase()
            );
            (k, Entity3::Role(r))
        }));
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (items, truncated, marker) = page(
            items,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        let (mut groups, mut users, mut roles) = (Vec::new(), Vec::new(), Vec::new());
        for (_, e) in items {
            match e {
                Entity3::Group(g) => groups.push(g),
                Entity3::User(u) => users.push(u),
                Entity3::Role(r) => roles.push(r),
            }
        }
        Ok(m::ListEntitiesForPolicyResponse {
            policy_groups: Some(groups),
            policy_users: Some(users),
            policy_roles: Some(roles),
            is_truncated: truncated,
            marker,
        })
    }

    // ---- inline policies ------------------------------------------------------------------

    fn put_user_policy(&self, ctx: &RequestContext, input: m::PutUserPolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            put_inline::<User>(
                tx,
                &account,
                &input.user_name,
                &input.policy_name,
                input.policy_document,
            )
        })?;
        Ok(Unit {})
    }

    fn put_group_policy(&self, ctx: &RequestContext, input: m::PutGroupPolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            put_inline::<Group>(
                tx,
                &account,
                &input.group_name,
                &input.policy_name,
                input.policy_document,
            )
        })?;
        Ok(Unit {})
    }

    fn put_role_policy(&self, ctx: &RequestContext, input: m::PutRolePolicyRequest) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            put_inline::<Role>(
                tx,
                &account,
                &input.role_name,
                &input.policy_name,
                input.policy_document,
            )
        })?;
        Ok(Unit {})
    }

    fn get_user_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetUserPolicyRequest,
    ) -> R<m::GetUserPolicyResponse> {
        let (user_name, policy_name, policy_document) = self.read(|tx| {
            get_inline::<User>(tx, &ctx.account_id, &input.user_name, &input.policy_name)
        })?;
        Ok(m::GetUserPolicyResponse {
            user_name,
            policy_name,
            policy_document,
        })
    }

    fn get_group_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetGroupPolicyRequest,
    ) -> R<m::GetGroupPolicyResponse> {
        let (group_name, policy_name, policy_document) = self.read(|tx| {
            get_inline::<Group>(tx, &ctx.account_id, &input.group_name, &input.policy_name)
        })?;
        Ok(m::GetGroupPolicyResponse {
            group_name,
            policy_name,
            policy_document,
        })
    }

    fn get_role_policy(
        &self,
        ctx: &RequestContext,
        input: m::GetRolePolicyRequest,
    ) -> R<m::GetRolePolicyResponse> {
        let (role_name, policy_name, policy_document) = self.read(|tx| {
            get_inline::<Role>(tx, &ctx.account_id, &input.role_name, &input.policy_name)
        })?;
        Ok(m::GetRolePolicyResponse {
            role_name,
            policy_name,
            policy_document,
        })
    }

    fn list_user_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListUserPoliciesRequest,
    ) -> R<m::ListUserPoliciesResponse> {
        let (policy_names, is_truncated, marker) = self.read(|tx| {
            list_inline::<User>(
                tx,
                &ctx.account_id,
                &input.user_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListUserPoliciesResponse {
            policy_names,
            is_truncated,
            marker,
        })
    }

    fn list_group_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListGroupPoliciesRequest,
    ) -> R<m::ListGroupPoliciesResponse> {
        let (policy_names, is_truncated, marker) = self.read(|tx| {
            list_inline::<Group>(
                tx,
                &ctx.account_id,
                &input.group_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListGroupPoliciesResponse {
            policy_names,
            is_truncated,
            marker,
        })
    }

    fn list_role_policies(
        &self,
        ctx: &RequestContext,
        input: m::ListRolePoliciesRequest,
    ) -> R<m::ListRolePoliciesResponse> {
        let (policy_names, is_truncated, marker) = self.read(|tx| {
            list_inline::<Role>(
                tx,
                &ctx.account_id,
                &input.role_name,
                input.marker.as_deref(),
                input.max_items,
            )
        })?;
        Ok(m::ListRolePoliciesResponse {
            policy_names,
            is_truncated,
            marker,
        })
    }

    fn delete_user_policy(
        &self,
        ctx: &RequestContext,
        input: m::DeleteUserPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            delete_inline::<User>(tx, &account, &input.user_name, &input.policy_name)
        })?;
        Ok(Unit {})
    }

    fn delete_group_policy(
        &self,
        ctx: &RequestContext,
        input: m::DeleteGroupPolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            delete_inline::<Group>(tx, &account, &input.group_name, &input.policy_name)
        })?;
        Ok(Unit {})
    }

    fn delete_role_policy(
        &self,
        ctx: &RequestContext,
        input: m::DeleteRolePolicyRequest,
    ) -> R<Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            delete_inline::<Role>(tx, &account, &input.role_name, &input.policy_name)
        })?;
        Ok(Unit {})
    }

    // ---- access keys ----------------------------------------------------------------------

    fn create_access_key(
        &self,
        ctx: &RequestContext,
        input: m::CreateAccessKeyRequest,
    ) -> R<m::CreateAccessKeyResponse> {
        let user_name = key_user(ctx, input.user_name)?;
        let account = ctx.account_id.clone();
        let akid = ids::iam_id("AKIA");
        let secret = Zeroizing::new(ids::secret_access_key());
        let wrapped = self
            .id
            .wrap(&crate::records::key_aad(&akid), secret.as_bytes())
            .map_err(AwsError::from)?;
        let created = now();
        let (akid_w, created_w) = (akid.clone(), created.clone());
        let user = self.write(move |tx| {
            let user = load::<User>(tx, &account, &user_name)?;
            if keys_of(tx, &account, &user.user_name)?.len() >= MAX_KEYS_PER_USER {
                return fail(m::limit_exceeded_exception(format!(
                    "Cannot exceed quota for AccessKeysPerUser: {MAX_KEYS_PER_USER}"
                )));
            }
            let rec = AccessKeyRecord {
                access_key_id: akid_w.clone(),
                account_id: account.clone(),
                user_name: user.user_name.clone(),
                status: KeyStatus::Active,
                create_date: created_w,
                secret_wrapped: wrapped,
            };
            tx.put_json(KEYS, &akid_w, &rec)?;
            tx.put_json(
                KEYS_BY_USER,
                &format!("{}{akid_w}", user_keys_prefix(&account, &user.user_name)),
                &akid_w,
            )?;
            Ok(user.user_name)
        })?;
        Ok(m::CreateAccessKeyResponse {
            access_key: m::AccessKey {
                user_name: user,
                access_key_id: akid,
                status: m::StatusType::Active,
                secret_access_key: secret.to_string(),
                create_date: Some(ts(&created)),
            },
        })
    }

    fn list_access_keys(
        &self,
        ctx: &RequestContext,
        input: m::ListAccessKeysRequest,
    ) -> R<m::ListAccessKeysResponse> {
        if input.user_name.is_none() && ctx.principal.kind == PrincipalKind::Root {
            // The root user's own keys: Rampart creates none.
            return Ok(m::ListAccessKeysResponse {
                access_key_metadata: Vec::new(),
                is_truncated: Some(false),
                marker: None,
            });
        }
        let user_name = key_user(ctx, input.user_name)?;
        let account = &ctx.account_id;
        let keys = self.read(|tx| {
            let user = load::<User>(tx, account, &user_name)?;
            keys_of(tx, account, &user.user_name)
        })?;
        let (keys, is_truncated, marker) = page(
            keys,
            |k| k.access_key_id.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        Ok(m::ListAccessKeysResponse {
            access_key_metadata: keys
                .iter()
                .map(|k| m::AccessKeyMetadata {
                    user_name: Some(k.user_name.clone()),
                    access_key_id: Some(k.access_key_id.clone()),
                    status: Some(match k.status {
                        KeyStatus::Active => m::StatusType::Active,
                        KeyStatus::Inactive => m::StatusType::Inactive,
                    }),
                    create_date: Some(ts(&k.create_date)),
                })
                .collect(),
            is_truncated,
            marker,
        })
    }

    fn update_access_key(&self, ctx: &RequestContext, input: m::UpdateAccessKeyRequest) -> R<Unit> {
        let user_name = key_user(ctx, input.user_name)?;
        let status = match input.status {
            m::StatusType::Active => KeyStatus::Active,
            m::StatusType::Inactive => KeyStatus::Inactive,
            m::StatusType::Expired => {
                return Err(validation(
                    "Access key status can only be set to Active or Inactive.",
                ))
            }
        };
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let user = load::<User>(tx, &account, &user_name)?;
            let mut k = key_of_user(tx, &account, &user.user_name, &input.access_key_id)?;
            k.status = status;
            tx.put_json(KEYS, &k.access_key_id, &k)?;
            Ok(Unit {})
        })
    }

    fn delete_access_key(&self, ctx: &RequestContext, input: m::DeleteAccessKeyRequest) -> R<Unit> {
        let user_name = key_user(ctx, input.user_name)?;
        let account = ctx.account_id.clone();
        let akid = input.access_key_id;
        let akid_w = akid.clone();
        self.write(move |tx| {
            let user = load::<User>(tx, &account, &user_name)?;
            let k = key_of_user(tx, &account, &user.user_name, &akid_w)?;
            tx.delete(KEYS, &k.access_key_id)?;
            tx.delete(
                KEYS_BY_USER,
                &format!(
                    "{}{}",
                    user_keys_prefix(&account, &user.user_name),
                    k.access_key_id
                ),
            )?;
            tx.delete(KEYS_LAST_USED, &k.access_key_id)?;
            Ok(Unit {})
        })?;
        self.id.forget_key_use(&akid);
        Ok(Unit {})
    }

    fn get_access_key_last_used(
        &self,
        ctx: &RequestContext,
        input: m::GetAccessKeyLastUsedRequest,
    ) -> R<m::GetAccessKeyLastUsedResponse> {
        let akid = &input.access_key_id;
        let (user, used) = self.read(|tx| {
            let Some(k) = tx
                .get_json::<AccessKeyRecord>(KEYS, akid)?
                .filter(|k| k.account_id == ctx.account_id)
            else {
                return fail(key_not_found(akid));
            };
            Ok((k.user_name, self.id.last_used(tx, akid)?))
        })?;
        let last = match used {
            Some(u) => m::AccessKeyLastUsed {
                last_used_date: Some(ts(&u.date)),
                service_name: u.service,
                region: u.region,
            },
            None => m::AccessKeyLastUsed {
                last_used_date: None,
                service_name: "N/A".into(),
                region: "N/A".into(),
            },
        };
        Ok(m::GetAccessKeyLastUsedResponse {
            user_name: Some(user),
            access_key_last_used: Some(last),
        })
    }

    // ---- the whole account ----------------------------------------------------------------

    fn get_account_authorization_details(
        &self,
        ctx: &RequestContext,
        input: m::GetAccountAuthorizationDetailsRequest,
    ) -> R<m::GetAccountAuthorizationDetailsResponse> {
        let account = &ctx.account_id;
        let filter = input.filter.unwrap_or_default();
        let want = |k: m::EntityType| filter.is_empty() || filter.contains(&k);
        let all = format!("{account}/");
        let (users, groups, roles, policies, usage, profiles) = self.read(|tx| {
            let users = if want(m::EntityType::User) {
                scan_all::<User>(tx, USERS, &all)?
            } else {
                Vec::new()
            };
            let groups = if want(m::EntityType::Group) {
                scan_all::<Group>(tx, GROUPS, &all)?
            } else {
                Vec::new()
            };
            let roles = if want(m::EntityType::Role) {
                scan_all::<Role>(tx, ROLES, &all)?
            } else {
                Vec::new()
            };
            let policies = if want(m::EntityType::LocalManagedPolicy) {
                scan_all::<ManagedPolicy>(tx, POLICIES, &all)?
            } else {
                Vec::new()
            };
            let profiles = if want(m::EntityType::Role) {
                crate::profiles::all(tx, account)?
                    .into_iter()
                    .map(|p| {
                        let role = p.roles.first().map(|r| r.to_ascii_lowercase());
                        crate::profiles::out(tx, &p, |r| role_out(r, false)).map(|o| (role, o))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            } else {
                Vec::new()
            };
            Ok((
                users,
                groups,
                roles,
                policies,
                Usage::of(tx, account)?,
                profiles,
            ))
        })?;
        // Group names by key, for the users' group lists (from every group, not one page).
        let group_names: HashMap<String, String> = groups
            .iter()
            .map(|(_, g)| (g.group_name.to_ascii_lowercase(), g.group_name.clone()))
            .collect();
        let mut aws_policies: Vec<&policydoc::AwsManaged> = Vec::new();
        if want(m::EntityType::AwsManagedPolicy) {
            // The AWS managed policies in use in the account.
            for a in policydoc::AWS_MANAGED {
                let arn = a.arn();
                if usage.attachments(&arn) > 0 || usage.boundaries(&arn) > 0 {
                    aws_policies.push(a);
                }
            }
        }
        // One sequence (users, groups, roles, policies) paged by MaxItems/Marker.
        let mut items: Vec<(String, Detail)> = Vec::new();
        items.extend(
            users
                .into_iter()
                .map(|(k, u)| (format!("0{k}"), Detail::User(u))),
        );
        items.extend(
            groups
                .into_iter()
                .map(|(k, g)| (format!("1{k}"), Detail::Group(g))),
        );
        items.extend(
            roles
                .into_iter()
                .map(|(k, r)| (format!("2{k}"), Detail::Role(r))),
        );
        items.extend(
            policies
                .into_iter()
                .map(|(k, p)| (format!("3{k}"), Detail::Policy(p))),
        );
        items.extend(
            aws_policies
                .into_iter()
                .map(|a| (format!("4{}", a.name), Detail::Aws(a))),
        );
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let (items, truncated, marker) = page(
            items,
            |(k, _)| k.clone(),
            input.marker.as_deref(),
            input.max_items,
        )?;
        let (mut users, mut groups, mut roles, mut policies, mut aws_policies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (k, d) in items {
            match d {
                Detail::User(u) => users.push((k, u)),
                Detail::Group(g) => groups.push((k, g)),
                Detail::Role(r) => roles.push((k, r)),
                Detail::Policy(p) => policies.push((k, p)),
                Detail::Aws(a) => aws_policies.push(a),
            }
        }
        let user_details = users
            .iter()
            .map(|(_, u)| m::UserDetail {
                path: Some(u.path.clone()),
                user_name: Some(u.user_name.clone()),
                user_id: Some(u.user_id.clone()),
                arn: Some(u.arn.clone()),
                create_date: Some(ts(&u.create_date)),
                user_policy_list: inline_details(&u.inline_policies),
                group_list: Some(
                    u.groups
                        .iter()
                        .map(|g| group_names.get(g).cloned().unwrap_or_else(|| g.clone()))
                        .collect(),
                ),
                attached_managed_policies: Some(attached_out(&u.attached_policies)),
                permissions_boundary: boundary_out(&u.permissions_boundary),
                tags: opt_tags(&u.tags),
            })
            .collect();
        let group_details = groups
            .iter()
            .map(|(_, g)| m::GroupDetail {
                path: Some(g.path.clone()),
                group_name: Some(g.group_name.clone()),
                group_id: Some(g.group_id.clone()),
                arn: Some(g.arn.clone()),
                create_date: Some(ts(&g.create_date)),
                group_policy_list: inline_details(&g.inline_policies),
                attached_managed_policies: Some(attached_out(&g.attached_policies)),
            })
            .collect();
        let role_details = roles
            .iter()
            .map(|(_, r)| m::RoleDetail {
                path: Some(r.path.clone()),
                role_name: Some(r.role_name.clone()),
                role_id: Some(r.role_id.clone()),
                arn: Some(r.arn.clone()),
                create_date: Some(ts(&r.create_date)),
                assume_role_policy_document: Some(policydoc::url_encode(&r.trust_policy)),
                instance_profile_list: Some(
                    profiles
                        .iter()
                        .filter(|(role, _)| {
                            role.as_deref() == Some(&r.role_name.to_ascii_lowercase())
                        })
                        .map(|(_, p)| p.clone())
                        .collect(),
                ),
                role_policy_list: inline_details(&r.inline_policies),
                attached_managed_policies: Some(attached_out(&r.attached_policies)),
                permissions_boundary: boundary_out(&r.permissions_boundary),
                tags: opt_tags(&r.tags),
                role_last_used: Some(role_last_used(r)),
            })
            .collect();
        let mut policy_details: Vec<m::ManagedPolicyDetail> = policies
            .iter()
            .map(|(_, p)| m::ManagedPolicyDetail {
                policy_name: Some(p.policy_name.clone()),
                policy_id: Some(p.policy_id.clone()),
                arn: Some(p.arn.clone()),
                path: Some(p.path.clone()),
                default_version_id: Some(p.default_version.clone()),
                attachment_count: Some(usage.attachments(&p.arn)),
                permissions_boundary_usage_count: Some(usage.boundaries(&p.arn)),
                is_attachable: Some(true),
                description: p.description.clone(),
                create_date: Some(ts(&p.create_date)),
                update_date: Some(ts(&p.update_date)),
                policy_version_list: Some(
                    p.versions
                        .iter()
                        .map(|v| version_out(v, &p.default_version, true))
                        .collect(),
                ),
            })
            .collect();
        {
            for a in aws_policies {
                let arn = a.arn();
                policy_details.push(m::ManagedPolicyDetail {
                    policy_name: Some(a.name.to_string()),
                    policy_id: Some(a.id.to_string()),
                    path: Some(a.path.to_string()),
                    default_version_id: Some(a.version.to_string()),
                    attachment_count: Some(usage.attachments(&arn)),
                    permissions_boundary_usage_count: Some(usage.boundaries(&arn)),
                    is_attachable: Some(true),
                    description: Some(a.description.to_string()),
                    create_date: Some(ts(a.create_date)),
                    update_date: Some(ts(a.update_date)),
                    policy_version_list: Some(vec![aws_version_out(a, true)]),
                    arn: Some(arn),
                });
            }
        }
        Ok(m::GetAccountAuthorizationDetailsResponse {
            user_detail_list: Some(user_details),
            group_detail_list: Some(group_details),
            role_detail_list: Some(role_details),
            policies: Some(policy_details),
            is_truncated: truncated,
            marker,
        })
    }
}

/// An entity of ListEntitiesForPolicy's one paged sequence.
enum Entity3 {
    Group(m::PolicyGroup),
    User(m::PolicyUser),
    Role(m::PolicyRole),
}

/// An item of GetAccountAuthorizationDetails' one paged sequence.
enum Detail {
    User(User),
    Group(Group),
    Role(Role),
    Policy(ManagedPolicy),
    Aws(&'static policydoc::AwsManaged),
}

/// The number of a version id `v<n>` (0 when it is not one).
fn version_number(v: &str) -> u32 {
    v.strip_prefix('v')
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}
