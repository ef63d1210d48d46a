#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn browser(method: &str, target: &str) -> Request {
    Request::new(method, target)
        .with_header("Host", "shop.example.com")
        .with_header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        )
        .with_header("Accept", "text/html")
}

fn rules(group: &str, req: &Request) -> Vec<&'static str> {
    ManagedGroup::by_name(group)
        .unwrap()
        .evaluate(req)
        .into_iter()
        .map(|m| m.rule)
        .collect()
}

#[test]
fn every_group_builds() {
    for g in GROUP_NAMES {
        let grp = ManagedGroup::by_name(g).unwrap();
        assert_eq!(grp.name, *g);
        assert!(!grp.rules.is_empty());
        for r in &grp.rules {
            assert!(r.label.starts_with(grp.namespace), "{}", r.label);
            assert_eq!(r.action, Action::Block);
        }
    }
    assert!(ManagedGroup::by_name("AWSManagedRulesNope").is_none());
    assert!(crate::detect::patterns_ok() && crate::xss::patterns_ok());
}

#[test]
fn benign_request_passes_everything() {
    let req = browser("GET", "/tienda1/publico/anadir.jsp?id=2&nombre=Jam%F3n+Ib%E9rico&precio=85&cantidad=4&B1=A%F1adir+al+carrito")
        .with_header("Cookie", "JSESSIONID=933185092E0B668B90676E83F4A56E5E");
    let groups: Vec<_> = GROUP_NAMES
        .iter()
        .map(|g| ManagedGroup::by_name(g).unwrap())
        .collect();
    assert!(crate::evaluate_groups(&groups, &req).is_empty());
}

#[test]
fn common_rule_set() {
    let g = "AWSManagedRulesCommonRuleSet";
    let no_ua = Request::new("GET", "/").with_header("Host", "a");
    let m = ManagedGroup::by_name(g).unwrap().evaluate(&no_ua);
    assert_eq!(m[0].rule, "NoUserAgent_HEADER");
    assert_eq!(
        m[0].label,
        "awswaf:managed:aws:core-rule-set:NoUserAgent_Header"
    );
    assert_eq!(m[0].action, Action::Block);
    assert!(
        rules(g, &browser("GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E"))
            .contains(&"CrossSiteScripting_QUERYARGUMENTS")
    );
    assert!(
        rules(g, &browser("GET", "/?f=../../etc/passwd")).contains(&"GenericLFI_QUERYARGUMENTS")
    );
    assert!(rules(
        g,
        &browser("GET", "/?u=http://169.254.169.254/latest/meta-data/")
    )
    .contains(&"EC2MetaDataSSRF_QUERYARGUMENTS"));
    assert!(rules(g, &browser("GET", "/app.log")).contains(&"RestrictedExtensions_URIPATH"));
    let long = format!("/?q={}", "a".repeat(3000));
    assert!(rules(g, &browser("GET", &long)).contains(&"SizeRestrictions_QUERYSTRING"));
    let bot = Request::new("GET", "/").with_header("User-Agent", "Nikto/2.1.6");
    assert!(rules(g, &bot).contains(&"UserAgent_BadBots_HEADER"));
    let form = browser("POST", "/")
        .with_header("Content-Type", "application/x-www-form-urlencoded")
        .with_body("c=%3Csvg%2Fonload%3Dalert(1)%3E");
    assert!(rules(g, &form).contains(&"CrossSiteScripting_BODY"));
}

