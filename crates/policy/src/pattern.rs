//! Compiled string patterns: literals, the `*` and `?` wildcards, and policy variables
//! (`${aws:username}`, `${aws:PrincipalTag/team, 'default'}`, `${*}`, `${?}`, `${$}`).
//!
//! A pattern matches an input without allocating: variables are looked up in the request
//! context while matching and their values compared literally (a `*` inside a variable's value
//! is not a wildcard). A variable that the context cannot resolve (the key is absent or has
//! several values, and there is no default) makes the pattern match nothing.

use crate::context::ContextKeys;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    Star,
    Any,
    Var {
        key: String,
        default: Option<String>,
    },
}

/// How a pattern reads its source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards (otherwise literal characters).
    pub wildcards: bool,
    /// `${...}` is a policy variable (policies of version 2012-10-17).
    pub variables: bool,
    /// Compare ignoring case.
    pub ignore_case: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    toks: Vec<Tok>,
    ignore_case: bool,
}

impl Pattern {
    pub(crate) fn new(src: &str, syntax: Syntax) -> Pattern {
        let mut toks: Vec<Tok> = Vec::new();
        let mut lit = String::new();
        let mut rest = src;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some((tok, after)) = parse_variable(rest) {
                    match tok {
                        Tok::Lit(s) => lit.push_str(&s),
                        other => {
                            flush(&mut toks, &mut lit, syntax.ignore_case);
                            toks.push(other);
                        }
                    }
                    rest = after;
                    continue;
                }
            }
            match c {
                '*' if syntax.wildcards => {
                    flush(&mut toks, &mut lit, syntax.ignore_case);
                    // `**` is the same as `*`.
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '?' if syntax.wildcards => {
                    flush(&mut toks, &mut lit, syntax.ignore_case);
                    toks.push(Tok::Any);
                }
                _ => lit.push(c),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or("");
        }
        flush(&mut toks, &mut lit, syntax.ignore_case);
        Pattern {
            toks,
            ignore_case: syntax.ignore_case,
        }
    }

    /// True for the pattern `*`, which matches everything.
    pub(crate) fn is_match_all(&self) -> bool {
        matches!(self.toks.as_slice(), [Tok::Star])
    }

    pub(crate) fn matches(&self, input: &str, ctx: &ContextKeys) -> bool {
        match self.toks.as_slice() {
            [] => input.is_empty(),
            [Tok::Star] => true,
            [Tok::Lit(t)] => {
                if self.ignore_case {
                    prefix_len(input, t, true) == Some(input.len())
                } else {
                    input == t
                }
            }
            toks => glob(toks, input, ctx, self.ignore_case),
        }
    }
}

fn flush(toks: &mut Vec<Tok>, lit: &mut String, ignore_case: bool) {
    if lit.is_empty() {
        return;
    }
    let s = std::mem::take(lit);
    let s = if ignore_case { s.to_lowercase() } else { s };
    if let Some(Tok::Lit(prev)) = toks.last_mut() {
        prev.push_str(&s);
    } else {
        toks.push(Tok::Lit(s));
    }
}

/// Parses `${...}` at the start of `s`: the token and the text after it. `None` when there is
/// no closing brace or the inside is not a variable (the text is then literal).
fn parse_variable(s: &str) -> Option<(Tok, &str)> {
    let inner_start = s.get(2..)?;
    let close = inner_start.find('}')?;
    let inner = inner_start.get(..close)?;
    let after = inner_start.get(close + 1..)?;
    match inner {
        "*" => return Some((Tok::Lit("*".into()), after)),
        "?" => return Some((Tok::Lit("?".into()), after)),
        "$" => return Some((Tok::Lit("$".into()), after)),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.to_owned()))
        }
        None => (inner.trim(), None),
    };
    if key.is_empty() || key.contains(['$', '{', '\'']) {
        return None;
    }
    Some((
        Tok::Var {
            key: key.to_lowercase(),
            default,
        },
        after,
    ))
}

/// The byte length of the prefix of `input` equal to `text` (ignoring case when asked; `text`
/// is then already lowercase), or `None` when `input` does not start with `text`.
fn prefix_len(input: &str, text: &str, ignore_case: bool) -> Option<usize> {
    if !ignore_case {
        return input.starts_with(text).then_some(text.len());
    }
    let mut it = input.char_indices();
    let mut end = 0;
    for tc in text.chars() {
        let (i, ic) = it.next()?;
        if !(ic == tc || ic.to_lowercase().eq(tc.to_lowercase())) {
            return None;
        }
        end = i + ic.len_utf8();
    }
    Some(end)
}

fn resolve<'a>(key: &str, default: Option<&'a str>, ctx: &'a ContextKeys) -> Option<&'a str> {
    ctx.single_text_lower(key).or(default)
}

