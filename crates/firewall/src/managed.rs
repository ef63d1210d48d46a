//! AWS managed rule groups: rule names and labels as AWS documents them, detection written
//! for Rampart. Rules marked `extension` are Rampart additions (the same detection applied to
//! a request component AWS's group does not inspect); they carry the group's label namespace.

use crate::detect;
use crate::inspect::{Inspection, Zone};
use crate::request::Request;
use crate::sqli::{self, Sensitivity};
use crate::xss;

/// What a matching rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Terminating: the request is refused.
    Block,
    /// Non-terminating: the match is counted and labelled.
    Count,
    /// Terminating: the request is let through.
    Allow,
}

/// One rule that matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The rule group (`AWSManagedRulesCommonRuleSet`).
    pub group: &'static str,
    /// The rule (`NoUserAgent_HEADER`).
    pub rule: &'static str,
    /// The label the rule adds (`awswaf:managed:aws:core-rule-set:NoUserAgent_Header`).
    pub label: String,
    /// The rule's action.
    pub action: Action,
}

type ValueCheck = fn(&[u8]) -> bool;
type RequestCheck = fn(&Inspection<'_>) -> bool;

#[derive(Clone, Copy)]
enum Check {
    /// A detector over the normalised values of some zones.
    Values(&'static [Zone], ValueCheck),
    /// A check of the whole request.
    Request(RequestCheck),
}

/// One rule of a managed group.
#[derive(Clone)]
pub struct ManagedRule {
    /// The rule name.
    pub name: &'static str,
    /// The label it adds when it matches.
    pub label: String,
    /// Its default action.
    pub action: Action,
    /// A Rampart addition, not part of AWS's group.
    pub extension: bool,
    check: Check,
}

impl std::fmt::Debug for ManagedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedRule")
            .field("name", &self.name)
            .field("label", &self.label)
            .field("action", &self.action)
            .field("extension", &self.extension)
            .finish()
    }
}

impl ManagedRule {
    /// Whether the rule matches the request.
    pub fn matches(&self, ins: &Inspection<'_>) -> bool {
        match self.check {
            Check::Values(zones, f) => zones.iter().any(|&z| ins.zone(z).iter().any(|v| f(v))),
            Check::Request(f) => f(ins),
        }
    }
}

/// An AWS managed rule group.
#[derive(Debug, Clone)]
pub struct ManagedGroup {
    /// The group name (`AWSManagedRulesCommonRuleSet`).
    pub name: &'static str,
    /// The label namespace of its rules (`awswaf:managed:aws:core-rule-set`).
    pub namespace: &'static str,
    /// Its rules, in evaluation order.
    pub rules: Vec<ManagedRule>,
}

/// The groups this engine implements, in the order AWS lists them.
pub const GROUP_NAMES: &[&str] = &[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesAdminProtectionRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesWindowsRuleSet",
    "AWSManagedRulesPHPRuleSet",
];

/// An IP reputation group: rules that match the client address against lists.
#[derive(Debug, Clone, Copy)]
pub struct IpGroup {
    pub name: &'static str,
    /// The label namespace (`awswaf:managed:aws:amazon-ip-list`).
    pub namespace: &'static str,
    /// (rule name, default action); each rule's label is `<namespace>:<rule name>`.
    pub rules: &'static [(&'static str, Action)],
}

/// AWS's IP reputation groups, fed with address lists by the operator.
pub const IP_GROUPS: &[IpGroup] = &[
    IpGroup {
        name: "AWSManagedRulesAmazonIpReputationList",
        namespace: "awswaf:managed:aws:amazon-ip-list",
        rules: &[
            ("AWSManagedIPReputationList", Action::Block),
            ("AWSManagedReconnaissanceList", Action::Block),
            ("AWSManagedIPDDoSList", Action::Count),
        ],
    },
    IpGroup {
        name: "AWSManagedRulesAnonymousIpList",
        namespace: "awswaf:managed:aws:anonymous-ip-list",
        rules: &[
            ("AnonymousIPList", Action::Block),
            ("HostingProviderIPList", Action::Block),
        ],
    },
];

