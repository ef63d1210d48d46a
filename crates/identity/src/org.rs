//! AWS Organizations (`organizations`, JSON 1.1): the accounts a node serves beyond the one it
//! bootstrapped. The bootstrapped account creates an organization (`CreateOrganization`) and
//! becomes its management account; `CreateAccount` makes a member account with the role
//! AWS makes in it (`OrganizationAccountAccessRole` by default: AdministratorAccess, trusting
//! the management account), which the management account's principals reach with
//! `sts:AssumeRole`, as on AWS. Every service keys its resources by account, so a member
//! account is a separate tenant with its own IAM, keys and secrets, and cross-account access
//! needs both sides' policies.
//!
//! Account creation finishes within the call: `CreateAccount` answers the final status
//! (`SUCCEEDED`, or `FAILED` with AWS's reason) and `DescribeCreateAccountStatus` answers it
//! again. Organizational units, policies, handshakes and delegated administrators are not
//! served (`NotImplementedException`).
use crate::records::{now, save, ts, Account, Role, ACCOUNTS};
use crate::{Identity, IdentityError, ADMIN_POLICY};
use rampart_core::{ids, AwsError, RequestContext};
use rampart_model::organizations::{
    self as m, AccountJoinedMethod, AccountState, AccountStatus, CreateAccountFailureReason,
    CreateAccountState, OrganizationFeatureSet, Organizations,
};
use rampart_store::{StoreExt, Tx};
use serde::{Deserialize, Serialize};

type R<T> = Result<T, AwsError>;
type TxR<T> = Result<T, IdentityError>;

/// Organization id -> [`OrgRec`].
const ORGS: &str = "org";
/// Account id -> [`MemberRec`]: the accounts of an organization (the management one too).
const MEMBERS: &str = "org_member";
/// `<org id>/<request id>` -> [`CreateStatusRec`].
const CREATE_STATUS: &str = "org_create_status";
/// AWS's default quota of accounts in an organization.
const MAX_ACCOUNTS: usize = 10;
const DEFAULT_ROLE: &str = "OrganizationAccountAccessRole";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct OrgRec {
    id: String,
    root_id: String,
    feature_set: OrganizationFeatureSet,
    management_account: String,
    created: String,
}

impl OrgRec {
    fn arn(&self) -> String {
        format!(
            "arn:aws:organizations::{}:organization/{}",
            self.management_account, self.id
        )
    }

