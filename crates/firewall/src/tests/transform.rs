#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn t(tr: Transformation, input: &str) -> Vec<u8> {
    apply(tr, input.as_bytes()).into_owned()
}

fn ts(tr: Transformation, input: &str) -> String {
    String::from_utf8_lossy(&t(tr, input)).into_owned()
}

#[test]
fn all_31_names_round_trip() {
    assert_eq!(Transformation::ALL.len(), 31);
    for &tr in Transformation::ALL {
        assert_eq!(tr.as_str().parse::<Transformation>().unwrap(), tr);
        assert_eq!(tr.to_string(), tr.as_str());
    }
    assert!("URLDECODE".parse::<Transformation>().is_err());
}

#[test]
fn none_borrows() {
    assert!(matches!(
        apply(Transformation::None, b"abc"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn compress_white_space() {
    assert_eq!(
        ts(Transformation::CompressWhiteSpace, "a \t\n\r\x0b\x0c  b"),
        "a b"
    );
    assert_eq!(
        t(Transformation::CompressWhiteSpace, "a\u{a0}b").len(),
        "a\u{a0}b".len()
    );
    assert_eq!(
        apply(Transformation::CompressWhiteSpace, b"a\xa0\xa0b").as_ref(),
        b"a b"
    );
}

#[test]
fn html_entity_decode() {
    assert_eq!(
        ts(Transformation::HtmlEntityDecode, "&lt;script&gt;"),
        "<script>"
    );
    assert_eq!(
        ts(
            Transformation::HtmlEntityDecode,
            "&#60;&#x3c;&#X3C;&#0000060"
        ),
        "<<<<"
    );
    assert_eq!(
        ts(Transformation::HtmlEntityDecode, "java&Tab;script&colon;"),
        "java\tscript:"
    );
    assert_eq!(
        ts(Transformation::HtmlEntityDecode, "&quot;&amp;&apos;"),
        "\"&'"
    );
    assert_eq!(
        ts(Transformation::HtmlEntityDecode, "AT&T &unknown; &"),
        "AT&T &unknown; &"
    );
    assert_eq!(
        apply(Transformation::HtmlEntityDecode, b"&nbsp;").as_ref(),
        b"\xa0"
    );
}

#[test]
fn lowercase_and_uppercase() {
    assert_eq!(ts(Transformation::Lowercase, "SeLeCT"), "select");
    assert_eq!(ts(Transformation::Uppercase, "SeLeCT"), "SELECT");
    assert!(matches!(
        apply(Transformation::Lowercase, b"abc"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn cmd_line() {
    assert_eq!(
        ts(Transformation::CmdLine, "C^M\"D.exe /c  'dir' , x;y"),
        "cmd.exe/c dir x y"
    );
    assert_eq!(ts(Transformation::CmdLine, "wh\\o\"am\"i"), "whoami");
    assert_eq!(ts(Transformation::CmdLine, "ping  ("), "ping(");
}

#[test]
fn cmd_line_win_and_unix() {
    assert_eq!(
        ts(Transformation::CmdLineWin, "p^o^w\"er\"shell ,x"),
        "powershell x"
    );
    assert_eq!(
        ts(Transformation::CmdLineUnix, "c\\a't' \"/etc/passwd\""),
        "cat/etc/passwd"
    );
    assert_eq!(ts(Transformation::CmdLineUnix, "`id`;ls"), "id ls");
}

#[test]
fn url_decode() {
    assert_eq!(
        ts(Transformation::UrlDecode, "%3Cscript%3e+x%zz%"),
        "<script> x%zz%"
    );
    assert_eq!(ts(Transformation::UrlDecode, "%u003c"), "%u003c");
    assert_eq!(ts(Transformation::UrlDecodeUni, "%u003cx%uff1e%41"), "<x>A");
}

#[test]
fn base64_decode() {
    assert_eq!(ts(Transformation::Base64Decode, "PHNjcmlwdD4="), "<script>");
    assert_eq!(ts(Transformation::Base64Decode, "PHNjcmlwdD4"), "<script>");
    // stops at the first character outside the alphabet
    assert_eq!(ts(Transformation::Base64Decode, "YWJj.ZGVm"), "abc");
}

#[test]
fn base64_decode_ext() {
    assert_eq!(
        ts(Transformation::Base64DecodeExt, "PH Nj.cm\nlwdD4="),
        "<script>"
    );
    assert_eq!(
        t(Transformation::Base64DecodeExt, "-_-_"),
        vec![0xfb, 0xff, 0xbf]
    );
}

#[test]
fn hex_decode() {
    assert_eq!(
        ts(Transformation::HexDecode, "3c7363726970743e"),
        "<script>"
    );
    assert_eq!(ts(Transformation::HexDecode, "3c7"), "3c7");
    assert_eq!(ts(Transformation::HexDecode, "zz"), "zz");
}

#[test]
fn md5_and_sha256() {
    assert_eq!(
        hex(&t(Transformation::Md5, "")),
        "d41d8cd98f00b204e9800998ecf8427e"
    );
    assert_eq!(
        hex(&t(Transformation::Md5, "abc")),
        "900150983cd24fb0d6963f7d28e17f72"
    );
    assert_eq!(
        hex(&t(Transformation::Sha256, "abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex(&t(Transformation::Sha256, "")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let long = "a".repeat(1000);
    assert_eq!(
        hex(&t(Transformation::Md5, &long)),
        "cabe45dcc9ae5b66ba86600cca6b8ba8"
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn replace_comments() {
    assert_eq!(
        ts(Transformation::ReplaceComments, "un/**/ion se/*x*/lect"),
        "un ion se lect"
    );
    assert_eq!(
        ts(Transformation::ReplaceComments, "a/* unterminated"),
        "a "
    );
    assert_eq!(ts(Transformation::ReplaceComments, "a*/b"), "a*/b");
}

#[test]
fn remove_comments_char() {
    assert_eq!(
        ts(Transformation::RemoveCommentsChar, "a/*b*/c--d#e"),
        "abcde"
    );
}

#[test]
fn escape_seq_decode() {
    assert_eq!(
        ts(Transformation::EscapeSeqDecode, r"\x3c\n\t\\\101\q"),
        "<\n\t\\Aq"
    );
    assert_eq!(ts(Transformation::EscapeSeqDecode, r"\'\?"), "'?");
}

#[test]
fn sql_hex_decode() {
    assert_eq!(
        ts(Transformation::SqlHexDecode, "select 0x61646d696e"),
        "select admin"
    );
    assert_eq!(ts(Transformation::SqlHexDecode, "0x 0xg1"), "0x 0xg1");
}

#[test]
fn css_decode() {
    assert_eq!(
        ts(Transformation::CssDecode, r"\6a\61vascript"),
        "javascript"
    );
    assert_eq!(
        ts(Transformation::CssDecode, r"exp\72 ession"),
        "expression"
    );
    assert_eq!(ts(Transformation::CssDecode, r"\g\x"), "gx");
    assert_eq!(ts(Transformation::CssDecode, r"\e"), "\u{e}");
}

#[test]
fn js_decode() {
    assert_eq!(
        ts(Transformation::JsDecode, r"\u0061lert\x28\61\51"),
        "alert(1)"
    );
    assert_eq!(ts(Transformation::JsDecode, r"\uff1cx\n"), "<x\n");
    assert_eq!(ts(Transformation::JsDecode, r"\q"), "q");
}

#[test]
fn js_decode_ext() {
    assert_eq!(
        ts(Transformation::JsDecodeExt, r"\u{61}lert\u{28}1)"),
        "alert(1)"
    );
    assert_eq!(ts(Transformation::JsDecodeExt, r"\u00e9"), "é");
}

#[test]
fn normalize_path() {
    assert_eq!(
        ts(Transformation::NormalizePath, "/a//b/./c/../d"),
        "/a/b/d"
    );
    assert_eq!(
        ts(Transformation::NormalizePath, "/../../etc/passwd"),
        "/etc/passwd"
    );
    assert_eq!(ts(Transformation::NormalizePath, "a/../../x"), "../x");
    assert_eq!(ts(Transformation::NormalizePath, "/dir/"), "/dir/");
    assert_eq!(ts(Transformation::NormalizePathWin, "C:\\a\\..\\b"), "C:/b");
}

#[test]
fn nulls() {
    assert_eq!(t(Transformation::RemoveNulls, "a\0b\0"), b"ab");
    assert_eq!(t(Transformation::ReplaceNulls, "a\0b"), b"a b");
}

#[test]
fn utf8_to_unicode() {
    assert_eq!(ts(Transformation::Utf8ToUnicode, "aé€"), "a%u00e9%u20ac");
    assert!(matches!(
        apply(Transformation::Utf8ToUnicode, b"abc"),
        Cow::Borrowed(_)
    ));
}

#[test]
fn whitespace_trims() {
    assert_eq!(
        ts(Transformation::RemoveWhitespace, " s e\tl\ne c t "),
        "select"
    );
    assert_eq!(ts(Transformation::Trim, " \t x y \n"), "x y");
    assert_eq!(ts(Transformation::TrimLeft, "  x "), "x ");
    assert_eq!(ts(Transformation::TrimRight, "  x "), "  x");
}

#[test]
fn chains_apply_in_order() {
    let chain = [
        Transformation::UrlDecode,
        Transformation::HtmlEntityDecode,
        Transformation::Lowercase,
    ];
    assert_eq!(
        apply_all(&chain, b"%26lt%3BSCRIPT%26gt%3B").as_ref(),
        b"<script>"
    );
    assert_eq!(apply_all(&[], b"x").as_ref(), b"x");
}
