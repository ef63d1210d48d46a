//! SQL injection detection in the manner of libinjection, written from SQL grammar: the input is
//! tokenised as SQL in each quoting context an injection can start from (as-is, inside a
//! single-quoted string, inside a double-quoted string); the first tokens are folded into a
//! short fingerprint; an input is SQL injection when, in some context, the fingerprint is a
//! grammatical run of SQL (every adjacent token pair can follow each other in SQL) that
//! contains a construct only an injection needs (a tautology after a logic operator, UNION
//! SELECT, a stacked statement, a comment cutting off the rest of the query, a time or error
//! function, ...).

/// AWS `SensitivityLevel` of a `SqliMatchStatement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sensitivity {
    /// Fewer matches, fewer false positives (the AWS default).
    #[default]
    Low,
    /// More matches; flags shorter and more ambiguous fragments.
    High,
}

/// Token classes of the fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Tok {
    Str,
    Num,
    Word,
    Var,
    Keyword,
    Statement,
    Union,
    Logic,
    Op,
    Func,
    Clause,
    Open,
    Close,
    Comma,
    Semi,
    Comment,
}

impl Tok {
    /// One character per class, for fingerprints.
    pub fn code(self) -> char {
        match self {
            Tok::Str => 's',
            Tok::Num => '1',
            Tok::Word => 'n',
            Tok::Var => 'v',
            Tok::Keyword => 'k',
            Tok::Statement => 'E',
            Tok::Union => 'U',
            Tok::Logic => '&',
            Tok::Op => 'o',
            Tok::Func => 'f',
            Tok::Clause => 'B',
            Tok::Open => '(',
            Tok::Close => ')',
            Tok::Comma => ',',
            Tok::Semi => ';',
            Tok::Comment => 'c',
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    /// Lowercased text for words / functions; empty otherwise.
    text: String,
}

const MAX_TOKENS: usize = 16;

const STATEMENTS: &[&str] = &[
    "select",
    "insert",
    "update",
    "delete",
    "drop",
    "create",
    "alter",
    "truncate",
    "exec",
    "execute",
    "declare",
    "shutdown",
    "waitfor",
    "grant",
    "revoke",
    "merge",
    "call",
    "handler",
    "rename",
    "show",
    "load",
    "sp_executesql",
    "xp_cmdshell",
    "dbcc",
    "kill",
    "backup",
    "restore",
    "pragma",
    "attach",
];
const UNIONS: &[&str] = &["union", "intersect", "except", "minus"];
const LOGIC: &[&str] = &["and", "or", "xor"];
const WORD_OPS: &[&str] = &[
    "like", "rlike", "regexp", "sounds", "between", "in", "is", "div", "mod", "collate", "escape",
    "glob", "ilike", "not", "similar", "binary",
];
const KEYWORDS: &[&str] = &[
    "from",
    "where",
    "as",
    "into",
    "values",
    "set",
    "table",
    "all",
    "distinct",
    "by",
    "case",
    "when",
    "then",
    "else",
    "end",
    "on",
    "join",
    "inner",
    "outer",
    "cross",
    "natural",
    "using",
    "top",
    "outfile",
    "dumpfile",
    "infile",
    "exists",
    "any",
    "some",
    "asc",
    "desc",
    "with",
    "delay",
    "time",
    "procedure",
    "analyse",
    "database",
    "schema",
    "into",
    "data",
    "local",
    "nowait",
    "straight_join",
    "sql_calc_found_rows",
    "tables",
    "columns",
    "index",
    "view",
    "trigger",
    "function",
    "lines",
    "fields",
    "terminated",
    "enclosed",
    "escaped",
    "for",
    "xml",
    "path",
    "raw",
    "auto",
    "explicit",
    "openquery",
    "openrowset",
    "sysobjects",
];
const CLAUSES: &[&str] = &["order", "group", "having", "limit", "offset", "fetch"];
const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "unknown",
    "current_user",
    "user",
    "version",
];

/// SQL functions an injection uses to probe, to delay, to leak data through errors or to read
/// files; a call to one of them counts as a construct of its own.
const RISKY_FUNCS: &[&str] = &[
    "sleep",
    "benchmark",
    "pg_sleep",
    "waitfor",
    "load_file",
    "extractvalue",
    "updatexml",
    "xp_cmdshell",
    "sp_executesql",
    "dbms_pipe.receive_message",
    "utl_inaddr.get_host_name",
    "utl_http.request",
    "dbms_lock.sleep",
    "randomblob",
    "sqlite_version",
    "pg_read_file",
    "lo_import",
    "name_const",
    "exp",
    "geometrycollection",
    "multipoint",
    "polygon",
    "linestring",
    "json_keys",
    "gtid_subset",
    "make_set",
    "elt",
    "openrowset",
    "opendatasource",
    "database",
    "schema",
    "version",
    "user",
    "current_user",
    "system_user",
    "session_user",
    "@@version",
    "group_concat",
    "concat_ws",
    "information_schema",
    "char",
    "chr",
    "ascii",
    "substring",
    "substr",
    "mid",
    "ord",
    "hex",
    "unhex",
    "if",
    "ifnull",
    "isnull",
    "nvl",
    "iif",
    "cast",
    "convert",
    "count",
    "length",
    "len",
    "concat",
    "md5",
    "sha1",
    "row_count",
    "found_rows",
    "floor",
    "rand",
    "bin",
    "rpad",
    "lpad",
    "generate_series",
    "to_char",
    "current_database",
    "db_name",
    "user_name",
    "host_name",
    "suser_name",
    "is_srvrolemember",
    "has_dbaccess",
    "pg_user",
    "char_length",
    "instr",
    "locate",
    "position",
    "left",
    "right",
    "reverse",
    "lower",
    "upper",
    "trim",
    "replace",
    "now",
    "sysdate",
    "current_timestamp",
    "coalesce",
    "least",
    "greatest",
    "strcmp",
    "soundex",
    "regexp_substr",
    "dbms_xmlgen",
    "xmltype",
    "ctxsys.drithsx.sn",
    "sys_context",
    "utl_inaddr",
    "unistr",
    "nchar",
    "str",
    "quotename",
    "xp_dirtree",
    "xp_fileexist",
    "xp_regread",
    "master..xp_cmdshell",
];

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

fn is_word_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.' || b >= 0x80
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    out: Vec<Token>,
}

