//! Rampart's WAFv2 rule engine: pure, no I/O.
//!
//! * [`request`]: the request model and AWS `FieldToMatch` components (query arguments,
//!   cookies, form / multipart / JSON bodies).
//! * [`transform`]: the 31 WAFv2 text transformations.
//! * [`sqli`] and [`xss`]: tokenising SQL injection and cross-site scripting detectors with
//!   AWS's LOW / HIGH sensitivity.
//! * [`detect`]: keyword-class and pattern detectors (LFI, RFI, SSRF, shell, PHP, Java...).
//! * [`inspect`]: per-request normalised views shared by all rules.
//! * [`managed`]: the AWS managed rule groups.
//!
//! ```
//! use rampart_firewall::{ManagedGroup, Request};
//!
//! let group = ManagedGroup::by_name("AWSManagedRulesSQLiRuleSet").unwrap();
//! let req = Request::new("GET", "/item?id=1%27%20or%20%271%27=%271")
//!     .with_header("User-Agent", "curl/8");
//! let matches = group.evaluate(&req);
//! assert_eq!(matches[0].label, "awswaf:managed:aws:sql-database:SQLi_QueryArguments");
//! ```
//!
//! Rules flagged `extension` are Rampart's additions to AWS's groups (the same detectors on
//! request components AWS's group leaves out, plus template / LDAP / XXE / CRLF / smuggling
//! checks); `ManagedGroup::aws_rules_only` drops them. The offline scorer
//! (`cargo run --release -p rampart-firewall --example score`) measures the groups against
//! `../shared/waf/corpus-dev.jsonl.gz`.
#![forbid(unsafe_code)]

pub mod acl;
pub mod detect;
mod hash;
pub mod inspect;
pub mod managed;
pub mod request;
pub mod sqli;
pub mod transform;
pub mod xss;

pub use inspect::{Inspection, Zone};
pub use managed::{
    ip_group, Action, IpGroup, ManagedGroup, ManagedRule, Match, DEFAULT_GROUPS, GROUP_NAMES,
    IP_GROUPS,
};
pub use request::{FieldToMatch, JsonMatchScope, Request, DEFAULT_BODY_LIMIT};
pub use sqli::Sensitivity;
pub use transform::{apply, apply_all, Transformation};

/// Evaluates several groups over one request, sharing the normalised views.
pub fn evaluate_groups(groups: &[ManagedGroup], req: &Request) -> Vec<Match> {
    let ins = Inspection::new(req);
    groups
        .iter()
        .flat_map(|g| g.evaluate_inspection(&ins))
        .collect()
}