/// The IP reputation group of that name.
pub fn ip_group(name: &str) -> Option<&'static IpGroup> {
    IP_GROUPS.iter().find(|g| g.name == name)
}

/// The groups a web ACL usually starts with (AdminProtection is off, as AWS's console
/// suggests).
pub const DEFAULT_GROUPS: &[&str] = &[
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesLinuxRuleSet",
    "AWSManagedRulesUnixRuleSet",
    "AWSManagedRulesWindowsRuleSet",
    "AWSManagedRulesPHPRuleSet",
];

use Zone::{Body, Cookie, Header, QueryArgs, UriPath};

const QA: &[Zone] = &[QueryArgs];
const BODY: &[Zone] = &[Body];
const COOKIE: &[Zone] = &[Cookie];
const PATH: &[Zone] = &[UriPath];
const HEADER: &[Zone] = &[Header];

fn no_user_agent(ins: &Inspection<'_>) -> bool {
    ins.user_agent().is_none_or(|ua| ua.trim().is_empty())
}

fn bad_bot(ins: &Inspection<'_>) -> bool {
    ins.req
        .header_values("user-agent")
        .any(|ua| detect::bad_bot(ua.as_bytes()))
}

fn size_query(ins: &Inspection<'_>) -> bool {
    ins.req.query_string.len() > 2048
}

fn size_cookie(ins: &Inspection<'_>) -> bool {
    ins.req.header_values("cookie").map(str::len).sum::<usize>() > 10240
}

fn size_body(ins: &Inspection<'_>) -> bool {
    ins.req.body.len() > 8192
}

fn size_path(ins: &Inspection<'_>) -> bool {
    ins.req.uri_path.len() > 1024
}

fn host_localhost(ins: &Inspection<'_>) -> bool {
    ins.req.header_values("host").any(|h| {
        let h = h.trim().to_ascii_lowercase();
        let host = h
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(h.as_str(), |(a, _)| a);
        matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "0.0.0.0")
            || host.ends_with(".localhost")
    })
}

fn propfind(ins: &Inspection<'_>) -> bool {
    ins.req.method.eq_ignore_ascii_case("PROPFIND")
}

fn exploitable_path(ins: &Inspection<'_>) -> bool {
    ins.zone(UriPath)
        .iter()
        .any(|v| detect::exploitable_path(v))
}

fn upload_script(ins: &Inspection<'_>) -> bool {
    let header_names = ins.req.headers.iter().any(|(n, v)| {
        let n = n.to_ascii_lowercase().replace(['_', '.'], "-");
        (n.contains("filename") || n.contains("file-name"))
            && detect::script_file_name(v.to_ascii_lowercase().as_bytes())
    });
    header_names
        || ins
            .req
            .form_fields(crate::request::DEFAULT_BODY_LIMIT)
            .iter()
            .any(|(n, v)| n == b"filename" && detect::script_file_name(&v.to_ascii_lowercase()))
}

/// A session identifier set through a parameter while the request comes from another site
/// (session fixation).
fn session_fixation(ins: &Inspection<'_>) -> bool {
    let Some(referer) = ins.req.header("referer") else {
        return false;
    };
    let host_of = |s: &str| -> String {
        let s = s.trim().to_ascii_lowercase();
        let s = s
            .split_once("://")
            .map_or(s.as_str(), |(_, r)| r)
            .to_string();
        let s = s.split(['/', '?', '#']).next().unwrap_or("").to_string();
        let s = s
            .rsplit_once('@')
            .map_or(s.as_str(), |(_, h)| h)
            .to_string();
        s.split(':').next().unwrap_or("").to_string()
    };
    let referer_host = host_of(referer);
    let own = ins.req.header("host").map(host_of).unwrap_or_default();
    if referer_host.is_empty() || referer_host == own {
        return false;
    }
    let mut names: Vec<Vec<u8>> = ins.req.query_args().into_iter().map(|(n, _)| n).collect();
    names.extend(
        ins.req
            .form_fields(crate::request::DEFAULT_BODY_LIMIT)
            .into_iter()
            .map(|(n, _)| n),
    );
    if let Some(keys) = ins.req.json_body(
        crate::request::JsonMatchScope::Key,
        crate::request::DEFAULT_BODY_LIMIT,
    ) {
        names.extend(keys.into_iter().map(String::into_bytes));
    }
    names.iter().any(|n| detect::session_param_name(n))
}

