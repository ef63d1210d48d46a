//! The 31 WAFv2 text transformations (`TextTransformationType`).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;

use crate::hash;

macro_rules! transformations {
    ($($v:ident => $s:literal),* $(,)?) => {
        /// A WAFv2 text transformation, named as in the API's `TextTransformationType`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Transformation { $(#[doc = $s] $v),* }

        impl Transformation {
            /// Every transformation, in the order of the API model.
            pub const ALL: &'static [Transformation] = &[$(Transformation::$v),*];

            /// The API name (`URL_DECODE`, ...).
            pub fn as_str(self) -> &'static str {
                match self { $(Transformation::$v => $s),* }
            }
        }

        impl FromStr for Transformation {
            type Err = UnknownTransformation;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($s => Ok(Transformation::$v),)* _ => Err(UnknownTransformation(s.to_string())) }
            }
        }
    };
}

transformations! {
    None => "NONE",
    CompressWhiteSpace => "COMPRESS_WHITE_SPACE",
    HtmlEntityDecode => "HTML_ENTITY_DECODE",
    Lowercase => "LOWERCASE",
    CmdLine => "CMD_LINE",
    UrlDecode => "URL_DECODE",
    Base64Decode => "BASE64_DECODE",
    HexDecode => "HEX_DECODE",
    Md5 => "MD5",
    ReplaceComments => "REPLACE_COMMENTS",
    EscapeSeqDecode => "ESCAPE_SEQ_DECODE",
    SqlHexDecode => "SQL_HEX_DECODE",
    CssDecode => "CSS_DECODE",
    JsDecode => "JS_DECODE",
    NormalizePath => "NORMALIZE_PATH",
    NormalizePathWin => "NORMALIZE_PATH_WIN",
    RemoveNulls => "REMOVE_NULLS",
    ReplaceNulls => "REPLACE_NULLS",
    Base64DecodeExt => "BASE64_DECODE_EXT",
    UrlDecodeUni => "URL_DECODE_UNI",
    Utf8ToUnicode => "UTF8_TO_UNICODE",
    RemoveWhitespace => "REMOVE_WHITESPACE",
    Trim => "TRIM",
    TrimLeft => "TRIM_LEFT",
    TrimRight => "TRIM_RIGHT",
    RemoveCommentsChar => "REMOVE_COMMENTS_CHAR",
    Uppercase => "UPPERCASE",
    CmdLineWin => "CMD_LINE_WIN",
    CmdLineUnix => "CMD_LINE_UNIX",
    JsDecodeExt => "JS_DECODE_EXT",
    Sha256 => "SHA256",
}

/// A transformation name that WAFv2 does not define.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownTransformation(pub String);

impl fmt::Display for UnknownTransformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown text transformation type {:?}", self.0)
    }
}

impl std::error::Error for UnknownTransformation {}

impl fmt::Display for Transformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies one transformation. Borrowed when nothing changes.
pub fn apply(t: Transformation, input: &[u8]) -> Cow<'_, [u8]> {
    use Transformation as T;
    match t {
        T::None => Cow::Borrowed(input),
        T::CompressWhiteSpace => compress_white_space(input),
        T::HtmlEntityDecode => html_entity_decode(input),
        T::Lowercase => lowercase(input),
        T::Uppercase => {
            if input.iter().any(u8::is_ascii_lowercase) {
                Cow::Owned(input.to_ascii_uppercase())
            } else {
                Cow::Borrowed(input)
            }
        }
        T::CmdLine => cmd_line(input, b"\\\"'^"),
        T::CmdLineWin => cmd_line(input, b"\"^"),
        T::CmdLineUnix => cmd_line(input, b"\\\"'`"),
        T::UrlDecode => url_decode(input, false, true),
        T::UrlDecodeUni => url_decode(input, true, true),
        T::Base64Decode => base64_decode(input),
        T::Base64DecodeExt => base64_decode_ext(input),
        T::HexDecode => hex_decode(input),
        T::Md5 => Cow::Owned(hash::md5(input).to_vec()),
        T::Sha256 => Cow::Owned(hash::sha256(input).to_vec()),
        T::ReplaceComments => replace_comments(input),
        T::RemoveCommentsChar => remove_comments_char(input),
        T::EscapeSeqDecode => escape_seq_decode(input),
        T::SqlHexDecode => sql_hex_decode(input),
        T::CssDecode => css_decode(input),
        T::JsDecode => js_decode(input, false),
        T::JsDecodeExt => js_decode(input, true),
        T::NormalizePath => normalize_path(input, false),
        T::NormalizePathWin => normalize_path(input, true),
        T::RemoveNulls => {
            if input.contains(&0) {
                Cow::Owned(input.iter().copied().filter(|&b| b != 0).collect())
            } else {
                Cow::Borrowed(input)
            }
        }
        T::ReplaceNulls => {
            if input.contains(&0) {
                Cow::Owned(
                    input
                        .iter()
                        .map(|&b| if b == 0 { b' ' } else { b })
                        .collect(),
                )
            } else {
                Cow::Borrowed(input)
            }
        }
        T::Utf8ToUnicode => utf8_to_unicode(input),
        T::RemoveWhitespace => {
            if input.iter().any(|&b| is_ws(b)) {
                Cow::Owned(input.iter().copied().filter(|&b| !is_ws(b)).collect())
            } else {
                Cow::Borrowed(input)
            }
        }
        T::Trim => trim(input, true, true),
        T::TrimLeft => trim(input, true, false),
        T::TrimRight => trim(input, false, true),
    }
}

