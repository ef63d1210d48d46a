//! Java regular expressions (what AWS models write in `pattern`) to the `regex` crate's syntax.
//!
//! AWS checks a pattern with `java.util.regex.Pattern.matches`: the whole value must match,
//! `\w`, `\d` and `\s` are ASCII-only, `\uXXXX` escapes (surrogate pairs included) name UTF-16
//! units. [`to_rust`] rewrites those into an anchored pattern for the `regex` crate; what
//! the crate cannot express (lookaround, possessive quantifiers, backreferences) stays as it
//! is and then fails to compile, which the callers treat as "no pattern check".
//!
//! This file has no dependencies: codegen includes it with `#[path]` to find, when
//! generating, which patterns compile.

/// The anchored `regex`-crate equivalent of the Java pattern `pat` (full-match semantics).
pub fn to_rust(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::with_capacity(pat.len() + 16);
    out.push_str("^(?:");
    let mut depth = 0usize; // nesting of character classes
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let in_class = depth > 0;
        match c {
            '\\' => {
                let Some(&n) = chars.get(i + 1) else {
                    out.push('\\');
                    break;
                };
                i += 2;
                match n {
                    'w' => out.push_str(if in_class {
                        "0-9A-Za-z_"
                    } else {
                        "[0-9A-Za-z_]"
                    }),
                    'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    's' => out.push_str(if in_class {
                        "\\t\\n\\x0B\\x0C\\r "
                    } else {
                        "[\\t\\n\\x0B\\x0C\\r ]"
                    }),
                    'W' if !in_class => out.push_str("[^0-9A-Za-z_]"),
                    'D' if !in_class => out.push_str("[^0-9]"),
                    'S' if !in_class => out.push_str("[^\\t\\n\\x0B\\x0C\\r ]"),
                    'u' => {
                        let hex = |at: usize| -> Option<u32> {
                            let s: String = chars.get(at..at + 4)?.iter().collect();
                            if s.chars().all(|c| c.is_ascii_hexdigit()) {
                                u32::from_str_radix(&s, 16).ok()
                            } else {
                                None
                            }
                        };
                        match hex(i) {
                            Some(hi) if (0xD800..0xDC00).contains(&hi) => {
                                let lo = (chars.get(i + 4) == Some(&'\\')
                                    && chars.get(i + 5) == Some(&'u'))
                                .then(|| hex(i + 6))
                                .flatten()
                                .filter(|lo| (0xDC00..0xE000).contains(lo));
                                match lo {
                                    Some(lo) => {
                                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                                        out.push_str(&format!("\\x{{{cp:X}}}"));
                                        i += 10;
                                    }
                                    None => {
                                        // A lone surrogate: no Rust equivalent; left to fail.
                                        out.push_str(&format!("\\x{{{hi:X}}}"));
                                        i += 4;
                                    }
                                }
                            }
                            Some(cp) => {
                                out.push_str(&format!("\\x{{{cp:X}}}"));
                                i += 4;
                            }
                            None => out.push_str("\\u"),
                        }
                    }
                    'p' | 'P' => {
                        // \p{Alpha} and the other POSIX names are ASCII classes in Java.
                        let rest: String = chars
                            .get(i..)
                            .map(|r| r.iter().collect())
                            .unwrap_or_default();
                        let posix = rest
                            .strip_prefix('{')
                            .and_then(|r| r.split_once('}'))
                            .and_then(|(name, _)| posix_class(name).map(|p| (name.len() + 2, p)));
                        match posix {
                            Some((len, class)) => {
                                let neg = if n == 'P' { "^" } else { "" };
                                if in_class {
                                    out.push_str(&format!("[:{neg}{class}:]"));
                                } else {
                                    out.push_str(&format!("[[:{neg}{class}:]]"));
                                }
                                i += len;
                            }
                            None => {
                                out.push('\\');
                                out.push(n);
                            }
                        }
                    }
                    'Q' => {
                        // Quoted until \E.
                        while let Some(&q) = chars.get(i) {
                            if q == '\\' && chars.get(i + 1) == Some(&'E') {
                                i += 2;
                                break;
                            }
                            push_literal(&mut out, q);
                            i += 1;
                        }
                    }
                    n if n.is_ascii_punctuation() => push_literal(&mut out, n),
                    n => {
                        out.push('\\');
                        out.push(n);
                    }
                }
                continue;
            }
            '[' => {
                depth += 1;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            ']' if in_class => {
                depth -= 1;
                out.push(']');
            }
            '-' | '~' if in_class && chars.get(i + 1) == Some(&c) => {
                // Rust reads `--` and `~~` in a class as set operations; Java as literals.
                out.push(c);
                push_literal(&mut out, c);
                i += 1;
            }
            '{' if !in_class => {
                let rest = chars.get(i..).unwrap_or_default();
                match quantifier_len(rest) {
                    Some(len) => {
                        out.extend(rest.iter().take(len));
                        i += len;
                        continue;
                    }
                    None => push_literal(&mut out, '{'),
                }
            }
            '}' if !in_class => push_literal(&mut out, '}'),
            c => out.push(c),
        }
        i += 1;
    }
    out.push_str(")$");
    out
}

fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
    }
}

/// The length of the quantifier `{n}`, `{n,}` or `{n,m}` at the start of `s`.
fn quantifier_len(s: &[char]) -> Option<usize> {
    let end = s.iter().position(|&c| c == '}')?;
    let inner: String = s.get(1..end)?.iter().collect();
    let mut parts = inner.splitn(2, ',');
    let first = parts.next().unwrap_or_default();
    let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
    (!first.is_empty() && digits(first) && parts.next().is_none_or(digits)).then_some(end + 1)
}

fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "lower",
        "Upper" => "upper",
        "ASCII" => "ascii",
        "Alpha" => "alpha",
        "Digit" => "digit",
        "Alnum" => "alnum",
        "Punct" => "punct",
        "Graph" => "graph",
        "Print" => "print",
        "Blank" => "blank",
        "Cntrl" => "cntrl",
        "XDigit" => "xdigit",
        "Space" => "space",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::to_rust;

    #[test]
    fn translations() {
        assert_eq!(to_rust("[\\w+=,.@-]*"), "^(?:[0-9A-Za-z_+=,.@-]*)$");
        assert_eq!(to_rust("\\d{12}"), "^(?:[0-9]{12})$");
        assert_eq!(to_rust("a\\/b"), "^(?:a\\x{2F}b)$");
        assert_eq!(
            to_rust("[\\uD800\\uDC00-\\uDBFF\\uDFFF]"),
            "^(?:[\\x{10000}-\\x{10FFFF}])$"
        );
        assert_eq!(to_rust("\\p{Alpha}"), "^(?:[[:alpha:]])$");
        assert_eq!(to_rust("x{a}"), "^(?:x\\x{7B}a\\x{7D})$");
        assert_eq!(to_rust("[0-9]{2,3}x{1,}"), "^(?:[0-9]{2,3}x{1,})$");
    }
}