#[test]
fn sqli_rule_set() {
    let g = "AWSManagedRulesSQLiRuleSet";
    assert!(
        rules(g, &browser("GET", "/?id=1%27%20or%20%271%27=%271")).contains(&"SQLi_QUERYARGUMENTS")
    );
    let cookie = browser("GET", "/").with_header("Cookie", "id=1 union select password from users");
    assert!(rules(g, &cookie).contains(&"SQLi_COOKIE"));
    let json = browser("POST", "/api")
        .with_header("Content-Type", "application/json")
        .with_body(r#"{"q": "x' union select 1,2--"}"#);
    assert!(rules(g, &json).contains(&"SQLi_BODY"));
}

#[test]
fn known_bad_inputs() {
    let g = "AWSManagedRulesKnownBadInputsRuleSet";
    let local = Request::new("GET", "/")
        .with_header("Host", "localhost:8080")
        .with_header("User-Agent", "x");
    let m = ManagedGroup::by_name(g).unwrap().evaluate(&local);
    assert_eq!(
        m[0].label,
        "awswaf:managed:aws:known-bad-inputs:Host_Localhost_Header"
    );
    assert!(rules(g, &browser("PROPFIND", "/")).contains(&"PROPFIND_METHOD"));
    assert!(rules(g, &browser("GET", "/WEB-INF/web.xml")).contains(&"ExploitablePaths_URIPATH"));
    let l4j = browser("GET", "/").with_header("X-Api-Version", "${jndi:ldap://evil/a}");
    assert!(rules(g, &l4j).contains(&"Log4JRCE_HEADER"));
    assert!(rules(g, &browser("GET", "/?x=java.lang.Runtime"))
        .contains(&"JavaDeserializationRCE_QUERYSTRING"));
}

#[test]
fn os_and_php_groups() {
    assert!(rules(
        "AWSManagedRulesLinuxRuleSet",
        &browser("GET", "/?f=/etc/shadow")
    )
    .contains(&"LFI_QUERYSTRING"));
    assert!(rules(
        "AWSManagedRulesUnixRuleSet",
        &browser("GET", "/?h=x;cat%20/etc/passwd")
    )
    .contains(&"UNIXShellCommandsVariables_QUERYSTRING"));
    assert!(rules(
        "AWSManagedRulesWindowsRuleSet",
        &browser("GET", "/?h=x|net%20user")
    )
    .contains(&"WindowsShellCommands_QUERYARGUMENTS"));
    assert!(rules(
        "AWSManagedRulesPHPRuleSet",
        &browser("GET", "/?c=system(%27id%27)")
    )
    .contains(&"PHPHighRiskMethodsVariables_QUERYSTRING"));
    assert!(rules(
        "AWSManagedRulesAdminProtectionRuleSet",
        &browser("GET", "/admin/login")
    )
    .contains(&"AdminProtection_URIPATH"));
}

#[test]
fn overrides_and_aws_only() {
    let mut g = ManagedGroup::by_name("AWSManagedRulesCommonRuleSet").unwrap();
    let all = g.rules.len();
    assert!(g.override_action("NoUserAgent_HEADER", Action::Count));
    assert!(!g.override_action("Nope", Action::Count));
    let req = Request::new("GET", "/?q=%3Cscript%3E");
    let ins = Inspection::new(&req);
    let m = g.evaluate_until_terminating(&ins);
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].action, Action::Count);
    assert_eq!(m[1].action, Action::Block);
    let aws = g.aws_rules_only();
    assert!(aws.rules.len() < all);
    assert!(aws.rules.iter().all(|r| !r.extension));
}

