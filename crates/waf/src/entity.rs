//! Stored WAF entities: web ACLs, rule groups, IP sets and regex pattern sets share one record
//! shape (identity, lock token, tags, and the type's members as the API returns them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The store collection of every entity.
pub const ENTITIES: &str = "waf_entity";
/// Associations: `account/region/resource ARN` -> web ACL ARN.
pub const ASSOCIATIONS: &str = "waf_assoc";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    WebAcl,
    RuleGroup,
    IpSet,
    RegexSet,
}

impl Kind {
    /// The resource type in ARNs.
    pub fn arn_type(self) -> &'static str {
        match self {
            Kind::WebAcl => "webacl",
            Kind::RuleGroup => "rulegroup",
            Kind::IpSet => "ipset",
            Kind::RegexSet => "regexpatternset",
        }
    }

    pub fn from_arn_type(s: &str) -> Option<Kind> {
        match s {
            "webacl" => Some(Kind::WebAcl),
            "rulegroup" => Some(Kind::RuleGroup),
            "ipset" => Some(Kind::IpSet),
            "regexpatternset" => Some(Kind::RegexSet),
            _ => None,
        }
    }

    /// Per account and region (AWS's default quotas).
    pub fn quota(self) -> usize {
        match self {
            Kind::RegexSet => 10,
            _ => 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entity {
    pub kind: Kind,
    pub account: String,
    /// The region, or `global` for CLOUDFRONT scope.
    pub region: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub description: Option<String>,
    pub lock_token: String,
    /// The type's members as the API returns them (`DefaultAction`, `Rules`, `Addresses`...),
    /// without `Name`, `Id`, `ARN`, `Description`.
    pub spec: Value,
    /// Web ACL: the computed WCU; rule group: its capacity setting.
    pub capacity: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Rule groups: the permission policy.
    #[serde(default)]
    pub policy: Option<String>,
    /// Web ACLs: the logging configuration, as the API returns it.
    #[serde(default)]
    pub logging: Option<Value>,
}

/// `global` for CLOUDFRONT scope, else the region.
pub fn scope_region(scope: &str, region: &str) -> String {
    if scope == "CLOUDFRONT" {
        "global".to_string()
    } else {
        region.to_string()
    }
}

pub fn key(account: &str, region: &str, kind: Kind, id: &str) -> String {
    format!("{account}/{region}/{}/{id}", kind.arn_type())
}

pub fn prefix(account: &str, region: &str, kind: Kind) -> String {
    format!("{account}/{region}/{}/", kind.arn_type())
}

impl Entity {
    pub fn key(&self) -> String {
        key(&self.account, &self.region, self.kind, &self.id)
    }

    /// `Scope` as the API names it.
    pub fn scope(&self) -> &'static str {
        if self.region == "global" {
            "CLOUDFRONT"
        } else {
            "REGIONAL"
        }
    }

    /// `{Name, Id, Description, LockToken, ARN}`.
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "Name": self.name,
            "Id": self.id,
            "Description": self.description.clone().unwrap_or_default(),
            "LockToken": self.lock_token,
            "ARN": self.arn,
        })
    }

    /// The entity as Get* returns it: identity members, then the spec.
    pub fn full(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("Name".into(), self.name.clone().into());
        m.insert("Id".into(), self.id.clone().into());
        m.insert("ARN".into(), self.arn.clone().into());
        m.insert(
            "Description".into(),
            self.description.clone().unwrap_or_default().into(),
        );
        if let Value::Object(s) = &self.spec {
            for (k, v) in s {
                m.insert(k.clone(), v.clone());
            }
        }
        Value::Object(m)
    }
}

/// An ARN of a WAF entity: `arn:aws:wafv2:<region>:<account>:<regional|global>/<type>/<name>/<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityArn {
    pub region: String,
    pub account: String,
    /// `global` or the region.
    pub scope_region: String,
    pub kind: Kind,
    pub name: String,
    pub id: String,
}

impl EntityArn {
    pub fn parse(arn: &str) -> Option<EntityArn> {
        let mut p = arn.splitn(6, ':');
        let (Some("arn"), Some(_partition), Some("wafv2"), Some(region), Some(account), Some(res)) =
            (p.next(), p.next(), p.next(), p.next(), p.next(), p.next())
        else {
            return None;
        };
        let mut r = res.split('/');
        let (Some(scope), Some(ty), Some(name), Some(id), None) =
            (r.next(), r.next(), r.next(), r.next(), r.next())
        else {
            return None;
        };
        let scope_region = match scope {
            "global" => "global".to_string(),
            "regional" => region.to_string(),
            _ => return None,
        };
        Some(EntityArn {
            region: region.to_string(),
            account: account.to_string(),
            scope_region,
            kind: Kind::from_arn_type(ty)?,
            name: name.to_string(),
            id: id.to_string(),
        })
    }
}

pub fn make_arn(
    account: &str,
    region: &str,
    scope: &str,
    kind: Kind,
    name: &str,
    id: &str,
) -> String {
    let (arn_region, s) = if scope == "CLOUDFRONT" {
        ("us-east-1", "global")
    } else {
        (region, "regional")
    };
    format!(
        "arn:aws:wafv2:{arn_region}:{account}:{s}/{}/{name}/{id}",
        kind.arn_type()
    )
}

/// An Application Load Balancer ARN (a Rampart proxy):
/// `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<16 hex>`.
pub fn parse_alb_arn(arn: &str) -> Option<(String, String)> {
    let mut p = arn.splitn(6, ':');
    let (
        Some("arn"),
        Some(_),
        Some("elasticloadbalancing"),
        Some(region),
        Some(account),
        Some(res),
    ) = (p.next(), p.next(), p.next(), p.next(), p.next(), p.next())
    else {
        return None;
    };
    let mut r = res.split('/');
    let (Some("loadbalancer"), Some("app"), Some(name), Some(id), None) =
        (r.next(), r.next(), r.next(), r.next(), r.next())
    else {
        return None;
    };
    if name.is_empty() || id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((region.to_string(), account.to_string()))
}