impl<'a> Lexer<'a> {
    fn at(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: Tok, text: String) {
        self.out.push(Token { kind, text });
    }

    /// Reads a string body after its opening quote `q` (already consumed); returns whether it
    /// closed.
    fn string_body(&mut self, q: u8) -> bool {
        while self.i < self.s.len() {
            let b = self.at(0);
            if b == b'\\' {
                self.i += 2;
                continue;
            }
            if b == q {
                if self.at(1) == q {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return true;
            }
            self.i += 1;
        }
        false
    }

    fn run(&mut self) {
        while self.i < self.s.len() && self.out.len() < MAX_TOKENS {
            let b = self.at(0);
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0 | 0 => self.i += 1,
                b'\'' | b'"' | b'`' => {
                    self.i += 1;
                    self.string_body(b);
                    let kind = if b == b'`' { Tok::Word } else { Tok::Str };
                    self.out.push(Token {
                        kind,
                        text: String::new(),
                    });
                }
                b'[' => {
                    // MSSQL quoted identifier
                    match self
                        .s
                        .get(self.i..)
                        .and_then(|r| r.iter().position(|&c| c == b']'))
                    {
                        Some(p) if p < 64 => {
                            self.i += p + 1;
                            self.push(Tok::Word, String::new());
                        }
                        _ => {
                            self.i += 1;
                            self.push(Tok::Op, String::new());
                        }
                    }
                }
                b'/' if self.at(1) == b'*' => {
                    if self.at(2) == b'!' {
                        // MySQL executable comment: its content is code.
                        self.i += 3;
                        while self.at(0).is_ascii_digit() {
                            self.i += 1;
                        }
                        continue;
                    }
                    let rest = self.s.get(self.i + 2..).unwrap_or(&[]);
                    match rest.windows(2).position(|w| w == b"*/") {
                        Some(p) => self.i += p + 4,
                        None => self.i = self.s.len(),
                    }
                    self.push(Tok::Comment, String::new());
                }
                b'*' if self.at(1) == b'/' => self.i += 2,
                b'-' if self.at(1) == b'-' => {
                    self.i = self.s.len();
                    self.push(Tok::Comment, String::new());
                }
                b'#' => {
                    self.i = self.s.len();
                    self.push(Tok::Comment, String::new());
                }
                b'(' => {
                    self.i += 1;
                    self.push(Tok::Open, String::new());
                }
                b')' => {
                    self.i += 1;
                    self.push(Tok::Close, String::new());
                }
                b',' => {
                    self.i += 1;
                    self.push(Tok::Comma, String::new());
                }
                b';' => {
                    self.i += 1;
                    self.push(Tok::Semi, String::new());
                }
                b'@' => {
                    self.i += 1;
                    if self.at(0) == b'@' {
                        self.i += 1;
                    }
                    if self.at(0) == b'`' || self.at(0) == b'\'' || self.at(0) == b'"' {
                        let q = self.at(0);
                        self.i += 1;
                        self.string_body(q);
                    } else {
                        while is_word_char(self.at(0)) {
                            self.i += 1;
                        }
                    }
                    self.push(Tok::Var, String::new());
                }
                b'&' if self.at(1) == b'&' => {
                    self.i += 2;
                    self.push(Tok::Logic, String::new());
                }
                b'|' if self.at(1) == b'|' => {
                    self.i += 2;
                    self.push(Tok::Logic, String::new());
                }
                b'0'..=b'9' => self.number_or_word(),
                b'.' if self.at(1).is_ascii_digit() => self.number_or_word(),
                _ if is_word_start(b) => self.word(),
                b'=' | b'<' | b'>' | b'!' | b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'|'
                | b'&' | b'~' | b':' => {
                    // Greedy operator run ("<=>", "!=", ":=", "<>").
                    let mut n = 1;
                    while n < 3 && matches!(self.at(n), b'=' | b'<' | b'>' | b'!') {
                        n += 1;
                    }
                    let text =
                        String::from_utf8_lossy(self.s.get(self.i..self.i + n).unwrap_or(&[]))
                            .into_owned();
                    self.i += n;
                    self.push(Tok::Op, text);
                }
                _ => {
                    // Any other punctuation is something SQL has no use for.
                    self.i += 1;
                    self.push(Tok::Word, "?".to_string());
                }
            }
        }
    }

