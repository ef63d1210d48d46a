//! Cross-site scripting detection: a small HTML tokeniser finds tags and their attributes and
//! flags what can run script (script-capable elements, event handler attributes, script URLs,
//! style expressions); outside markup it looks for attribute-context break-outs into event
//! handlers, script URL schemes and calls of the script sinks an injected script needs.

use std::sync::LazyLock;

use regex::bytes::RegexSet;

use crate::sqli::Sensitivity;

/// Elements that run script or load active content by themselves.
const DANGEROUS_TAGS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "meta",
    "link",
    "style",
    "form",
    "isindex",
    "xml",
    "import",
    "template",
    "vmlframe",
    "handler",
    "animate",
    "set",
    "listener",
    "xss",
    "portal",
    "layer",
    "ilayer",
    "bgsound",
    "xmp",
    "noembed",
    "noscript",
    "plaintext",
    "textarea",
    "title",
    "html",
    "body",
    "img",
    "image",
    "video",
    "audio",
    "source",
    "input",
    "button",
    "details",
    "marquee",
    "keygen",
    "object",
    "param",
    "foreignobject",
    "use",
    "animatetransform",
    "animatemotion",
    "discard",
    "xlink",
    "comment",
    "blink",
    "dialog",
    "select",
    "option",
    "label",
];

/// Of these, the ones that are enough on their own even without attributes.
const ALWAYS_TAGS: &[&str] = &[
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "svg",
    "math",
    "base",
    "meta",
    "link",
    "style",
    "isindex",
    "vmlframe",
    "xss",
    "portal",
    "layer",
    "ilayer",
    "bgsound",
    "template",
    "handler",
    "foreignobject",
    "plaintext",
    "xmp",
    "noembed",
];

const URL_SCHEMES: &[&[u8]] = &[
    b"javascript:",
    b"vbscript:",
    b"livescript:",
    b"mocha:",
    b"data:text/html",
    b"data:image/svg",
    b"data:application/",
    b"data:text/xml",
    b"data:text/javascript",
    b"jar:",
];

static SINKS: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    ascii_set(&[
        // calls of the dialogs and evaluators an injected script uses
        r"(?:^|[^a-z0-9_.])(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|msgbox|atob|fetch|importscripts)\s*(?:\?\.\s*)?(?:\(|`|\.call|\.apply|\.bind)",
        r"(?:^|[^a-z0-9_])(?:alert|prompt|confirm|eval)\s*\[",
        r"__(?:define|lookup)(?:getter|setter)__|arguments\s*\.\s*callee",
        r"\(\s*(?:alert|prompt|confirm|eval)\s*\)\s*[(`]|document\s*\[\s*['\x22`]\s*(?:cookie|domain|write|location)|\$\s*\.\s*getscript\s*\(|\breflect\s*\.\s*[a-z]+\s*\.\s*(?:call|apply)\s*`",
        r"\[\s*['\x22](?:alert|prompt|confirm|eval)['\x22]\s*\]",
        r"document\s*\??\.\s*(?:cookie|domain|write|writeln|location|body\s*\.\s*innerhtml)",
        r"(?:window|self|top|parent|this|frames|globalthis)\s*(?:\.\s*(?:location|eval|alert|name|open)|\[)",
        r"string\s*\.\s*fromcharcode",
        r"\.\s*(?:innerhtml|outerhtml)\s*=",
        r"(?:^|[^a-z])location\s*(?:\.\s*(?:href|hash|search)\s*)?=\s*\S",
        r"constructor\s*(?:\.\s*constructor|\[)|\.\s*constructor\s*\(",
        r"(?:^|[;,(\s'\x22`])new\s+function\s*\(",
        r"(?:\{\{|\$\{)[^}]*(?:constructor|alert|\$on|\$eval|\$event)",
        r"expression\s*\(",
        r"-moz-binding\s*:|behavior\s*:\s*url",
        r"@import\s*['\x22(]|url\s*\(\s*['\x22]?\s*(?:java|vb)script:",
        r"<\s*\?\s*import",
        r"(?:['\x22`;)]|^)\s*(?:alert|prompt|confirm)\s*(?:\x2f\*.*?\*\x2f)?\s*\(",
        r"on[a-z]{3,}\s*=\s*['\x22`]?\s*[a-z_$][\w$.]*\s*[(`=]",
        r"\bsrcdoc\s*=|\bformaction\s*=|xlink\s*:\s*href|\bhref\s*=\s*['\x22]?\s*(?:java|vb)script",
    ])
});