/// Glob matching with one backtracking point (the last `*`), which is complete for patterns
/// whose only variable-length element is `*`.
fn glob(toks: &[Tok], input: &str, ctx: &ContextKeys, ignore_case: bool) -> bool {
    let mut ti = 0usize;
    let mut si = 0usize;
    let mut star: Option<(usize, usize)> = None;
    loop {
        let rest = input.get(si..).unwrap_or("");
        let step = match toks.get(ti) {
            Some(Tok::Star) => {
                star = Some((ti + 1, si));
                ti += 1;
                continue;
            }
            Some(Tok::Any) => rest.chars().next().map(char::len_utf8),
            Some(Tok::Lit(t)) => prefix_len(rest, t, ignore_case),
            Some(Tok::Var { key, default }) => match resolve(key, default.as_deref(), ctx) {
                Some(v) => prefix_len(rest, v, ignore_case),
                None => return false,
            },
            None => {
                if rest.is_empty() {
                    return true;
                }
                None
            }
        };
        if let Some(n) = step {
            si += n;
            ti += 1;
            continue;
        }
        // Mismatch: let the last `*` take one more character, or fail.
        let Some((star_ti, star_si)) = star else {
            return false;
        };
        let Some(c) = input.get(star_si..).and_then(|r| r.chars().next()) else {
            return false;
        };
        let next = star_si + c.len_utf8();
        star = Some((star_ti, next));
        ti = star_ti;
        si = next;
    }
}

/// An ARN pattern: the six colon-separated segments matched one by one (a wildcard does not
/// cross a colon, except in the last segment, which holds the rest of the ARN). A pattern
/// with fewer than six segments is matched against the whole input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    whole: Pattern,
    segments: Option<Box<[Pattern; 6]>>,
}

impl ArnPattern {
    pub(crate) fn new(src: &str, syntax: Syntax) -> ArnPattern {
        let whole = Pattern::new(src, syntax);
        let parts = split_arn(src, syntax.variables);
        let segments = if parts.len() == 6 {
            let pats: Vec<Pattern> = parts.iter().map(|p| Pattern::new(p, syntax)).collect();
            <[Pattern; 6]>::try_from(pats).ok().map(Box::new)
        } else {
            None
        };
        ArnPattern { whole, segments }
    }

    pub(crate) fn is_match_all(&self) -> bool {
        self.whole.is_match_all()
    }

    pub(crate) fn matches(&self, input: &str, ctx: &ContextKeys) -> bool {
        if self.whole.is_match_all() {
            return true;
        }
        match &self.segments {
            Some(segs) => {
                let mut parts = input.splitn(6, ':');
                segs.iter().all(|seg| match parts.next() {
                    Some(p) => seg.matches(p, ctx),
                    None => false,
                })
            }
            None => self.whole.matches(input, ctx),
        }
    }
}

/// Splits at the first five colons that are not inside `${...}`.
fn split_arn(src: &str, variables: bool) -> Vec<&str> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0usize;
    let mut depth = 0usize;
    let bytes = src.as_bytes();
    let mut i = 0usize;
    while i < bytes.len() && parts.len() < 5 {
        match bytes.get(i) {
            Some(b'$') if variables && bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            Some(b'}') if depth > 0 => depth -= 1,
            Some(b':') if depth == 0 => {
                parts.push(src.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(src.get(start..).unwrap_or(""));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLOB: Syntax = Syntax {
        wildcards: true,
        variables: true,
        ignore_case: false,
    };

    fn m(p: &str, s: &str) -> bool {
        Pattern::new(p, GLOB).matches(s, &ContextKeys::new())
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "acb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"));
        assert!(m("é?", "éü"));
        assert!(m("a**b", "ab"));
        assert!(!m("abc", "abd"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn ignore_case() {
        let p = Pattern::new(
            "iam:*AccessKey*",
            Syntax {
                ignore_case: true,
                ..GLOB
            },
        );
        assert!(p.matches("IAM:createaccesskey", &ContextKeys::new()));
        assert!(!p.matches("iam:CreateUser", &ContextKeys::new()));
    }

    #[test]
    fn variables() {
        let mut ctx = ContextKeys::new();
        ctx.insert("aws:username", "bob");
        let p = Pattern::new("home/${aws:username}/*", GLOB);
        assert!(p.matches("home/bob/x", &ctx));
        assert!(!p.matches("home/alice/x", &ctx));
        assert!(!p.matches("home/bob/x", &ContextKeys::new()));
        let d = Pattern::new("b-${aws:PrincipalTag/team, 'company-wide'}", GLOB);
        assert!(d.matches("b-company-wide", &ContextKeys::new()));
        let s = Pattern::new("a${*}b${?}${$}", GLOB);
        assert!(s.matches("a*b?$", &ctx));
        assert!(!s.matches("axb?$", &ctx));
        let literal = Pattern::new(
            "${aws:username}",
            Syntax {
                variables: false,
                ..GLOB
            },
        );
        assert!(literal.matches("${aws:username}", &ctx));
    }

    #[test]
    fn arns() {
        let ctx = ContextKeys::new();
        let p = ArnPattern::new("arn:aws:someservice:*:111122223333:finance/*", GLOB);
        assert!(p.matches(
            "arn:aws:someservice:us-east-2:111122223333:finance/doc.txt",
            &ctx
        ));
        assert!(!p.matches(
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
            &ctx
        ));
        let s3 = ArnPattern::new("arn:aws:s3:::bucket/*/test/*", GLOB);
        assert!(s3.matches("arn:aws:s3:::bucket/1/2/test/3/o.jpg", &ctx));
        assert!(!s3.matches("arn:aws:s3:::bucket/1-test/o.jpg", &ctx));
        let short = ArnPattern::new("arn:aws:*", GLOB);
        assert!(short.matches("arn:aws:kms:us-east-1:1:key/x", &ctx));
    }
}
