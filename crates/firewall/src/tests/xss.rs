#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

const ATTACKS: &[&str] = &[
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=prompt(1)>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=' java\tscript:alert(1)'>x</a>",
    "<iframe src=//evil>",
    "<div style=\"width: expression(alert(1))\">",
    "<x onclick=alert(1)>click",
    "\"><body onload=alert(1)>",
    "\" onmouseover=\"alert(1)",
    "' autofocus onfocus=confirm(1) x='",
    "javascript:alert(document.cookie)",
    "';alert(String.fromCharCode(88,83,83))//",
    "<details open ontoggle=alert(1)>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD4=\">",
    "<math><mtext></mtext></math>",
    "(alert)(1)",
    "document[\"cookie\"]",
    "<py-script>print(1)</py-script>",
    "<input onfocus=alert(1) autofocus>",
    "\"o<x>nmouseover=alert<x>(1)//",
    "<a href=\"about:<script>x=1</script>\">bb",
    "<div style=\"background-image: url(http://evil.example/x.js)\">",
];

const BENIGN: &[&str] = &[
    "The standard for the <$ tag is to enclose text",
    "a < b and c > d",
    "<b>bold</b> and <i>italic</i>",
    "Visit https://example.com/path?x=1",
    "I love javascript programming",
    "upon receipt",
    "<3 you",
    "confirmation number 12345",
    "the onset of winter",
    "<?xml version=\"1.0\"?><root><a>text</a></root>",
];

#[test]
fn patterns_compile() {
    assert!(patterns_ok());
}

#[test]
fn detects_xss() {
    for a in ATTACKS {
        assert!(
            is_xss(a.to_ascii_lowercase().as_bytes(), Sensitivity::Low),
            "missed {a:?}"
        );
    }
}

#[test]
fn leaves_markup_free_text_alone() {
    for b in BENIGN {
        assert!(
            !is_xss(b.to_ascii_lowercase().as_bytes(), Sensitivity::Low),
            "false positive {b:?}"
        );
    }
}

#[test]
fn nested_tag_stripping_is_bounded() {
    let nested = "<".repeat(3000) + &"a>".repeat(3000);
    let _ = is_xss(nested.as_bytes(), Sensitivity::High);
}

#[test]
fn high_flags_more_tags() {
    assert!(!is_xss(b"<img src=a.png>", Sensitivity::Low));
    assert!(is_xss(b"<img src=a.png>", Sensitivity::High));
}