    fn account_arn(&self, account: &str) -> String {
        format!(
            "arn:aws:organizations::{}:account/{}/{account}",
            self.management_account, self.id
        )
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberRec {
    account_id: String,
    org_id: String,
    name: String,
    email: String,
    joined_method: AccountJoinedMethod,
    joined: String,
    #[serde(default)]
    tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CreateStatusRec {
    id: String,
    account_name: String,
    state: CreateAccountState,
    requested: String,
    completed: Option<String>,
    account_id: Option<String>,
    failure: Option<CreateAccountFailureReason>,
}

impl CreateStatusRec {
    fn out(&self) -> m::CreateAccountStatus {
        m::CreateAccountStatus {
            id: Some(self.id.clone()),
            account_name: Some(self.account_name.clone()),
            state: Some(self.state),
            requested_timestamp: Some(ts(&self.requested)),
            completed_timestamp: self.completed.as_deref().map(ts),
            account_id: self.account_id.clone(),
            gov_cloud_account_id: None,
            failure_reason: self.failure,
        }
    }
}

/// Organizations over an [`Identity`].
pub struct OrgService {
    id: Identity,
}

fn fail<T>(e: AwsError) -> TxR<T> {
    Err(IdentityError::Aws(e))
}

fn not_in_use() -> AwsError {
    m::aws_organizations_not_in_use_exception("Your account is not a member of an organization.")
}

fn management_only() -> AwsError {
    m::access_denied_exception("You don't have permissions to access this resource.")
}

/// `n` random characters of lower-case letters and digits.
fn random_lower(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = vec![0u8; n];
    ids::random_bytes(&mut b);
    b.iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect()
}

/// The caller's organization and membership, if any.
fn membership(tx: &mut dyn Tx, account: &str) -> TxR<Option<(OrgRec, MemberRec)>> {
    let Some(member) = tx.get_json::<MemberRec>(MEMBERS, account)? else {
        return Ok(None);
    };
    let org: Option<OrgRec> = tx.get_json(ORGS, &member.org_id)?;
    Ok(org.map(|o| (o, member)))
}

/// The id of the organization `account` belongs to.
pub(crate) fn org_id_in(tx: &mut dyn Tx, account: &str) -> TxR<Option<String>> {
    Ok(tx
        .get_json::<MemberRec>(MEMBERS, account)?
        .map(|m| m.org_id))
}

/// The caller's organization, which the caller must manage.
fn managed_org(tx: &mut dyn Tx, account: &str) -> TxR<OrgRec> {
    match membership(tx, account)? {
        None => fail(not_in_use()),
        Some((org, _)) if org.management_account != account => fail(management_only()),
        Some((org, _)) => Ok(org),
    }
}

fn members(tx: &mut dyn Tx, org: &OrgRec) -> TxR<Vec<MemberRec>> {
    Ok(crate::records::scan_all::<MemberRec>(tx, MEMBERS, "")?
        .into_iter()
        .map(|(_, m)| m)
        .filter(|m| m.org_id == org.id)
        .collect())
}

fn account_out(org: &OrgRec, m: &MemberRec) -> m::Account {
    m::Account {
        id: Some(m.account_id.clone()),
        arn: Some(org.account_arn(&m.account_id)),
        email: Some(m.email.clone()),
        name: Some(m.name.clone()),
        status: Some(AccountStatus::Active),
        state: Some(AccountState::Active),
        paths: Some(vec![format!("{}/{}/", org.id, org.root_id)]),
        joined_method: Some(m.joined_method),
        joined_timestamp: Some(ts(&m.joined)),
    }
}

fn org_out(tx: &mut dyn Tx, org: &OrgRec) -> TxR<m::Organization> {
    let email = tx
        .get_json::<MemberRec>(MEMBERS, &org.management_account)?
        .map(|m| m.email);
    Ok(m::Organization {
        id: Some(org.id.clone()),
        arn: Some(org.arn()),
        feature_set: Some(org.feature_set),
        master_account_arn: Some(org.account_arn(&org.management_account)),
        master_account_id: Some(org.management_account.clone()),
        master_account_email: email,
        available_policy_types: Some(Vec::new()),
    })
}

/// A page of `items` (sorted by `key`) after the `NextToken` `token`.
fn page<T: Clone>(
    items: &[T],
    key: impl Fn(&T) -> &str,
    token: Option<&str>,
    max: Option<i32>,
    default_max: usize,
) -> R<(Vec<T>, Option<String>)> {
    let start = match token {
        None => 0,
        Some(t) => match items.iter().position(|x| key(x) > t) {
            Some(i) => i,
            None if items.last().is_some_and(|x| key(x) == t) => items.len(),
            None if items.is_empty() => 0,
            None => {
                return Err(
                    m::invalid_input_exception("The provided pagination token is invalid.")
                        .with_field("Reason", "INVALID_NEXT_TOKEN"),
                )
            }
        },
    };
    let max = max.map_or(default_max, |m| usize::try_from(m).unwrap_or(1).max(1));
    let slice: Vec<T> = items.iter().skip(start).take(max).cloned().collect();
    let next = (start + slice.len() < items.len())
        .then(|| slice.last().map(|x| key(x).to_string()))
        .flatten();
    Ok((slice, next))
}

impl OrgService {
    pub fn new(id: Identity) -> Self {
        OrgService { id }
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
}

/// The trust policy of the role `CreateAccount` makes: the management account's principals,
/// as their own identity policies allow.
fn access_role_trust(management: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{management}:root")},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

impl Organizations for OrgService {
    fn create_organization(
        &self,
        ctx: &RequestContext,
        input: m::CreateOrganizationRequest,
    ) -> R<m::CreateOrganizationResponse> {
        let account = ctx.account_id.clone();
        let feature_set = input.feature_set.unwrap_or(OrganizationFeatureSet::All);
        let org = self.write(move |tx| {
            if tx.get(MEMBERS, &account)?.is_some() {
                return fail(m::already_in_organization_exception(
                    "The AWS account is already a member of an organization.",
                ));
            }
            let org = OrgRec {
                id: format!("o-{}", random_lower(10)),
                root_id: format!("r-{}", random_lower(4)),
                feature_set,
                management_account: account.clone(),
                created: now(),
            };
            let member = MemberRec {
                account_id: account.clone(),
                org_id: org.id.clone(),
                name: format!("rampart-{account}"),
                email: format!("{account}@accounts.rampart.invalid"),
                joined_method: AccountJoinedMethod::Invited,
                joined: org.created.clone(),
                tags: Vec::new(),
            };
            tx.put_json(ORGS, &org.id, &org)?;
            tx.put_json(MEMBERS, &account, &member)?;
            org_out(tx, &org)
        })?;
        Ok(m::CreateOrganizationResponse {
            organization: Some(org),
        })
    }

    fn describe_organization(
        &self,
        ctx: &RequestContext,
        _input: rampart_model::Unit,
    ) -> R<m::DescribeOrganizationResponse> {
        let account = ctx.account_id.clone();
        let org = self.read(|tx| match membership(tx, &account)? {
            None => fail(not_in_use()),
            Some((org, _)) => org_out(tx, &org),
        })?;
        Ok(m::DescribeOrganizationResponse {
            organization: Some(org),
        })
    }

    fn delete_organization(
        &self,
        ctx: &RequestContext,
        _input: rampart_model::Unit,
    ) -> R<rampart_model::Unit> {
        let account = ctx.account_id.clone();
        self.write(move |tx| {
            let org = managed_org(tx, &account)?;
            if members(tx, &org)?.len() > 1 {
                return fail(m::organization_not_empty_exception(
                    "To delete an empty organization you must first remove all member accounts (except the master).",
                ));
            }
            tx.delete(MEMBERS, &account)?;
            tx.delete(ORGS, &org.id)?;
            Ok(())
        })?;
        Ok(rampart_model::Unit {})
    }

    fn create_account(
        &self,
        ctx: &RequestContext,
        input: m::CreateAccountRequest,
    ) -> R<m::CreateAccountResponse> {
        let caller = ctx.account_id.clone();
        let role_name = input.role_name.unwrap_or_else(|| DEFAULT_ROLE.to_string());
        let status = self.write(move |tx| {
            let org = managed_org(tx, &caller)?;
            let existing = members(tx, &org)?;
            let mut status = CreateStatusRec {
                id: format!("car-{}", random_lower(32)),
                account_name: input.account_name.clone(),
                state: CreateAccountState::Failed,
                requested: now(),
                completed: Some(now()),
                account_id: None,
                failure: None,
            };
            let email_taken = existing
                .iter()
                .any(|m| m.email.eq_ignore_ascii_case(&input.email));
            if email_taken {
                status.failure = Some(CreateAccountFailureReason::EmailAlreadyExists);
            } else if existing.len() >= MAX_ACCOUNTS {
                status.failure = Some(CreateAccountFailureReason::AccountLimitExceeded);
            } else {
                let account_id = loop {
                    let a = ids::account_id();
                    if tx.get(ACCOUNTS, &a)?.is_none() {
                        break a;
                    }
                };
                let created = now();
                tx.put_json(
                    ACCOUNTS,
                    &account_id,
                    &Account {
                        account_id: account_id.clone(),
                        created: created.clone(),
                    },
                )?;
                let role = Role {
                    account_id: account_id.clone(),
                    role_name: role_name.clone(),
                    role_id: ids::iam_id("AROA"),
                    path: "/".into(),
                    arn: format!("arn:aws:iam::{account_id}:role/{role_name}"),
                    create_date: created.clone(),
                    trust_policy: access_role_trust(&caller),
                    description: None,
                    max_session_duration: 3600,
                    permissions_boundary: None,
                    tags: Vec::new(),
                    attached_policies: vec![ADMIN_POLICY.to_string()],
                    inline_policies: Vec::new(),
                    last_used: None,
                };
                save(tx, &account_id, &role)?;
                let member = MemberRec {
                    account_id: account_id.clone(),
                    org_id: org.id.clone(),
                    name: input.account_name.clone(),
                    email: input.email.clone(),
                    joined_method: AccountJoinedMethod::Created,
                    joined: created,
                    tags: input
                        .tags
                        .unwrap_or_default()
                        .into_iter()
                        .map(|t| (t.key, t.value))
                        .collect(),
                };
                tx.put_json(MEMBERS, &account_id, &member)?;
                status.state = CreateAccountState::Succeeded;
                status.account_id = Some(account_id);
            }
            tx.put_json(CREATE_STATUS, &format!("{}/{}", org.id, status.id), &status)?;
            Ok(status)
        })?;
        Ok(m::CreateAccountResponse {
            create_account_status: Some(status.out()),
        })
    }

    fn describe_create_account_status(
        &self,
        ctx: &RequestContext,
        input: m::DescribeCreateAccountStatusRequest,
    ) -> R<m::DescribeCreateAccountStatusResponse> {
        let account = ctx.account_id.clone();
        let status = self.read(|tx| {
            let org = managed_org(tx, &account)?;
            let key = format!("{}/{}", org.id, input.create_account_request_id);
            match tx.get_json::<CreateStatusRec>(CREATE_STATUS, &key)? {
                Some(s) => Ok(s),
                None => fail(m::create_account_status_not_found_exception(
                    "We can't find an create account request with the CreateAccountRequestId that you specified.",
                )),
            }
        })?;
        Ok(m::DescribeCreateAccountStatusResponse {
            create_account_status: Some(status.out()),
        })
    }

    fn list_create_account_status(
        &self,
        ctx: &RequestContext,
        input: m::ListCreateAccountStatusRequest,
    ) -> R<m::ListCreateAccountStatusResponse> {
        let account = ctx.account_id.clone();
        let all = self.read(|tx| {
            let org = managed_org(tx, &account)?;
            Ok(crate::records::scan_all::<CreateStatusRec>(
                tx,
                CREATE_STATUS,
                &format!("{}/", org.id),
            )?)
        })?;
        let states = input.states.unwrap_or_default();
        let all: Vec<CreateStatusRec> = all
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| states.is_empty() || states.contains(&s.state))
            .collect();
        let (items, next) = page(
            &all,
            |s| s.id.as_str(),
            input.next_token.as_deref(),
            input.max_results,
            20,
        )?;
        Ok(m::ListCreateAccountStatusResponse {
            create_account_statuses: Some(items.iter().map(CreateStatusRec::out).collect()),
            next_token: next,
        })
    }

    fn list_accounts(
        &self,
        ctx: &RequestContext,
        input: m::ListAccountsRequest,
    ) -> R<m::ListAccountsResponse> {
        let account = ctx.account_id.clone();
        let (org, mut all) = self.read(|tx| {
            let org = managed_org(tx, &account)?;
            let all = members(tx, &org)?;
            Ok((org, all))
        })?;
        all.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let (items, next) = page(
            &all,
            |m| m.account_id.as_str(),
            input.next_token.as_deref(),
            input.max_results,
            20,
        )?;
        Ok(m::ListAccountsResponse {
            accounts: Some(items.iter().map(|m| account_out(&org, m)).collect()),
            next_token: next,
        })
    }

    fn describe_account(
        &self,
        ctx: &RequestContext,
        input: m::DescribeAccountRequest,
    ) -> R<m::DescribeAccountResponse> {
        let account = ctx.account_id.clone();
        let out = self.read(|tx| {
            let org = managed_org(tx, &account)?;
            match tx.get_json::<MemberRec>(MEMBERS, &input.account_id)? {
                Some(m) if m.org_id == org.id => Ok(account_out(&org, &m)),
                _ => fail(m::account_not_found_exception(
                    "You specified an account that doesn't exist.",
                )),
            }
        })?;
        Ok(m::DescribeAccountResponse { account: Some(out) })
    }

    fn list_roots(
        &self,
        ctx: &RequestContext,
        _input: m::ListRootsRequest,
    ) -> R<m::ListRootsResponse> {
        let account = ctx.account_id.clone();
        let org = self.read(|tx| managed_org(tx, &account))?;
        Ok(m::ListRootsResponse {
            roots: Some(vec![m::Root {
                id: Some(org.root_id.clone()),
                arn: Some(format!(
                    "arn:aws:organizations::{}:root/{}/{}",
                    org.management_account, org.id, org.root_id
                )),
                name: Some("Root".to_string()),
                policy_types: Some(Vec::new()),
            }]),
            next_token: None,
        })
    }
}

/// The organization `account` belongs to and its management account, for services that
/// check `aws:PrincipalOrgID` or restrict sharing to an organization.
impl Identity {
    pub fn organization_of(
        &self,
        account: &str,
    ) -> Result<Option<(String, String)>, IdentityError> {
        let account = account.to_string();
        self.store
            .read(|tx| Ok(membership(tx, &account)?.map(|(o, _)| (o.id, o.management_account))))
    }
}