/// Applies transformations in order (the caller sorts them by priority).
pub fn apply_all<'a>(ts: &[Transformation], input: &'a [u8]) -> Cow<'a, [u8]> {
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(input);
    for &t in ts {
        cur = match cur {
            Cow::Borrowed(b) => apply(t, b),
            Cow::Owned(v) => Cow::Owned(apply(t, &v).into_owned()),
        };
    }
    cur
}

/// Whitespace as AWS's whitespace transformations see it: space, \t \n \v \f \r and NBSP (160).
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

fn hexval(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn at(input: &[u8], i: usize) -> u8 {
    input.get(i).copied().unwrap_or(0)
}

fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().any(u8::is_ascii_uppercase) {
        Cow::Owned(input.to_ascii_lowercase())
    } else {
        Cow::Borrowed(input)
    }
}

fn compress_white_space(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut prev_space = false;
    for &b in input {
        if is_ws(b) {
            if !prev_space {
                out.push(b' ');
            }
            prev_space = true;
        } else {
            out.push(b);
            prev_space = false;
        }
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

fn trim(input: &[u8], left: bool, right: bool) -> Cow<'_, [u8]> {
    let mut s = input;
    if left {
        while let Some((&b, rest)) = s.split_first() {
            if !is_ws(b) {
                break;
            }
            s = rest;
        }
    }
    if right {
        while let Some((&b, rest)) = s.split_last() {
            if !is_ws(b) {
                break;
            }
            s = rest;
        }
    }
    Cow::Borrowed(s)
}

/// CMD_LINE family: delete `deleted` characters, delete spaces before `/` and `(`, turn `,` and
/// `;` into spaces, compress spaces, lowercase.
fn cmd_line<'a>(input: &'a [u8], deleted: &[u8]) -> Cow<'a, [u8]> {
    let mut out: Vec<u8> = Vec::with_capacity(input.len());
    for &b in input {
        if deleted.contains(&b) {
            continue;
        }
        let c = match b {
            b',' | b';' => b' ',
            _ if is_ws(b) => b' ',
            _ => b.to_ascii_lowercase(),
        };
        if c == b' ' {
            if out.last() == Some(&b' ') {
                continue;
            }
        } else if c == b'/' || c == b'(' {
            while out.last() == Some(&b' ') {
                out.pop();
            }
        }
        out.push(c);
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// URL_DECODE (`%HH`, `+` as space) and URL_DECODE_UNI (also `%uHHHH`; full-width ASCII maps to
/// ASCII, other code points to their low byte, as ModSecurity does).
pub(crate) fn url_decode(input: &[u8], uni: bool, plus: bool) -> Cow<'_, [u8]> {
    if !input.iter().any(|&b| b == b'%' || (plus && b == b'+')) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = at(input, i);
        if b == b'%' {
            if uni && matches!(at(input, i + 1), b'u' | b'U') {
                let hs: Option<Vec<u8>> = (2..6).map(|k| hexval(at(input, i + k))).collect();
                if let Some(h) = hs {
                    let cp = h.iter().fold(0u32, |a, &d| a << 4 | u32::from(d));
                    out.push(unicode_to_byte(cp));
                    i += 6;
                    continue;
                }
            }
            if let (Some(h), Some(l)) = (hexval(at(input, i + 1)), hexval(at(input, i + 2))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    Cow::Owned(out)
}

/// Full-width ASCII (U+FF01..U+FF5E) to ASCII; anything else to its low byte.
pub(crate) fn unicode_to_byte(cp: u32) -> u8 {
    if (0xff01..=0xff5e).contains(&cp) {
        (cp - 0xff01 + 0x21) as u8
    } else {
        (cp & 0xff) as u8
    }
}

fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    // Decode the longest prefix made of Base64 alphabet characters.
    let end = input
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
        .unwrap_or(input.len());
    let s = input.get(..end).unwrap_or(&[]);
    let trimmed: Vec<u8> = s.iter().copied().filter(|&b| b != b'=').collect();
    Cow::Owned(decode_b64_lenient(&trimmed))
}

fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    let cleaned: Vec<u8> = input
        .iter()
        .filter_map(|&b| match b {
            b'-' => Some(b'+'),
            b'_' => Some(b'/'),
            b if b.is_ascii_alphanumeric() || b == b'+' || b == b'/' => Some(b),
            _ => None,
        })
        .collect();
    Cow::Owned(decode_b64_lenient(&cleaned))
}