static STYLE_SCRIPT_URL: LazyLock<Option<regex::bytes::Regex>> = LazyLock::new(|| {
    regex::bytes::Regex::new(r#"(?-u)url\s*\(\s*['"]?\s*(?:https?:)?//[^)]*\.(?:js|htc|xml|svg)\b|url\s*\(\s*['"]?\s*data:"#).ok()
});

static TAG_STRIP: LazyLock<Option<regex::bytes::Regex>> =
    LazyLock::new(|| regex::bytes::Regex::new(r"(?-u)</?[a-z0-9]{0,8}>").ok());

static SINK_WORDS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .build([
            "alert",
            "prompt",
            "confirm",
            "eval",
            "settimeout",
            "setinterval",
            "execscript",
            "msgbox",
            "atob",
            "fetch",
            "importscripts",
            "document",
            "window",
            "self",
            "top",
            "parent",
            "this",
            "frames",
            "globalthis",
            "fromcharcode",
            "innerhtml",
            "outerhtml",
            "location",
            "constructor",
            "function",
            "{{",
            "${",
            "expression",
            "binding",
            "behavior",
            "@import",
            "url",
            "<",
            "srcdoc",
            "formaction",
            "xlink",
            "href",
            "reflect",
            "getscript",
        ])
        .ok()
});

static BREAKOUT: LazyLock<Option<RegexSet>> = LazyLock::new(|| {
    ascii_set(&[
        // attribute-context break-out into an event handler: `" onmouseover=...`, `'/onload=`
        r#"['"`]\s*[/\s]*on[a-z]{3,}\s*="#,
        r#"(?:^|[\s/])on(?:load|error|click|mouse[a-z]+|focus[a-z]*|blur|key[a-z]+|begin|end|toggle|start|finish|animation[a-z]+|transition[a-z]+|pointer[a-z]+|touch[a-z]+|drag[a-z]*|drop|scroll|wheel|input|change|submit|reset|select|copy|cut|paste|play|pause|message|hashchange|popstate|pageshow|resize|unload|beforeunload|readystatechange|auxclick|contextmenu|dblclick|show|search|invalid|loadstart|loadend|progress|abort|canplay[a-z]*|ended|seeked|seeking|stalled|suspend|timeupdate|volumechange|waiting|durationchange|emptied|loadeddata|loadedmetadata|ratechange|afterprint|beforeprint|activate|beforeactivate|deactivate|beforedeactivate|filterchange|help|layoutcomplete|losecapture|move[a-z]*|propertychange|rowenter|rowexit|selectstart|start|stop|bounce|mozfullscreenchange|webkit[a-z]+)\s*=\s*\S"#,
    ])
});

/// A byte-regex set with ASCII classes and boundaries (inputs are lowercased bytes).
fn ascii_set(patterns: &[&str]) -> Option<RegexSet> {
    RegexSet::new(patterns.iter().map(|p| format!("(?-u){p}"))).ok()
}

fn strip_ctl(input: &[u8]) -> Vec<u8> {
    input
        .iter()
        .copied()
        .filter(|&b| !matches!(b, b'\t' | b'\n' | b'\r' | 0 | 0x0b | 0x0c))
        .collect()
}