#[test]
fn rampart_extensions() {
    let g = "AWSManagedRulesCommonRuleSet";
    let upload = browser("POST", "/upload")
        .with_header("Content-Type", "multipart/form-data; boundary=b")
        .with_body("--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"shell.jsp. \"\r\n\r\nx\r\n--b--\r\n");
    assert!(rules(g, &upload).contains(&"RestrictedExtensions_FILENAME"));
    let fixation =
        browser("GET", "/login?PHPSESSID=abc123").with_header("Referer", "https://evil.example/");
    assert!(rules(g, &fixation).contains(&"SessionFixation_QUERYARGUMENTS"));
    let same_site = browser("GET", "/login?PHPSESSID=abc123")
        .with_header("Referer", "https://shop.example.com/cart");
    assert!(!rules(g, &same_site).contains(&"SessionFixation_QUERYARGUMENTS"));
    let xml = browser("POST", "/soap")
        .with_header("Content-Type", "text/xml")
        .with_body("<?xml version=\"1.0\"?><a probe=\"&lt;script&gt;alert(1)&lt;/script&gt;\"/>");
    assert!(rules(g, &xml).contains(&"CrossSiteScripting_BODY"));
    let ssti = browser("GET", "/?name=%7B%7B7*7%7D%7D");
    assert!(rules(g, &ssti).contains(&"GenericInjection_QUERYARGUMENTS"));
    let hdr = browser("GET", "/").with_header("X-Forwarded-Host", "<svg onload=alert(1)>");
    assert!(rules(g, &hdr).contains(&"CrossSiteScripting_HEADER"));
    let smuggle = browser("POST", "/")
        .with_header("Content-Length", "4")
        .with_header("Transfer-Encoding", "chunked");
    assert!(rules(g, &smuggle).contains(&"RequestSmuggling_HEADER"));
    let te = browser("POST", "/").with_header("Transfer-Encoding", "xchunked");
    assert!(rules(g, &te).contains(&"RequestSmuggling_HEADER"));
    assert!(rules(g, &browser("GET", "/?file=report.pdf%2500.php"))
        .contains(&"NullByteInjection_REQUEST"));
    assert!(!rules(g, &browser("GET", "/?file=report.pdf")).contains(&"NullByteInjection_REQUEST"));
}

#[test]
fn encoded_payloads_are_decoded() {
    let g = "AWSManagedRulesCommonRuleSet";
    // Base64 whose padding was read as the name/value separator
    let b64 = browser("GET", "/?PHN2Zy9vbmxvYWQ9YWxlcnQoMSk+PC9zdmc+==");
    assert!(rules(g, &b64).contains(&"CrossSiteScripting_QUERYARGUMENTS"));
    // JS unicode escapes of percent-encoding
    let utf16 = browser("GET", "/").with_header(
        "Cookie",
        "c=\\u0025\\u0033\\u0043script\\u0025\\u0033\\u0045",
    );
    assert!(rules(g, &utf16).contains(&"CrossSiteScripting_COOKIE"));
    // a Base64 path segment
    let seg = browser("GET", "/PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg");
    assert!(rules(g, &seg).contains(&"CrossSiteScripting_URIPATH"));
}

/// Pseudo-random bytes biased towards the characters parsers care about.
fn noise(seed: &mut u64, len: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"%<>'\"\\/.;|&$(){}[]=:+-_*#!?@`^~ \t\r\n0123456789abcdefxuABCDEF\x00\xc0\xc1\xe0\xef\xbc\x80\xaf";
    (0..len)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (*seed >> 33) as usize;
            if r.is_multiple_of(4) {
                (r >> 8) as u8
            } else {
                ALPHABET[r % ALPHABET.len()]
            }
        })
        .collect()
}

#[test]
fn arbitrary_input_never_panics() {
    let groups: Vec<_> = GROUP_NAMES
        .iter()
        .map(|g| ManagedGroup::by_name(g).unwrap())
        .collect();
    let mut seed = 42u64;
    for round in 0..300 {
        let len = (round * 7) % 300;
        let a = noise(&mut seed, len);
        let b = noise(&mut seed, len / 2);
        for &t in crate::transform::Transformation::ALL {
            let _ = crate::transform::apply(t, &a);
        }
        let _ = crate::sqli::is_sqli(&a, crate::Sensitivity::High);
        let _ = crate::xss::is_xss(&a, crate::Sensitivity::High);
        let text = String::from_utf8_lossy(&a).into_owned();
        let ctype = match round % 4 {
            0 => "application/x-www-form-urlencoded".to_string(),
            1 => format!(
                "multipart/form-data; boundary={}",
                String::from_utf8_lossy(&b)
            ),
            2 => "application/json".to_string(),
            _ => "text/xml".to_string(),
        };
        let req = Request::new("POST", &format!("/{text}?{text}"))
            .with_header("Cookie", &text)
            .with_header("User-Agent", &text)
            .with_header("Content-Type", &ctype)
            .with_body(a.clone());
        let _ = crate::evaluate_groups(&groups, &req);
    }
}