/// Decodes unpadded standard Base64, dropping a trailing partial group that cannot decode.
pub(crate) fn decode_b64_lenient(s: &[u8]) -> Vec<u8> {
    let usable = match s.len() % 4 {
        1 => s.len() - 1,
        _ => s.len(),
    };
    let s = s.get(..usable).unwrap_or(&[]);
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(s)
        .or_else(|_| {
            base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_allow_trailing_bits(true)
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone),
            )
            .decode(s)
        })
        .unwrap_or_default()
}

fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() / 2);
    for pair in input.chunks(2) {
        match pair {
            [h, l] => match (hexval(*h), hexval(*l)) {
                (Some(h), Some(l)) => out.push(h << 4 | l),
                _ => return Cow::Borrowed(input),
            },
            _ => return Cow::Borrowed(input),
        }
    }
    Cow::Owned(out)
}

fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.windows(2).any(|w| w == b"/*") {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if at(input, i) == b'/' && at(input, i + 1) == b'*' && i + 1 < input.len() {
            let mut j = i + 2;
            while j < input.len()
                && !(at(input, j) == b'*' && at(input, j + 1) == b'/' && j + 1 < input.len())
            {
                j += 1;
            }
            out.push(b' ');
            i = (j + 2).min(input.len().max(j));
            continue;
        }
        out.push(at(input, i));
        i += 1;
    }
    Cow::Owned(out)
}

fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut changed = false;
    while i < input.len() {
        let (a, b) = (at(input, i), input.get(i + 1).copied());
        if (a == b'/' && b == Some(b'*'))
            || (a == b'*' && b == Some(b'/'))
            || (a == b'-' && b == Some(b'-'))
        {
            i += 2;
            changed = true;
        } else if a == b'#' {
            i += 1;
            changed = true;
        } else {
            out.push(a);
            i += 1;
        }
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = at(input, i);
        if b != b'\\' || i + 1 >= input.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = at(input, i + 1);
        let simple = match c {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' | b'?' | b'\'' | b'"' => Some(c),
            _ => None,
        };
        if let Some(v) = simple {
            out.push(v);
            i += 2;
        } else if (c == b'x' || c == b'X')
            && hexval(at(input, i + 2)).is_some()
            && hexval(at(input, i + 3)).is_some()
        {
            let v =
                hexval(at(input, i + 2)).unwrap_or(0) << 4 | hexval(at(input, i + 3)).unwrap_or(0);
            out.push(v);
            i += 4;
        } else if (b'0'..=b'7').contains(&c) {
            let mut v: u32 = 0;
            let mut j = i + 1;
            while j < input.len() && j < i + 4 && (b'0'..=b'7').contains(&at(input, j)) {
                v = v * 8 + u32::from(at(input, j) - b'0');
                j += 1;
            }
            out.push((v & 0xff) as u8);
            i = j;
        } else {
            out.push(c);
            i += 2;
        }
    }
    Cow::Owned(out)
}

fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut changed = false;
    while i < input.len() {
        if at(input, i) == b'0'
            && matches!(at(input, i + 1), b'x' | b'X')
            && hexval(at(input, i + 2)).is_some()
            && hexval(at(input, i + 3)).is_some()
        {
            let mut j = i + 2;
            while let (Some(h), Some(l)) = (
                input.get(j).copied().and_then(hexval),
                input.get(j + 1).copied().and_then(hexval),
            ) {
                out.push(h << 4 | l);
                j += 2;
            }
            i = j;
            changed = true;
            continue;
        }
        out.push(at(input, i));
        i += 1;
    }
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(input)
    }
}

fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = at(input, i);
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        if i + 1 >= input.len() {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut cp: u32 = 0;
        while j < input.len() && j < i + 7 && hexval(at(input, j)).is_some() {
            cp = cp << 4 | u32::from(hexval(at(input, j)).unwrap_or(0));
            j += 1;
        }
        if j > i + 1 {
            out.push(unicode_to_byte(cp));
            if j < input.len() && is_ws(at(input, j)) {
                j += 1;
            }
            i = j;
        } else if at(input, i + 1) == b'\n' {
            i += 2;
        } else {
            out.push(at(input, i + 1));
            i += 2;
        }
    }
    Cow::Owned(out)
}

fn push_utf8(out: &mut Vec<u8>, cp: u32) {
    match char::from_u32(cp) {
        Some(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.push(unicode_to_byte(cp)),
    }
}

/// JS_DECODE: `\uHHHH` (full-width ASCII to ASCII, else the low byte), `\xHH`, octal `\OOO`,
/// the C escapes, `\c` to `c`. The extended form also decodes `\u{H...}` and keeps non-ASCII
/// code points as UTF-8.
fn js_decode(input: &[u8], ext: bool) -> Cow<'_, [u8]> {
    if !input.contains(&b'\\') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = at(input, i);
        if b != b'\\' || i + 1 >= input.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let c = at(input, i + 1);
        if c == b'u' || c == b'U' {
            if ext && at(input, i + 2) == b'{' {
                let mut j = i + 3;
                let mut cp: u32 = 0;
                while j < input.len() && j < i + 10 && hexval(at(input, j)).is_some() {
                    cp = cp.saturating_mul(16) + u32::from(hexval(at(input, j)).unwrap_or(0));
                    j += 1;
                }
                if at(input, j) == b'}' && j > i + 3 {
                    push_utf8(&mut out, cp);
                    i = j + 1;
                    continue;
                }
            }
            let hs: Option<Vec<u8>> = (2..6).map(|k| hexval(at(input, i + k))).collect();
            if let Some(h) = hs.filter(|_| i + 5 < input.len()) {
                let cp = h.iter().fold(0u32, |a, &d| a << 4 | u32::from(d));
                if ext && cp >= 0x80 && !(0xff01..=0xff5e).contains(&cp) {
                    push_utf8(&mut out, cp);
                } else {
                    out.push(unicode_to_byte(cp));
                }
                i += 6;
                continue;
            }
        }
        if (c == b'x' || c == b'X')
            && hexval(at(input, i + 2)).is_some()
            && hexval(at(input, i + 3)).is_some()
            && i + 3 < input.len()
        {
            out.push(
                hexval(at(input, i + 2)).unwrap_or(0) << 4 | hexval(at(input, i + 3)).unwrap_or(0),
            );
            i += 4;
            continue;
        }
        if (b'0'..=b'7').contains(&c) {
            let mut v: u32 = 0;
            let mut j = i + 1;
            while j < input.len() && j < i + 4 && (b'0'..=b'7').contains(&at(input, j)) {
                let nv = v * 8 + u32::from(at(input, j) - b'0');
                if nv > 0xff {
                    break;
                }
                v = nv;
                j += 1;
            }
            out.push(v as u8);
            i = j;
            continue;
        }
        let v = match c {
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 11,
            other => other,
        };
        out.push(v);
        i += 2;
    }
    Cow::Owned(out)
}