fn has_script_url(v: &[u8]) -> bool {
    // Browsers drop tabs and newlines inside URLs and ignore leading spaces and controls.
    let v = strip_ctl(v);
    let start = v.iter().position(|&b| b > b' ').unwrap_or(v.len());
    let v = v.get(start..).unwrap_or(&[]);
    URL_SCHEMES.iter().any(|s| v.starts_with(s))
}

fn find_script_url_anywhere(v: &[u8]) -> bool {
    if !v.contains(&b':') {
        return false;
    }
    let v = strip_ctl(v);
    for s in [
        &b"javascript:"[..],
        b"vbscript:",
        b"livescript:",
        b"data:text/html",
        b"data:image/svg+xml",
    ] {
        if let Some(p) = memchr::memmem::find(&v, s) {
            // At the start, or after something that can end an attribute name or a quote.
            let prev = p.checked_sub(1).and_then(|q| v.get(q)).copied();
            if prev.is_none_or(|c| !c.is_ascii_alphanumeric()) {
                return true;
            }
        }
    }
    false
}

/// One tag found by the tokeniser.
struct Tag {
    name: Vec<u8>,
    attrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Scans for `<name ...` tags; attribute parsing follows the HTML tokeniser loosely (`/` and
/// whitespace separate attributes, values may be quoted or not, an unclosed tag still counts).
fn tags(s: &[u8]) -> Vec<Tag> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = s.get(i..).and_then(|r| r.iter().position(|&b| b == b'<')) {
        i += p + 1;
        if s.get(i) == Some(&b'/') {
            i += 1;
        }
        let start = i;
        while s
            .get(i)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'))
        {
            i += 1;
        }
        if i == start || !s.get(start).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let name = s.get(start..i).unwrap_or(&[]).to_vec();
        let name = match name.iter().position(|&b| b == b':') {
            Some(c) => name.get(c + 1..).unwrap_or(&[]).to_vec(),
            None => name,
        };
        let mut attrs = Vec::new();
        // attributes
        loop {
            while s
                .get(i)
                .is_some_and(|&b| b.is_ascii_whitespace() || b == b'/' || b == 0 || b == 0x0c)
            {
                i += 1;
            }
            match s.get(i) {
                None | Some(b'>') | Some(b'<') => break,
                _ => {}
            }
            let an_start = i;
            while s.get(i).is_some_and(|&b| {
                !b.is_ascii_whitespace() && !matches!(b, b'/' | b'>' | b'=' | b'<')
            }) {
                i += 1;
            }
            if i == an_start {
                i += 1;
                continue;
            }
            let aname = s.get(an_start..i).unwrap_or(&[]).to_vec();
            while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            let mut aval = Vec::new();
            if s.get(i) == Some(&b'=') {
                i += 1;
                while s.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                    i += 1;
                }
                match s.get(i) {
                    Some(&q) if q == b'"' || q == b'\'' || q == b'`' => {
                        i += 1;
                        let vs = i;
                        while s.get(i).is_some_and(|&b| b != q) {
                            i += 1;
                        }
                        aval = s.get(vs..i).unwrap_or(&[]).to_vec();
                        i += 1;
                    }
                    _ => {
                        let vs = i;
                        while s
                            .get(i)
                            .is_some_and(|&b| !b.is_ascii_whitespace() && b != b'>')
                        {
                            i += 1;
                        }
                        aval = s.get(vs..i).unwrap_or(&[]).to_vec();
                    }
                }
            }
            attrs.push((aname, aval));
            if attrs.len() > 64 {
                break;
            }
        }
        out.push(Tag { name, attrs });
        if out.len() > 64 {
            break;
        }
        // Markup inside an attribute value (`href="about:<script>..."`) is markup too: resume
        // right after this tag's name rather than after its end.
        i = start;
    }
    out
}