/// A NUL byte in the path or in an argument, after up to two rounds of percent-decoding
/// (null-byte injection truncates strings in C-backed file and string APIs).
fn null_byte(ins: &Inspection<'_>) -> bool {
    let has_nul = |raw: &[u8]| {
        if raw.contains(&0) {
            return true;
        }
        let once = crate::request::percent_decode(raw, false);
        once.contains(&0)
            || (once.contains(&b'%') && crate::request::percent_decode(&once, false).contains(&0))
    };
    has_nul(ins.req.uri_path.as_bytes())
        || ins
            .req
            .query_args()
            .iter()
            .any(|(n, v)| has_nul(n) || has_nul(v))
        || ins
            .req
            .form_fields(crate::request::DEFAULT_BODY_LIMIT)
            .iter()
            .any(|(n, v)| {
                // binary file parts may legitimately hold NULs
                n != b"filename"
                    && v.len() < 4096
                    && (has_nul(n) || has_nul(v))
                    && !v.is_empty()
                    && ins.req.body_kind() == crate::request::BodyKind::Form
            })
}

fn sqli_low(v: &[u8]) -> bool {
    sqli::is_sqli(v, Sensitivity::Low)
}

fn sqli_any(v: &[u8]) -> bool {
    sqli::is_sqli(v, Sensitivity::Low) || detect::sqli_extended(v)
}

fn xss_low(v: &[u8]) -> bool {
    xss::is_xss(v, Sensitivity::Low)
}

fn path_lfi(v: &[u8]) -> bool {
    detect::traversal(v) || detect::unix_file(v) || detect::windows_file(v)
}

fn linux_lfi(v: &[u8]) -> bool {
    detect::traversal(v) || detect::unix_file(v)
}

fn path_ext(v: &[u8]) -> bool {
    detect::restricted_extension(v)
}

fn rfi(v: &[u8]) -> bool {
    detect::rfi(v) || detect::ssrf_local(v)
}

fn ext_request_injection(v: &[u8]) -> bool {
    detect::ssti(v) || detect::misc_injection(v)
}

/// Request smuggling: both a `Transfer-Encoding` and a `Content-Length`, several of either, or
/// a `Transfer-Encoding` that is not exactly `chunked` or `identity`.
fn smuggling(ins: &Inspection<'_>) -> bool {
    let te: Vec<&str> = ins.req.header_values("transfer-encoding").collect();
    let cl: Vec<&str> = ins.req.header_values("content-length").collect();
    let odd_te = te.iter().any(|v| {
        !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "chunked" | "identity" | "gzip, chunked" | "deflate, chunked"
        )
    });
    let odd_name = ins.req.headers.iter().any(|(n, _)| {
        let t = n.trim().to_ascii_lowercase();
        t != n.to_ascii_lowercase() && (t == "transfer-encoding" || t == "content-length")
    });
    let odd_cl = cl
        .iter()
        .any(|v| v.trim().is_empty() || !v.trim().bytes().all(|b| b.is_ascii_digit()));
    (!te.is_empty() && !cl.is_empty())
        || te.len() > 1
        || cl.len() > 1
        || odd_te
        || odd_cl
        || odd_name
}

struct Def {
    name: &'static str,
    label: &'static str,
    extension: bool,
    check: Check,
}

const fn v(name: &'static str, label: &'static str, zones: &'static [Zone], f: ValueCheck) -> Def {
    Def {
        name,
        label,
        extension: false,
        check: Check::Values(zones, f),
    }
}

const fn x(name: &'static str, label: &'static str, zones: &'static [Zone], f: ValueCheck) -> Def {
    Def {
        name,
        label,
        extension: true,
        check: Check::Values(zones, f),
    }
}

