#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

const ATTACKS: &[&str] = &[
    "1' or '1'='1",
    "' or 1=1--",
    "admin'--",
    "admin' #",
    "\" or \"\"=\"",
    "1 or 1=1",
    "1) or (1=1",
    "') or ('a'='a",
    "1 union select null,version()--",
    "' union all select username, password from users--",
    "-1 UNION/**/SELECT 1,2,3",
    "1; drop table users",
    "'; exec xp_cmdshell 'dir'--",
    "1 and sleep(5)",
    "' and extractvalue(1,concat(0x7e,version()))--",
    "1' and benchmark(1000000,md5(1))#",
    "select * from users where id=1",
    "' waitfor delay '0:0:5'--",
    "1 order by 3--",
    "' having 1=1--",
    "1/*!50000union*/ select 1",
    "x' AND 1=(SELECT COUNT(*) FROM tabname); --",
    "sleep(10)#",
    "Vaciar carrito' DELETE FROM USERS",
];

const BENIGN: &[&str] = &[
    "O'Reilly",
    "Rock 'n' roll",
    "D'or 1st parfume",
    "I would like to request a random number between 1 and 10, please.",
    "select your favourite colour",
    "Calle Poador, 65 3A",
    "john.smith@example.com",
    "you and me or them",
    "it's 5 o'clock",
    "union station",
    "it's' select from the menu",
    "drop me a line",
    "Order by phone: 555-0199",
    "a-b",
    "3.14",
    "",
];

#[test]
fn detects_injections_low() {
    for a in ATTACKS {
        assert!(
            is_sqli(a.to_ascii_lowercase().as_bytes(), Sensitivity::Low),
            "missed {a:?}"
        );
    }
}

#[test]
fn high_is_a_superset_on_attacks() {
    for a in ATTACKS {
        assert!(is_sqli(a.as_bytes(), Sensitivity::High), "missed {a:?}");
    }
    assert!(is_sqli(b"' or 1", Sensitivity::High));
}

#[test]
fn leaves_text_alone() {
    for b in BENIGN {
        assert!(
            !is_sqli(b.as_bytes(), Sensitivity::Low),
            "false positive {b:?}"
        );
    }
}

#[test]
fn fingerprints() {
    assert_eq!(fingerprint(b"1 or 1=1", None), "1&1o1");
    assert_eq!(fingerprint(b"x' or 'a'='a", Some(b'\'')), "s&sos");
    assert_eq!(fingerprint(b"1 union select", None), "1UE");
    assert_eq!(fingerprint(b"admin'--", Some(b'\'')), "sc");
    assert_eq!(fingerprint(b"sleep(5)", None), "f(1)");
    // no closing quote: not a break-out
    assert_eq!(fingerprint(b"plain", Some(b'\'')), "");
}

#[test]
fn long_input_is_bounded() {
    let long = "a ".repeat(100_000);
    assert!(!is_sqli(long.as_bytes(), Sensitivity::High));
}
