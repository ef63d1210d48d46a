//! A lenient JSON scanner for `JsonBody` inspection: it reports every key and scalar value with
//! its JSON Pointer, and stops at the first syntax error keeping what it read before it, which
//! is how AWS WAF evaluates a body it cannot fully parse when no `InvalidFallbackBehavior` is
//! set.

/// One key or scalar value of the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The JSON Pointer of the value (for a key: of the member it names).
    pub pointer: String,
    /// A key (`true`) or a scalar value (`false`).
    pub is_key: bool,
    /// The unescaped text (numbers, `true`, `false`, `null` as written).
    pub text: Vec<u8>,
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub nodes: Vec<Node>,
    /// The document was complete and well-formed.
    pub valid: bool,
}

const MAX_DEPTH: usize = 128;
const MAX_NODES: usize = 10_000;

/// Scans `input` (a whole document; trailing whitespace allowed).
pub fn scan(input: &[u8]) -> Scan {
    let mut s = Scanner {
        b: input,
        i: 0,
        out: Vec::new(),
    };
    let mut ptr = String::new();
    let ok = s.value(&mut ptr, 0).is_some() && {
        s.ws();
        s.i >= s.b.len()
    };
    Scan {
        nodes: s.out,
        valid: ok,
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    out: Vec<Node>,
}

fn escape_token(k: &[u8]) -> String {
    String::from_utf8_lossy(k)
        .replace('~', "~0")
        .replace('/', "~1")
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    fn push(&mut self, pointer: &str, is_key: bool, text: Vec<u8>) -> Option<()> {
        if self.out.len() >= MAX_NODES {
            return None;
        }
        self.out.push(Node {
            pointer: pointer.to_string(),
            is_key,
            text,
        });
        Some(())
    }

    fn value(&mut self, ptr: &mut String, depth: usize) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.peek()? {
            b'{' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&escape_token(&key));
                    self.push(ptr, true, key)?;
                    self.ws();
                    if self.peek()? != b':' {
                        return None;
                    }
                    self.i += 1;
                    self.value(ptr, depth + 1)?;
                    ptr.truncate(len);
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                self.ws();
                if self.peek()? == b']' {
                    self.i += 1;
                    return Some(());
                }
                let mut n = 0usize;
                loop {
                    let len = ptr.len();
                    ptr.push('/');
                    ptr.push_str(&n.to_string());
                    self.value(ptr, depth + 1)?;
                    ptr.truncate(len);
                    n += 1;
                    self.ws();
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => {
                let s = self.string()?;
                self.push(ptr, false, s)
            }
            _ => {
                let start = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
                {
                    self.i += 1;
                }
                let lit = self.b.get(start..self.i)?;
                let valid = matches!(lit, b"true" | b"false" | b"null")
                    || (!lit.is_empty()
                        && std::str::from_utf8(lit).ok().is_some_and(|t| {
                            serde_json::from_str::<serde_json::Number>(t).is_ok()
                        }));
                if !valid {
                    return None;
                }
                self.push(ptr, false, lit.to_vec())
            }
        }
    }

    /// A string starting at the current `"`; returns its unescaped bytes.
    fn string(&mut self) -> Option<Vec<u8>> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.b.get(self.i..self.i + 2) == Some(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let s = std::str::from_utf8(h).ok()?;
        let v = u32::from_str_radix(s, 16).ok()?;
        self.i += 4;
        Some(v)
    }
}

/// Whether a node's pointer is one of `paths` or below one of them.
pub fn included(pointer: &str, paths: &[String]) -> bool {
    paths.iter().any(|p| {
        pointer == p
            || p.is_empty()
            || (pointer.starts_with(p.as_str()) && pointer.as_bytes().get(p.len()) == Some(&b'/'))
    })
}