const fn r(name: &'static str, label: &'static str, f: RequestCheck) -> Def {
    Def {
        name,
        label,
        extension: false,
        check: Check::Request(f),
    }
}

fn defs(group: &str) -> Option<(&'static str, &'static str, Vec<Def>)> {
    let out = match group {
        "AWSManagedRulesCommonRuleSet" => (
            "AWSManagedRulesCommonRuleSet",
            "awswaf:managed:aws:core-rule-set",
            vec![
                r("NoUserAgent_HEADER", "NoUserAgent_Header", no_user_agent),
                r("UserAgent_BadBots_HEADER", "BadBots_Header", bad_bot),
                r(
                    "SizeRestrictions_QUERYSTRING",
                    "SizeRestrictions_QueryString",
                    size_query,
                ),
                r(
                    "SizeRestrictions_Cookie_HEADER",
                    "SizeRestrictions_Cookie_Header",
                    size_cookie,
                ),
                r("SizeRestrictions_BODY", "SizeRestrictions_Body", size_body),
                r(
                    "SizeRestrictions_URIPATH",
                    "SizeRestrictions_URIPath",
                    size_path,
                ),
                v(
                    "EC2MetaDataSSRF_BODY",
                    "EC2MetaDataSSRF_Body",
                    BODY,
                    detect::ec2_metadata,
                ),
                v(
                    "EC2MetaDataSSRF_COOKIE",
                    "EC2MetaDataSSRF_Cookie",
                    COOKIE,
                    detect::ec2_metadata,
                ),
                v(
                    "EC2MetaDataSSRF_URIPATH",
                    "EC2MetaDataSSRF_URIPath",
                    PATH,
                    detect::ec2_metadata,
                ),
                v(
                    "EC2MetaDataSSRF_QUERYARGUMENTS",
                    "EC2MetaDataSSRF_QueryArguments",
                    QA,
                    detect::ec2_metadata,
                ),
                v(
                    "GenericLFI_QUERYARGUMENTS",
                    "GenericLFI_QueryArguments",
                    QA,
                    detect::lfi,
                ),
                v("GenericLFI_URIPATH", "GenericLFI_URIPath", PATH, path_lfi),
                v("GenericLFI_BODY", "GenericLFI_Body", BODY, detect::lfi),
                v(
                    "RestrictedExtensions_URIPATH",
                    "RestrictedExtensions_URIPath",
                    PATH,
                    path_ext,
                ),
                v(
                    "RestrictedExtensions_QUERYARGUMENTS",
                    "RestrictedExtensions_QueryArguments",
                    QA,
                    path_ext,
                ),
                v(
                    "GenericRFI_QUERYARGUMENTS",
                    "GenericRFI_QueryArguments",
                    QA,
                    rfi,
                ),
                v("GenericRFI_BODY", "GenericRFI_Body", BODY, rfi),
                v(
                    "GenericRFI_URIPATH",
                    "GenericRFI_URIPath",
                    PATH,
                    detect::rfi,
                ),
                v(
                    "CrossSiteScripting_COOKIE",
                    "CrossSiteScripting_Cookie",
                    COOKIE,
                    xss_low,
                ),
                v(
                    "CrossSiteScripting_QUERYARGUMENTS",
                    "CrossSiteScripting_QueryArguments",
                    QA,
                    xss_low,
                ),
                v(
                    "CrossSiteScripting_BODY",
                    "CrossSiteScripting_Body",
                    BODY,
                    xss_low,
                ),
                v(
                    "CrossSiteScripting_URIPATH",
                    "CrossSiteScripting_URIPath",
                    PATH,
                    xss_low,
                ),
                Def {
                    name: "RequestSmuggling_HEADER",
                    label: "RequestSmuggling_Header",
                    extension: true,
                    check: Check::Request(smuggling),
                },
                Def {
                    name: "NullByteInjection_REQUEST",
                    label: "NullByteInjection_Request",
                    extension: true,
                    check: Check::Request(null_byte),
                },
                Def {
                    name: "SessionFixation_QUERYARGUMENTS",
                    label: "SessionFixation_QueryArguments",
                    extension: true,
                    check: Check::Request(session_fixation),
                },
                Def {
                    name: "RestrictedExtensions_FILENAME",
                    label: "RestrictedExtensions_FileName",
                    extension: true,
                    check: Check::Request(upload_script),
                },
                x(
                    "CrossSiteScripting_HEADER",
                    "CrossSiteScripting_Header",
                    HEADER,
                    xss_low,
                ),
                x(
                    "GenericLFI_COOKIE",
                    "GenericLFI_Cookie",
                    COOKIE,
                    detect::lfi,
                ),
                x("GenericLFI_HEADER", "GenericLFI_Header", HEADER, path_lfi),
                x(
                    "GenericInjection_QUERYARGUMENTS",
                    "GenericInjection_QueryArguments",
                    QA,
                    ext_request_injection,
                ),
                x(
                    "GenericInjection_BODY",
                    "GenericInjection_Body",
                    BODY,
                    ext_request_injection,
                ),
                x(
                    "GenericInjection_COOKIE",
                    "GenericInjection_Cookie",
                    COOKIE,
                    ext_request_injection,
                ),
                x(
                    "GenericInjection_HEADER",
                    "GenericInjection_Header",
                    HEADER,
                    ext_request_injection,
                ),
                x(
                    "GenericInjection_URIPATH",
                    "GenericInjection_URIPath",
                    PATH,
                    ext_request_injection,
                ),
            ],
        ),
        "AWSManagedRulesAdminProtectionRuleSet" => (
            "AWSManagedRulesAdminProtectionRuleSet",
            "awswaf:managed:aws:admin-protection",
            vec![v(
                "AdminProtection_URIPATH",
                "AdminProtection_URIPath",
                PATH,
                detect::admin_path,
            )],
        ),
        "AWSManagedRulesKnownBadInputsRuleSet" => (
            "AWSManagedRulesKnownBadInputsRuleSet",
            "awswaf:managed:aws:known-bad-inputs",
            vec![
                v(
                    "JavaDeserializationRCE_HEADER",
                    "JavaDeserializationRCE_Header",
                    HEADER,
                    detect::java,
                ),
                v(
                    "JavaDeserializationRCE_BODY",
                    "JavaDeserializationRCE_Body",
                    BODY,
                    detect::java,
                ),
                v(
                    "JavaDeserializationRCE_URIPATH",
                    "JavaDeserializationRCE_URIPath",
                    PATH,
                    detect::java,
                ),
                v(
                    "JavaDeserializationRCE_QUERYSTRING",
                    "JavaDeserializationRCE_QueryString",
                    QA,
                    detect::java,
                ),
                r(
                    "Host_localhost_HEADER",
                    "Host_Localhost_Header",
                    host_localhost,
                ),
                r("PROPFIND_METHOD", "Propfind_Method", propfind),
                r(
                    "ExploitablePaths_URIPATH",
                    "ExploitablePaths_URIPath",
                    exploitable_path,
                ),
                v("Log4JRCE_HEADER", "Log4JRCE_Header", HEADER, detect::log4j),
                v(
                    "Log4JRCE_QUERYSTRING",
                    "Log4JRCE_QueryString",
                    QA,
                    detect::log4j,
                ),
                v("Log4JRCE_BODY", "Log4JRCE_Body", BODY, detect::log4j),
                v("Log4JRCE_URIPATH", "Log4JRCE_URIPath", PATH, detect::log4j),
                x(
                    "JavaDeserializationRCE_COOKIE",
                    "JavaDeserializationRCE_Cookie",
                    COOKIE,
                    detect::java,
                ),
                x("Log4JRCE_COOKIE", "Log4JRCE_Cookie", COOKIE, detect::log4j),
            ],
        ),
        "AWSManagedRulesSQLiRuleSet" => (
            "AWSManagedRulesSQLiRuleSet",
            "awswaf:managed:aws:sql-database",
            vec![
                v("SQLi_QUERYARGUMENTS", "SQLi_QueryArguments", QA, sqli_low),
                v(
                    "SQLiExtendedPatterns_QUERYARGUMENTS",
                    "SQLiExtendedPatterns_QueryArguments",
                    QA,
                    detect::sqli_extended,
                ),
                v("SQLi_BODY", "SQLi_Body", BODY, sqli_low),
                v(
                    "SQLiExtendedPatterns_BODY",
                    "SQLiExtendedPatterns_Body",
                    BODY,
                    detect::sqli_extended,
                ),
                v(
                    "SQLiExtendedPatterns_HEADER",
                    "SQLiExtendedPatterns_Header",
                    HEADER,
                    sqli_any,
                ),
                v(
                    "SQLiExtendedPatterns_URIPATH",
                    "SQLiExtendedPatterns_UriPath",
                    PATH,
                    detect::sqli_extended,
                ),
                v("SQLi_COOKIE", "SQLi_Cookie", COOKIE, sqli_low),
                v("SQLi_URIPATH", "SQLi_URIPath", PATH, sqli_low),
                x(
                    "SQLiExtendedPatterns_COOKIE",
                    "SQLiExtendedPatterns_Cookie",
                    COOKIE,
                    detect::sqli_extended,
                ),
            ],
        ),
        "AWSManagedRulesLinuxRuleSet" => (
            "AWSManagedRulesLinuxRuleSet",
            "awswaf:managed:aws:linux-os",
            vec![
                v("LFI_URIPATH", "LFI_URIPath", PATH, linux_lfi),
                v("LFI_QUERYSTRING", "LFI_QueryString", QA, linux_lfi),
                v("LFI_HEADER", "LFI_Header", HEADER, linux_lfi),
                x("LFI_BODY", "LFI_Body", BODY, linux_lfi),
                x("LFI_COOKIE", "LFI_Cookie", COOKIE, linux_lfi),
            ],
        ),
        "AWSManagedRulesUnixRuleSet" => (
            "AWSManagedRulesUnixRuleSet",
            "awswaf:managed:aws:posix-os",
            vec![
                v(
                    "UNIXShellCommandsVariables_QUERYSTRING",
                    "UNIXShellCommandsVariables_QueryString",
                    QA,
                    detect::unix_shell,
                ),
                v(
                    "UNIXShellCommandsVariables_BODY",
                    "UNIXShellCommandsVariables_Body",
                    BODY,
                    detect::unix_shell,
                ),
                v(
                    "UNIXShellCommandsVariables_HEADER",
                    "UNIXShellCommandsVariables_Header",
                    HEADER,
                    detect::unix_shell,
                ),
                x(
                    "UNIXShellCommandsVariables_COOKIE",
                    "UNIXShellCommandsVariables_Cookie",
                    COOKIE,
                    detect::unix_shell,
                ),
                x(
                    "UNIXShellCommandsVariables_URIPATH",
                    "UNIXShellCommandsVariables_URIPath",
                    PATH,
                    detect::unix_shell,
                ),
            ],
        ),
        "AWSManagedRulesWindowsRuleSet" => (
            "AWSManagedRulesWindowsRuleSet",
            "awswaf:managed:aws:windows-os",
            vec![
                v(
                    "WindowsShellCommands_HEADER",
                    "WindowsShellCommands_Header",
                    HEADER,
                    detect::windows_shell,
                ),
                v(
                    "WindowsShellCommands_QUERYARGUMENTS",
                    "WindowsShellCommands_QueryArguments",
                    QA,
                    detect::windows_shell,
                ),
                v(
                    "WindowsShellCommands_URIPATH",
                    "WindowsShellCommands_UriPath",
                    PATH,
                    detect::windows_shell,
                ),
                v(
                    "WindowsShellCommands_BODY",
                    "WindowsShellCommands_Body",
                    BODY,
                    detect::windows_shell,
                ),
                v(
                    "PowerShellCommands_COOKIE",
                    "PowerShellCommands_Cookie",
                    COOKIE,
                    detect::powershell,
                ),
                v(
                    "PowerShellCommands_QUERYARGUMENTS",
                    "PowerShellCommands_QueryArguments",
                    QA,
                    detect::powershell,
                ),
                v(
                    "PowerShellCommands_BODY",
                    "PowerShellCommands_Body",
                    BODY,
                    detect::powershell,
                ),
                x(
                    "PowerShellCommands_HEADER",
                    "PowerShellCommands_Header",
                    HEADER,
                    detect::powershell,
                ),
                x(
                    "WindowsShellCommands_COOKIE",
                    "WindowsShellCommands_Cookie",
                    COOKIE,
                    detect::windows_shell,
                ),
            ],
        ),
        "AWSManagedRulesPHPRuleSet" => (
            "AWSManagedRulesPHPRuleSet",
            "awswaf:managed:aws:php-app",
            vec![
                v(
                    "PHPHighRiskMethodsVariables_HEADER",
                    "PHPHighRiskMethodsVariables_Header",
                    HEADER,
                    detect::php,
                ),
                v(
                    "PHPHighRiskMethodsVariables_QUERYSTRING",
                    "PHPHighRiskMethodsVariables_QueryString",
                    QA,
                    detect::php,
                ),
                v(
                    "PHPHighRiskMethodsVariables_BODY",
                    "PHPHighRiskMethodsVariables_Body",
                    BODY,
                    detect::php,
                ),
                v(
                    "PHPHighRiskMethodsVariables_URIPATH",
                    "PHPHighRiskMethodsVariables_URIPath",
                    PATH,
                    detect::php,
                ),
                x(
                    "PHPHighRiskMethodsVariables_COOKIE",
                    "PHPHighRiskMethodsVariables_Cookie",
                    COOKIE,
                    detect::php,
                ),
            ],
        ),
        _ => return None,
    };
    Some(out)
}