fn tag_is_xss(t: &Tag, level: Sensitivity) -> bool {
    let name = String::from_utf8_lossy(&t.name);
    if ALWAYS_TAGS.contains(&name.as_ref()) || (name.ends_with("script") && name.len() > 6) {
        return true;
    }
    for (an, av) in &t.attrs {
        let an = strip_ctl(an);
        if an.len() > 2 && an.starts_with(b"on") && an.get(2).is_some_and(u8::is_ascii_alphabetic) {
            return true;
        }
        if has_script_url(av) {
            return true;
        }
        if matches!(an.as_slice(), b"style") {
            let v = strip_ctl(av);
            if contains(&v, b"expression(")
                || contains(&v, b"javascript:")
                || contains(&v, b"behavior:")
                || contains(&v, b"behaviour:")
                || contains(&v, b"-moz-binding")
                || STYLE_SCRIPT_URL.as_ref().is_some_and(|r| r.is_match(&v))
            {
                return true;
            }
        }
        if matches!(an.as_slice(), b"datasrc" | b"dataformatas" | b"datafld") {
            return true;
        }
        if matches!(
            an.as_slice(),
            b"srcdoc"
                | b"formaction"
                | b"xlink:href"
                | b"from"
                | b"to"
                | b"values"
                | b"attributename"
        ) && !av.is_empty()
            && DANGEROUS_TAGS.contains(&name.as_ref())
        {
            return true;
        }
    }
    level == Sensitivity::High
        && DANGEROUS_TAGS.contains(&name.as_ref())
        && name != "title"
        && name != "label"
        && name != "option"
        && name != "select"
}

fn contains(h: &[u8], n: &[u8]) -> bool {
    memchr::memmem::find(h, n).is_some()
}

/// Whether `input` (already decoded) contains cross-site scripting.
pub fn is_xss(input: &[u8], level: Sensitivity) -> bool {
    detect(input, level, true)
}

fn detect(input: &[u8], level: Sensitivity, strip_tags: bool) -> bool {
    if input.len() < 4 {
        return false;
    }
    let lowered: Vec<u8>;
    let input = if input.iter().any(u8::is_ascii_uppercase) {
        lowered = input.to_ascii_lowercase();
        &lowered[..]
    } else {
        input
    };
    if input.contains(&b'<') && tags(input).iter().any(|t| tag_is_xss(t, level)) {
        return true;
    }
    if find_script_url_anywhere(input) {
        return true;
    }
    let has_eq = input.contains(&b'=');
    if has_eq {
        if let Some(set) = BREAKOUT.as_ref() {
            if set.is_match(input) {
                return true;
            }
        }
    }
    // Filters that delete tags rebuild what the tags split (`o<x>nfocus=alert<x>(1)`).
    if strip_tags && input.contains(&b'<') {
        if let Some(stripped) = TAG_STRIP.as_ref().map(|r| r.replace_all(input, &b""[..])) {
            if stripped.len() < input.len() && detect(&stripped, level, false) {
                return true;
            }
        }
    }
    // Every sink pattern names a sink keyword, or is an `on...=` handler.
    if !has_eq && !SINK_WORDS.as_ref().is_some_and(|a| a.is_match(input)) {
        return false;
    }
    if let Some(set) = SINKS.as_ref() {
        if set.is_match(input) {
            return true;
        }
        // Comments inside script are whitespace: `document /*x*/ . cookie`.
        if contains(input, b"/*") {
            let rc =
                crate::transform::apply(crate::transform::Transformation::ReplaceComments, input);
            if set.is_match(&rc) {
                return true;
            }
        }
    }
    false
}

/// Whether the compiled pattern sets are all available (checked by tests).
pub fn patterns_ok() -> bool {
    SINKS.is_some()
        && BREAKOUT.is_some()
        && SINK_WORDS.is_some()
        && TAG_STRIP.is_some()
        && STYLE_SCRIPT_URL.is_some()
}

#[cfg(test)]
#[path = "tests/xss.rs"]
mod tests;