    fn number_or_word(&mut self) {
        let start = self.i;
        if self.at(0) == b'0' && matches!(self.at(1), b'x' | b'X' | b'b' | b'B') {
            self.i += 2;
        }
        while is_word_char(self.at(0)) && self.at(0) != b'$' {
            // exponent sign
            if matches!(self.at(0), b'e' | b'E') && matches!(self.at(1), b'+' | b'-') {
                self.i += 2;
                continue;
            }
            self.i += 1;
        }
        let text =
            String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or(&[])).to_ascii_lowercase();
        let numeric = text.trim_end_matches('.').parse::<f64>().is_ok()
            || (text.starts_with("0x")
                && text.len() > 2
                && text.bytes().skip(2).all(|b| b.is_ascii_hexdigit()))
            || (text.starts_with("0b")
                && text.len() > 2
                && text.bytes().skip(2).all(|b| b == b'0' || b == b'1'));
        self.push(if numeric { Tok::Num } else { Tok::Word }, text);
    }

    fn word(&mut self) {
        let start = self.i;
        while is_word_char(self.at(0)) {
            self.i += 1;
        }
        let mut text =
            String::from_utf8_lossy(self.s.get(start..self.i).unwrap_or(&[])).to_ascii_lowercase();
        // A trailing '.' belongs to the next token.
        while text.ends_with('.') {
            text.pop();
        }
        // Is the next non-space, non-comment character an opening parenthesis?
        let mut j = self.i;
        loop {
            match self.s.get(j) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => j += 1,
                Some(b'/') if self.s.get(j + 1) == Some(&b'*') => {
                    let rest = self.s.get(j + 2..).unwrap_or(&[]);
                    match rest.windows(2).position(|w| w == b"*/") {
                        Some(p) => j += p + 4,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        let paren = self.s.get(j) == Some(&b'(');
        let t = text.as_str();
        let kind = if LOGIC.contains(&t) {
            Tok::Logic
        } else if UNIONS.contains(&t) {
            Tok::Union
        } else if STATEMENTS.contains(&t) && !(paren && matches!(t, "replace" | "insert" | "char"))
        {
            Tok::Statement
        } else if WORD_OPS.contains(&t) {
            Tok::Op
        } else if CLAUSES.contains(&t) {
            Tok::Clause
        } else if paren {
            Tok::Func
        } else if VALUES.contains(&t) {
            Tok::Num
        } else if KEYWORDS.contains(&t) {
            Tok::Keyword
        } else {
            Tok::Word
        };
        self.push(kind, text);
    }
}

fn lex(s: &[u8], ctx: Option<u8>) -> Vec<Token> {
    let mut lx = Lexer {
        s,
        i: 0,
        out: Vec::new(),
    };
    if let Some(q) = ctx {
        let closed = lx.string_body(q);
        if !closed {
            return Vec::new();
        }
        lx.out.push(Token {
            kind: Tok::Str,
            text: String::new(),
        });
    }
    lx.run();
    // Unary operators and `*` as a column list become part of the value that follows / are
    // values themselves.
    let mut out: Vec<Token> = Vec::with_capacity(lx.out.len());
    let last = lx.out.len().saturating_sub(1);
    for (idx, t) in lx.out.into_iter().enumerate() {
        // An inline comment in the middle is whitespace to SQL.
        if t.kind == Tok::Comment && idx != last {
            continue;
        }
        let prev = out.last().map(|p: &Token| p.kind);
        if t.kind == Tok::Op {
            let unary_pos = matches!(
                prev,
                None | Some(
                    Tok::Op
                        | Tok::Logic
                        | Tok::Open
                        | Tok::Comma
                        | Tok::Statement
                        | Tok::Keyword
                        | Tok::Clause
                )
            );
            if t.text == "*" && matches!(prev, Some(Tok::Statement | Tok::Comma | Tok::Open)) {
                out.push(Token {
                    kind: Tok::Num,
                    text: "*".into(),
                });
                continue;
            }
            if unary_pos && matches!(t.text.as_str(), "-" | "+" | "!" | "~" | "not") {
                continue;
            }
        }
        out.push(t);
    }
    out
}

/// Transact-SQL statements that may follow an expression without a `;`.
const T_SQL_JUXTAPOSED: &[&str] = &[
    "waitfor", "exec", "execute", "declare", "shutdown", "delete", "drop", "insert", "update",
    "select", "truncate", "create", "alter",
];

fn is_value(k: Tok) -> bool {
    matches!(k, Tok::Str | Tok::Num | Tok::Word | Tok::Var)
}

/// Can `b` follow `a` in SQL?
fn follows(a: &Token, b: &Token) -> bool {
    use Tok::*;
    let (x, y) = (a.kind, b.kind);
    match x {
        Str | Num | Var | Word => {
            matches!(
                y,
                Op | Logic | Close | Comma | Semi | Keyword | Union | Clause | Comment
            ) || (x == Str && y == Str)
                || (y == Statement && T_SQL_JUXTAPOSED.contains(&b.text.as_str()))
        }
        Op => is_value(y) && b.text != "?" || matches!(y, Open | Func | Op | Statement),
        Logic => is_value(y) && b.text != "?" || matches!(y, Open | Func | Op),
        Open => is_value(y) && b.text != "?" || matches!(y, Open | Func | Statement | Op | Close),
        Close if y == Statement => T_SQL_JUXTAPOSED.contains(&b.text.as_str()),
        Close => matches!(
            y,
            Close | Op | Logic | Comma | Semi | Keyword | Union | Clause | Comment
        ),
        Comma => is_value(y) && b.text != "?" || matches!(y, Open | Func | Op),
        Semi => matches!(y, Statement | Func | Comment | Keyword),
        Func => y == Open,
        Statement => {
            is_value(y) && b.text != "?" || matches!(y, Op | Func | Open | Keyword | Statement)
        }
        Union => matches!(y, Statement | Keyword | Open | Clause),
        Keyword => {
            is_value(y) && b.text != "?"
                || matches!(y, Open | Func | Statement | Keyword | Op | Clause)
        }
        Clause => is_value(y) && b.text != "?" || matches!(y, Func | Open | Keyword | Clause),
        Comment => false,
    }
}

/// The fingerprint of `input` in one context (`None` = as-is, `Some(q)` = inside a string
/// quoted with `q`), for diagnostics.
pub fn fingerprint(input: &[u8], ctx: Option<u8>) -> String {
    lex(input, ctx).iter().map(|t| t.kind.code()).collect()
}

fn detect_ctx(input: &[u8], ctx: Option<u8>, level: Sensitivity) -> bool {
    let toks = lex(input, ctx);
    if toks.len() < 2 {
        return false;
    }
    // The grammatical prefix.
    let mut valid = 1;
    while valid < toks.len()
        && toks
            .get(valid - 1)
            .zip(toks.get(valid))
            .is_some_and(|(a, b)| follows(a, b))
    {
        valid += 1;
    }
    let all_valid = valid == toks.len();
    let run = toks.get(..valid).unwrap_or(&[]);
    // Too short a grammatical run says nothing, unless it is the whole input.
    if !all_valid && valid < 4 {
        return false;
    }
    // As-is: the first token must be able to start an injected fragment.
    if ctx.is_none() {
        let first = run.first().map(|t| t.kind);
        if !matches!(
            first,
            Some(
                Tok::Num
                    | Tok::Statement
                    | Tok::Open
                    | Tok::Func
                    | Tok::Var
                    | Tok::Close
                    | Tok::Semi
                    | Tok::Str
            )
        ) {
            // A word can start `x or 1=1` only when what follows is a logic operator.
            if !(first == Some(Tok::Word) && run.get(1).is_some_and(|t| t.kind == Tok::Logic)) {
                return false;
            }
        }
    }
    strong(run, ctx, level, all_valid)
}

#[allow(clippy::collapsible_match)]
fn strong(run: &[Token], ctx: Option<u8>, level: Sensitivity, all_valid: bool) -> bool {
    use Tok::*;
    let high = level == Sensitivity::High;
    let kinds: Vec<Tok> = run.iter().map(|t| t.kind).collect();
    let n = kinds.len();
    for (i, t) in run.iter().enumerate() {
        let next = kinds.get(i + 1).copied();
        let next2 = kinds.get(i + 2).copied();
        match t.kind {
            Union => {
                if matches!(next, Some(Statement))
                    || (matches!(next, Some(Keyword | Open)) && matches!(next2, Some(Statement)))
                {
                    return true;
                }
            }
            Semi if ctx.is_some() && i == 1 && n == 2 && all_valid => return true,
            Semi => {
                if matches!(next, Some(Statement | Func)) && (n > i + 2 || high) {
                    return true;
                }
                if i > 0 && matches!(next, Some(Comment)) && ctx.is_some() {
                    return true;
                }
            }
            Logic => {
                // A logic operator followed by a comparison or a call within the next tokens.
                let tail = kinds.get(i + 1..(i + 6).min(n)).unwrap_or(&[]);
                let has_cmp = tail.windows(3).any(|w| {
                    matches!(w, [a, Op, b] if (is_value(*a) || *a == Close) && (is_value(*b) || *b == Open || *b == Func))
                });
                let has_call = tail.first() == Some(&Func)
                    || (tail.first() == Some(&Open) && tail.get(1) == Some(&Func))
                    || tail.first() == Some(&Open) && tail.get(1) == Some(&Statement);
                if has_cmp || has_call {
                    return true;
                }
                // `' or 1 --`, `' or true`
                if i > 0
                    && matches!(next, Some(Num | Str | Var))
                    && (next2.is_none() && all_valid && (high || ctx.is_some())
                        || next2 == Some(Comment))
                {
                    return true;
                }
            }
            Func => {
                if RISKY_FUNCS.contains(&t.text.as_str()) {
                    let prev = i.checked_sub(1).and_then(|p| kinds.get(p)).copied();
                    if i == 0
                        || matches!(
                            prev,
                            Some(Logic | Op | Open | Comma | Semi | Statement | Union | Keyword)
                        )
                    {
                        // A bare call as the whole input only counts with a risky delay/IO
                        // function.
                        if i > 0
                            || matches!(
                                t.text.as_str(),
                                "sleep"
                                    | "benchmark"
                                    | "pg_sleep"
                                    | "load_file"
                                    | "extractvalue"
                                    | "updatexml"
                                    | "xp_cmdshell"
                                    | "dbms_pipe.receive_message"
                                    | "utl_inaddr.get_host_name"
                                    | "utl_http.request"
                                    | "dbms_lock.sleep"
                                    | "randomblob"
                            )
                        {
                            return true;
                        }
                    }
                }
            }
            Statement if t.text == "waitfor" && matches!(next, Some(Keyword)) => return true,
            Statement if t.text == "declare" && matches!(next, Some(Var)) => return true,
            Statement => {
                let prev = i.checked_sub(1).and_then(|p| kinds.get(p)).copied();
                // After a string break-out, T-SQL also runs a juxtaposed statement.
                let starts = matches!(prev, None | Some(Semi | Open | Union))
                    || (ctx.is_some() && i == 1 && prev == Some(Str));
                if starts && n >= i + 3 {
                    // `select x from`, `drop table x`, `exec xp_...`
                    let tail = kinds.get(i + 1..).unwrap_or(&[]);
                    if tail.iter().any(|k| matches!(k, Keyword | Func))
                        || t.text == "waitfor"
                        || high
                    {
                        return true;
                    }
                }
            }
            Comment => {
                // Breaking out of a string and cutting off the rest of the query.
                if ctx.is_some() && i >= 1 && i == n - 1 {
                    let prev = kinds.get(i - 1).copied();
                    if i == 1 && (high || prev == Some(Str)) {
                        return true;
                    }
                    if i >= 2 && matches!(prev, Some(Str | Num | Close | Word)) {
                        return true;
                    }
                }
            }
            Clause => {
                // `' order by 1--`, `1 group by x having 1=1`
                if matches!(next, Some(Keyword)) && matches!(next2, Some(Num | Word)) && i > 0 {
                    return true;
                }
                if t.text == "having" && n > i + 3 {
                    return true;
                }
                if t.text == "limit" && i > 0 && matches!(next, Some(Num)) && (n > i + 2) {
                    return true;
                }
            }
            Op => {
                // A string break-out followed directly by a comparison that completes a
                // tautology: `' = '`, `'||'`.
                if ctx.is_some() && i == 1 && all_valid && n >= 3 && high {
                    return true;
                }
                // `1' = '1` where a later logic operator or comment follows.
                if ctx.is_some()
                    && i == 1
                    && n >= 4
                    && matches!(kinds.get(3), Some(Logic | Comment | Semi))
                {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether `input` (already decoded) contains SQL injection.
pub fn is_sqli(input: &[u8], level: Sensitivity) -> bool {
    if input.len() < 2 {
        return false;
    }
    if detect_ctx(input, None, level) {
        return true;
    }
    for q in [b'\'', b'"', b'`'] {
        if input.contains(&q) && detect_ctx(input, Some(q), level) {
            return true;
        }
    }
    false
}

#[cfg(test)]
#[path = "tests/sqli.rs"]
mod tests;
