//! AWS managed rule groups as `ListAvailableManagedRuleGroups`, `DescribeManagedRuleGroup` and
//! `DescribeAllManagedProducts` present them: names, descriptions and capacities as AWS
//! documents them, rules and labels from Rampart's implementations.

use rampart_core::AwsError;
use rampart_firewall::acl::wcu::managed_capacity;
use rampart_firewall::{ip_group, ManagedGroup, GROUP_NAMES, IP_GROUPS};
use serde_json::{json, Value};

/// The one version Rampart ships of each group.
pub const VERSION: &str = "Version_1.0";
/// When that version was published (2026-12-01T00:00:00Z).
const VERSION_TIME: f64 = 1_796_083_200.0;

fn description(name: &str) -> &'static str {
    match name {
        "AWSManagedRulesCommonRuleSet" => "Contains rules that are generally applicable to web applications. This provides protection against exploitation of a wide range of vulnerabilities, including those described in OWASP publications.",
        "AWSManagedRulesAdminProtectionRuleSet" => "Contains rules that allow you to block external access to exposed admin pages. This may be useful if you are running third-party software or would like to reduce the risk of a malicious actor gaining administrative access to your application.",
        "AWSManagedRulesKnownBadInputsRuleSet" => "Contains rules that allow you to block request patterns that are known to be invalid and are associated with exploitation or discovery of vulnerabilities. This can help reduce the risk of a malicious actor discovering a vulnerable application.",
        "AWSManagedRulesSQLiRuleSet" => "Contains rules that allow you to block request patterns associated with exploitation of SQL databases, like SQL injection attacks. This can help prevent remote injection of unauthorized queries.",
        "AWSManagedRulesLinuxRuleSet" => "Contains rules that block request patterns associated with exploitation of vulnerabilities specific to Linux, including LFI attacks. This can help prevent attacks that expose file contents or execute code for which the attacker should not have had access.",
        "AWSManagedRulesUnixRuleSet" => "Contains rules that block request patterns associated with exploiting vulnerabilities specific to POSIX/POSIX-like OS, including LFI attacks. This can help prevent attacks that expose file contents or execute code for which access should not been allowed.",
        "AWSManagedRulesWindowsRuleSet" => "Contains rules that block request patterns associated with exploiting vulnerabilities specific to Windows, (e.g., PowerShell commands). This can help prevent exploits that allow attacker to run unauthorized commands or execute malicious code.",
        "AWSManagedRulesPHPRuleSet" => "Contains rules that block request patterns associated with exploiting vulnerabilities specific to the use of the PHP, including injection of unsafe PHP functions. This can help prevent exploits that allow an attacker to remotely execute code or commands.",
        "AWSManagedRulesAmazonIpReputationList" => "This group contains rules that are based on Amazon threat intelligence. This is useful if you would like to block sources associated with bots or other threats.",
        "AWSManagedRulesAnonymousIpList" => "This group contains rules that allow you to block requests from services that allow obfuscation of viewer identity. This can include request originating from VPN, proxies, Tor nodes, and hosting providers. This is useful if you want to filter out viewers that may be trying to hide their identity from your application.",
        _ => "",
    }
}

fn not_found(vendor: &str, name: &str) -> AwsError {
    rampart_model::wafv2::waf_nonexistent_item_exception(format!(
        "ManagedRules with name {name} by vendor {vendor} does not exist. Please check your inputs"
    ))
}

/// A rule of a managed group as Describe shows it: (name, label, action name).
type RuleInfo = (String, String, &'static str);

/// A group's label namespace and rules.
fn group(vendor: &str, name: &str) -> Result<(String, Vec<RuleInfo>), AwsError> {
    if vendor != "AWS" {
        return Err(not_found(vendor, name));
    }
    if let Some(g) = ip_group(name) {
        let rules = g
            .rules
            .iter()
            .map(|(r, a)| {
                let action = match a {
                    rampart_firewall::Action::Count => "Count",
                    rampart_firewall::Action::Allow => "Allow",
                    rampart_firewall::Action::Block => "Block",
                };
                (r.to_string(), format!("{}:{r}", g.namespace), action)
            })
            .collect();
        return Ok((g.namespace.to_string(), rules));
    }
    let g = ManagedGroup::by_name(name).ok_or_else(|| not_found(vendor, name))?;
    let rules = g
        .rules
        .iter()
        .map(|r| (r.name.to_string(), r.label.clone(), "Block"))
        .collect();
    Ok((g.namespace.to_string(), rules))
}

/// Every group, by name (the order markers page through).
fn all_names() -> impl Iterator<Item = &'static str> {
    let mut v: Vec<&'static str> = GROUP_NAMES
        .iter()
        .copied()
        .chain(IP_GROUPS.iter().map(|g| g.name))
        .collect();
    v.sort_unstable();
    v.into_iter()
}

pub fn list(marker: Option<&str>, limit: usize) -> Value {
    let page: Vec<Value> = all_names()
        .filter(|n| marker.is_none_or(|m| *n > m))
        .take(limit)
        .map(|n| {
            json!({"VendorName": "AWS", "Name": n, "VersioningSupported": true,
                   "Description": description(n)})
        })
        .collect();
    let next = page
        .last()
        .and_then(|p| p.get("Name").cloned())
        .filter(|_| page.len() == limit);
    json!({"ManagedRuleGroups": page, "NextMarker": next})
}

pub fn versions(vendor: &str, name: &str) -> Result<Value, AwsError> {
    group(vendor, name)?;
    Ok(json!({
        "Versions": [{"Name": VERSION, "LastUpdateTimestamp": VERSION_TIME}],
        "CurrentDefaultVersion": VERSION,
    }))
}

pub fn describe(vendor: &str, name: &str, version: Option<&str>) -> Result<Value, AwsError> {
    let (namespace, group_rules) = group(vendor, name)?;
    if version.is_some_and(|v| v != VERSION) {
        return Err(rampart_model::wafv2::waf_nonexistent_item_exception(
            format!(
                "Version {} of ManagedRules {name} by vendor {vendor} does not exist.",
                version.unwrap_or_default()
            ),
        ));
    }
    let ns = format!("{namespace}:");
    let rules: Vec<Value> = group_rules
        .iter()
        .map(|(n, _, a)| json!({"Name": n, "Action": {*a: {}}}))
        .collect();
    let labels: Vec<Value> = group_rules
        .iter()
        .map(|(_, l, _)| json!({"Name": l}))
        .collect();
    Ok(json!({
        "VersionName": VERSION,
        "Capacity": managed_capacity(name).unwrap_or(0),
        "Rules": rules,
        "LabelNamespace": ns,
        "AvailableLabels": labels,
        "ConsumedLabels": [],
    }))
}

pub fn products() -> Value {
    let list: Vec<Value> = all_names()
        .map(|n| {
            json!({"VendorName": "AWS", "ManagedRuleSetName": n, "ProductId": n,
                   "ProductTitle": n, "ProductDescription": description(n),
                   "IsVersioningSupported": true, "IsAdvancedManagedRuleSet": false})
        })
        .collect();
    json!({"ManagedProducts": list})
}