impl ManagedGroup {
    /// The AWS managed group of that name (`AWSManagedRulesSQLiRuleSet`, ...).
    pub fn by_name(name: &str) -> Option<ManagedGroup> {
        let (name, namespace, defs) = defs(name)?;
        let rules = defs
            .into_iter()
            .map(|d| ManagedRule {
                name: d.name,
                label: format!("{namespace}:{}", d.label),
                action: Action::Block,
                extension: d.extension,
                check: d.check,
            })
            .collect();
        Some(ManagedGroup {
            name,
            namespace,
            rules,
        })
    }

    /// Drops Rampart's extension rules, keeping AWS's rule list only.
    pub fn aws_rules_only(mut self) -> Self {
        self.rules.retain(|r| !r.extension);
        self
    }

    /// Sets one rule's action (as a web ACL's `RuleActionOverrides` does).
    pub fn override_action(&mut self, rule: &str, action: Action) -> bool {
        match self.rules.iter_mut().find(|r| r.name == rule) {
            Some(r) => {
                r.action = action;
                true
            }
            None => false,
        }
    }

    /// Every rule of the group that matches the request.
    pub fn evaluate(&self, req: &Request) -> Vec<Match> {
        self.evaluate_inspection(&Inspection::new(req))
    }

    /// As `evaluate`, over views shared with other groups.
    pub fn evaluate_inspection(&self, ins: &Inspection<'_>) -> Vec<Match> {
        self.rules
            .iter()
            .filter(|r| r.matches(ins))
            .map(|r| Match {
                group: self.name,
                rule: r.name,
                label: r.label.clone(),
                action: r.action,
            })
            .collect()
    }

    /// The first matching rule whose action terminates evaluation, as a web ACL evaluates a
    /// managed group (Count matches before it are still returned).
    pub fn evaluate_until_terminating(&self, ins: &Inspection<'_>) -> Vec<Match> {
        let mut out = Vec::new();
        for r in &self.rules {
            if r.matches(ins) {
                out.push(Match {
                    group: self.name,
                    rule: r.name,
                    label: r.label.clone(),
                    action: r.action,
                });
                if r.action != Action::Count {
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "tests/managed.rs"]
mod tests;