fn normalize_path(input: &[u8], win: bool) -> Cow<'_, [u8]> {
    let converted: Cow<'_, [u8]> = if win && input.contains(&b'\\') {
        Cow::Owned(
            input
                .iter()
                .map(|&b| if b == b'\\' { b'/' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(input)
    };
    let s = converted.as_ref();
    if !s.contains(&b'/') && s != b"." && s != b".." {
        return converted;
    }
    let absolute = s.first() == Some(&b'/');
    let trailing = s.last() == Some(&b'/') || s.ends_with(b"/.") || s.ends_with(b"/..");
    let mut segs: Vec<&[u8]> = Vec::new();
    for seg in s.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                if matches!(segs.last(), Some(&last) if last != b"..") {
                    segs.pop();
                } else if !absolute {
                    segs.push(seg);
                }
            }
            _ => segs.push(seg),
        }
    }
    let mut out = Vec::with_capacity(s.len());
    if absolute {
        out.push(b'/');
    }
    for (k, seg) in segs.iter().enumerate() {
        if k > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing && !segs.is_empty() {
        out.push(b'/');
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

fn utf8_to_unicode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.is_ascii() {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 2);
    for chunk in input.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_ascii() {
                out.push(c as u8);
            } else {
                out.extend_from_slice(format!("%u{:04x}", c as u32).as_bytes());
            }
        }
        out.extend_from_slice(chunk.invalid());
    }
    Cow::Owned(out)
}

/// Named HTML entities decoded by HTML_ENTITY_DECODE: the HTML 4 basics plus the HTML5 names
/// that matter for markup and script syntax.
const ENTITIES: &[(&str, &str)] = &[
    ("quot", "\""),
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("colon", ":"),
    ("semi", ";"),
    ("comma", ","),
    ("period", "."),
    ("sol", "/"),
    ("bsol", "\\"),
    ("lpar", "("),
    ("rpar", ")"),
    ("lsqb", "["),
    ("rsqb", "]"),
    ("lbrack", "["),
    ("rbrack", "]"),
    ("lcub", "{"),
    ("rcub", "}"),
    ("lbrace", "{"),
    ("rbrace", "}"),
    ("excl", "!"),
    ("quest", "?"),
    ("num", "#"),
    ("dollar", "$"),
    ("percnt", "%"),
    ("equals", "="),
    ("plus", "+"),
    ("ast", "*"),
    ("commat", "@"),
    ("grave", "`"),
    ("hat", "^"),
    ("lowbar", "_"),
    ("verbar", "|"),
    ("vert", "|"),
    ("tilde", "~"),
    ("tab", "\t"),
    ("newline", "\n"),
    ("dash", "-"),
    ("hyphen", "-"),
    ("minus", "-"),
];

fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'&') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = at(input, i);
        if b != b'&' {
            out.push(b);
            i += 1;
            continue;
        }
        if at(input, i + 1) == b'#' {
            let hex = matches!(at(input, i + 2), b'x' | b'X');
            let mut j = if hex { i + 3 } else { i + 2 };
            let start = j;
            let mut cp: u32 = 0;
            while j < input.len() {
                let d = at(input, j);
                let v = if hex {
                    hexval(d)
                } else {
                    d.is_ascii_digit().then(|| d - b'0')
                };
                let Some(v) = v else { break };
                cp = cp
                    .saturating_mul(if hex { 16 } else { 10 })
                    .saturating_add(u32::from(v));
                j += 1;
            }
            if j > start {
                if at(input, j) == b';' && j < input.len() {
                    j += 1;
                }
                if cp < 0x80 {
                    out.push(cp as u8);
                } else {
                    push_utf8(&mut out, cp);
                }
                i = j;
                continue;
            }
        } else {
            let mut j = i + 1;
            while j < input.len() && j < i + 12 && at(input, j).is_ascii_alphanumeric() {
                j += 1;
            }
            if j > i + 1 {
                let name = String::from_utf8_lossy(input.get(i + 1..j).unwrap_or(&[]))
                    .to_ascii_lowercase();
                if let Some((_, v)) = ENTITIES.iter().find(|(n, _)| *n == name) {
                    let has_semi = at(input, j) == b';' && j < input.len();
                    if has_semi || matches!(name.as_str(), "quot" | "amp" | "lt" | "gt" | "nbsp") {
                        if *v == "\u{a0}" {
                            out.push(0xa0);
                        } else {
                            out.extend_from_slice(v.as_bytes());
                        }
                        i = if has_semi { j + 1 } else { j };
                        continue;
                    }
                }
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
#[path = "tests/transform.rs"]
mod tests;
