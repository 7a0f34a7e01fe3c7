//! Reads the store's SQL out of its Rust source, the way the compiler would assemble it.
//!
//! A small lexer turns a file into tokens (string and raw string literals decoded, comments
//! dropped), then every call of `query`, `query_as`, `query_scalar` (and their `_with` forms),
//! `raw_sql` and `begin_with` is a *site*: its first argument is evaluated to the SQL texts it
//! can take. The evaluator knows what the store's code uses and nothing more: literals,
//! `format!` (inline `{NAME}`, positional `{}` and named arguments), `sqlx::AssertSqlSafe(…)`,
//! `if … { … } else { … }` (both branches), `&`, local `let`s, `&str` constants (the file's
//! own, the backend's dialect file, then the other query files), calls of functions whose body
//! ends in such an expression (`due_jobs()`, the dialect's `in_list("$1")`), and
//! parameters of the enclosing function, taken from each of its call sites in turn (so
//! `any_due(self, "jobs", &filter, …)` gives `jobs` with the jobs filter, never with the
//! outbox one). Anything else is an error naming the site, never a silent skip.
//! `QueryBuilder::new` sites are reported apart (`dynamic`), with their opening text.
//!
//! Every literal that starts like a statement (`SELECT`, `INSERT`, `UPDATE`, `DELETE`, `WITH`)
//! must be reached from some site; one that is not is listed in `unreached`, so SQL passed
//! through a pattern this file does not know fails the test instead of going unchecked.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One source file: its name (as reported, e.g. `jobs.rs`) and text.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

/// A statement as one backend's code sends it, with every site that sends it.
#[derive(Debug, Clone)]
pub struct Statement {
    pub sql: String,
    /// `file:line` of each site.
    pub sites: Vec<String>,
}

/// A `QueryBuilder::new` site: its opening text.
#[derive(Debug, Clone)]
pub struct DynamicSite {
    pub file: String,
    pub line: usize,
    pub opening: String,
}

/// What one backend's view of the source holds.
#[derive(Debug, Default)]
pub struct Extraction {
    /// Distinct statements, in source order of their first site.
    pub statements: Vec<Statement>,
    /// Sites whose SQL was reconstructed (each gives one or more statements).
    pub sites: usize,
    pub dynamic: Vec<DynamicSite>,
    /// Sites whose SQL could not be reconstructed: `file:line: why`.
    pub errors: Vec<String>,
    /// Statement-like literals no site reaches: `file:line: text`.
    pub unreached: Vec<String>,
}

/// Extracts the statements of `modules` as compiled with `dialect` (whose own sites count
/// too: they run on that backend only).
pub fn extract(modules: &[Source], dialect: &Source) -> Result<Extraction, String> {
    let mut files = Vec::with_capacity(modules.len() + 1);
    for s in modules.iter().chain(std::iter::once(dialect)) {
        let tokens = lex(&s.text).map_err(|e| format!("{}: {e}", s.name))?;
        files.push(File::new(s.name.clone(), tokens));
    }
    let program = Program {
        dialect: files.len() - 1,
        files,
        used: RefCell::new(BTreeSet::new()),
    };
    Ok(program.run())
}

// ---------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A string literal, decoded (escapes, line continuations, raw strings).
    Str(String),
    Punct(char),
    /// Numbers, characters, lifetimes: kept as written.
    Other(String),
}

#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// Splits Rust source into tokens; comments are dropped.
pub fn lex(src: &str) -> Result<Vec<Token>, String> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    while i < c.len() {
        let ch = c[i];
        let start_line = line;
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            loop {
                if i >= c.len() {
                    return Err(format!("line {start_line}: unterminated block comment"));
                }
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(c[i] == '\n');
                    i += 1;
                }
            }
        } else if let Some((prefix, hashes)) = raw_string_start(&c, i) {
            // r"…", r#"…"#, br"…", cr#"…"#
            let body = i + prefix + hashes + 1;
            let mut j = body;
            let text = loop {
                if j >= c.len() {
                    return Err(format!("line {start_line}: unterminated raw string"));
                }
                if c[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    break c[body..j].iter().collect::<String>();
                }
                j += 1;
            };
            line += text.matches('\n').count();
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = j + 1 + hashes;
        } else if ch == '"' || ((ch == 'b' || ch == 'c') && at(i + 1) == '"') {
            let mut j = i + if ch == '"' { 1 } else { 2 };
            let mut text = String::new();
            loop {
                match c.get(j) {
                    None => return Err(format!("line {start_line}: unterminated string")),
                    Some('"') => break,
                    Some('\\') => {
                        j = unescape(&c, j, &mut text, &mut line)
                            .map_err(|e| format!("line {line}: {e}"))?;
                    }
                    Some(&other) => {
                        line += usize::from(other == '\n');
                        text.push(other);
                        j += 1;
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(text),
                line: start_line,
            });
            i = j + 1;
        } else if ch == '\'' || (ch == 'b' && at(i + 1) == '\'') {
            // A character ('x', '\n', b'x') or a lifetime ('a, 'static, '_).
            let q = if ch == '\'' { i } else { i + 1 };
            let end = if at(q + 1) == '\\' {
                match at(q + 2) {
                    'x' => Some(q + 5),
                    'u' => (q + 3..c.len()).find(|&k| c[k] == '}').map(|k| k + 1),
                    _ => Some(q + 3),
                }
                .filter(|&e| at(e) == '\'')
            } else if at(q + 2) == '\'' {
                Some(q + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push(Token {
                        tok: Tok::Other(c[i..=end].iter().collect()),
                        line,
                    });
                    i = end + 1;
                }
                None => {
                    let mut j = q + 1;
                    while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                        j += 1;
                    }
                    out.push(Token {
                        tok: Tok::Other(c[i..j].iter().collect()),
                        line,
                    });
                    i = j;
                }
            }
        } else if ch == 'r' && at(i + 1) == '#' && is_ident_start(at(i + 2)) {
            // A raw identifier: r#type
            let mut j = i + 2;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Ident(c[i + 2..j].iter().collect()),
                line,
            });
            i = j;
        } else if is_ident_start(ch) {
            let mut j = i;
            while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Ident(c[i..j].iter().collect()),
                line,
            });
            i = j;
        } else if ch.is_ascii_digit() {
            let mut j = i;
            while j < c.len()
                && (c[j].is_alphanumeric()
                    || c[j] == '_'
                    || (c[j] == '.' && at(j + 1).is_ascii_digit()))
            {
                j += 1;
            }
            out.push(Token {
                tok: Tok::Other(c[i..j].iter().collect()),
                line,
            });
            i = j;
        } else {
            out.push(Token {
                tok: Tok::Punct(ch),
                line,
            });
            i += 1;
        }
    }
    Ok(out)
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

/// At `i`: `r"`, `r#…#"`, `br…` or `cr…`? Returns the prefix length and the number of `#`.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    let prefix = match (c.get(i), c.get(i + 1)) {
        (Some('r'), _) => 1,
        (Some('b' | 'c'), Some('r')) => 2,
        _ => return None,
    };
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut hashes = 0;
    while c.get(i + prefix + hashes) == Some(&'#') {
        hashes += 1;
    }
    (c.get(i + prefix + hashes) == Some(&'"')).then_some((prefix, hashes))
}

/// Decodes the escape at `c[j] == '\\'` into `out`; returns the index after it.
fn unescape(c: &[char], j: usize, out: &mut String, line: &mut usize) -> Result<usize, String> {
    let next = c.get(j + 1).copied().ok_or("escape at end of input")?;
    let simple = match next {
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        '\\' => Some('\\'),
        '0' => Some('\0'),
        '\'' => Some('\''),
        '"' => Some('"'),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return Ok(j + 2);
    }
    match next {
        // A line continuation: the newline and the whitespace after it are not in the string.
        '\n' | '\r' => {
            let mut k = j + 1;
            while k < c.len() && c[k].is_whitespace() {
                *line += usize::from(c[k] == '\n');
                k += 1;
            }
            Ok(k)
        }
        'x' => {
            let hex: String = c
                .get(j + 2..j + 4)
                .ok_or("short \\x escape")?
                .iter()
                .collect();
            let v = u8::from_str_radix(&hex, 16).map_err(|e| format!("\\x{hex}: {e}"))?;
            out.push(char::from(v));
            Ok(j + 4)
        }
        'u' => {
            let close = (j..c.len())
                .find(|&k| c[k] == '}')
                .ok_or("bad \\u escape")?;
            let hex: String = c[j + 3..close].iter().filter(|&&h| h != '_').collect();
            let v = u32::from_str_radix(&hex, 16).map_err(|e| format!("\\u{{{hex}}}: {e}"))?;
            out.push(char::from_u32(v).ok_or("\\u escape is not a character")?);
            Ok(close + 1)
        }
        other => Err(format!("unknown escape \\{other}")),
    }
}

// ---------------------------------------------------------------------------------------
// Items: functions and `&str` constants

struct FnDef {
    name: String,
    /// Parameter names in order (`None` for `self` and patterns).
    params: Vec<Option<String>>,
    has_self: bool,
    /// Token range inside the body's braces.
    body: (usize, usize),
}

struct File {
    name: String,
    toks: Vec<Token>,
    fns: Vec<FnDef>,
    /// `const NAME: &str = …;` → the expression's token range.
    consts: HashMap<String, (usize, usize)>,
}

impl File {
    fn new(name: String, toks: Vec<Token>) -> File {
        let mut file = File {
            name,
            toks,
            fns: Vec::new(),
            consts: HashMap::new(),
        };
        file.index();
        file
    }

    fn ident(&self, i: usize) -> Option<&str> {
        match self.toks.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(s)) => Some(s),
            _ => None,
        }
    }

    fn punct(&self, i: usize, p: char) -> bool {
        matches!(self.toks.get(i).map(|t| &t.tok), Some(Tok::Punct(q)) if *q == p)
    }

    fn line(&self, i: usize) -> usize {
        self.toks.get(i).map_or(0, |t| t.line)
    }

    /// The index of the bracket closing the one at `open`.
    fn close_of(&self, open: usize) -> Option<usize> {
        let mut depth = 0i32;
        for i in open..self.toks.len() {
            match &self.toks[i].tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// After a `<` at `open`, the index of its `>` (a `->` is not one).
    fn close_angle(&self, open: usize) -> Option<usize> {
        let mut depth = 0i32;
        for i in open..self.toks.len() {
            if self.punct(i, '<') {
                depth += 1;
            } else if self.punct(i, '>') && !(i > 0 && self.punct(i - 1, '-')) {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
        }
        None
    }

    /// Splits `from..to` at top-level `sep`; with `angles`, `<…>` nests too.
    fn split(&self, from: usize, to: usize, sep: char, angles: bool) -> Vec<(usize, usize)> {
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0i32, from);
        for i in from..to {
            match &self.toks[i].tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct('<') if angles => depth += 1,
                Tok::Punct('>') if angles && !(i > 0 && self.punct(i - 1, '-')) => depth -= 1,
                Tok::Punct(p) if *p == sep && depth == 0 => {
                    parts.push((start, i));
                    start = i + 1;
                }
                _ => {}
            }
        }
        if start < to {
            parts.push((start, to));
        }
        parts
    }

    fn index(&mut self) {
        let mut fns = Vec::new();
        let mut consts = HashMap::new();
        for i in 0..self.toks.len() {
            match self.ident(i) {
                Some("fn") => {
                    if let Some(f) = self.fn_at(i) {
                        fns.push(f);
                    }
                }
                Some("const") => {
                    if let Some((name, range)) = self.str_const_at(i) {
                        consts.insert(name, range);
                    }
                }
                _ => {}
            }
        }
        self.fns = fns;
        self.consts = consts;
    }

    /// `fn name<…>(params) -> … { body }` at `i`.
    fn fn_at(&self, i: usize) -> Option<FnDef> {
        let name = self.ident(i + 1)?.to_string();
        let mut j = i + 2;
        if self.punct(j, '<') {
            j = self.close_angle(j)? + 1;
        }
        if !self.punct(j, '(') {
            return None;
        }
        let close = self.close_of(j)?;
        let mut params = Vec::new();
        let mut has_self = false;
        for (a, b) in self.split(j + 1, close, ',', true) {
            let mut k = a;
            while self.punct(k, '&') || self.ident(k) == Some("mut") || self.is_lifetime(k) {
                k += 1;
            }
            if self.ident(k) == Some("self") {
                has_self = true;
                params.push(None);
            } else if k + 1 < b && self.punct(k + 1, ':') && !self.punct(k + 2, ':') {
                params.push(self.ident(k).map(str::to_string));
            } else {
                params.push(None);
            }
        }
        // The body: the first `{` at depth 0 after the parameters; a `;` first means none.
        let mut k = close + 1;
        while k < self.toks.len() {
            if self.punct(k, ';') {
                return None;
            }
            if self.punct(k, '{') {
                let end = self.close_of(k)?;
                return Some(FnDef {
                    name,
                    params,
                    has_self,
                    body: (k + 1, end),
                });
            }
            if self.punct(k, '(') || self.punct(k, '[') {
                k = self.close_of(k)?;
            }
            k += 1;
        }
        None
    }

    fn is_lifetime(&self, i: usize) -> bool {
        matches!(self.toks.get(i).map(|t| &t.tok), Some(Tok::Other(s)) if s.starts_with('\''))
    }

    /// `const NAME: &str = expr;` (or `&'static str`) at `i`.
    fn str_const_at(&self, i: usize) -> Option<(String, (usize, usize))> {
        let name = self.ident(i + 1)?.to_string();
        if !self.punct(i + 2, ':') || !self.punct(i + 3, '&') {
            return None;
        }
        let mut j = i + 4;
        if self.is_lifetime(j) {
            j += 1;
        }
        if self.ident(j) != Some("str") || !self.punct(j + 1, '=') {
            return None;
        }
        let end = self.split(j + 2, self.toks.len(), ';', false).first()?.1;
        Some((name, (j + 2, end)))
    }

    /// The innermost function whose body holds token `i`.
    fn enclosing_fn(&self, i: usize) -> Option<usize> {
        self.fns
            .iter()
            .enumerate()
            .filter(|(_, f)| f.body.0 <= i && i < f.body.1)
            .min_by_key(|(_, f)| f.body.1 - f.body.0)
            .map(|(k, _)| k)
    }

    /// The initialiser of the nearest `let NAME` before `i` inside the function `f` (items
    /// outside functions have no locals).
    fn local(&self, f: Option<usize>, i: usize, name: &str) -> Option<(usize, usize)> {
        let floor = self.fns.get(f?)?.body.0;
        for k in (floor..i).rev() {
            if self.ident(k) != Some("let") {
                continue;
            }
            let mut n = k + 1;
            if self.ident(n) == Some("mut") {
                n += 1;
            }
            if self.ident(n) != Some(name) {
                continue;
            }
            let eq = if self.punct(n + 1, '=') {
                n + 1
            } else if self.punct(n + 1, ':') {
                // `let name: Type = …`: a type holds no `=`.
                (n + 2..i).find(|&e| self.punct(e, '='))?
            } else {
                continue;
            };
            let end = self
                .split(eq + 1, self.toks.len(), ';', false)
                .first()
                .map_or(eq + 1, |p| p.1);
            return Some((eq + 1, end));
        }
        None
    }

    /// The tail expression of a block `from..to` (what it evaluates to).
    fn tail(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        let parts = self.split(from, to, ';', false);
        let last = *parts.last()?;
        // A trailing `;` leaves no tail.
        let ends_with_semicolon = to > from && self.punct(to - 1, ';');
        (!ends_with_semicolon).then_some(last)
    }

    fn text(&self, from: usize, to: usize) -> String {
        let mut s = String::new();
        for t in &self.toks[from..to.min(self.toks.len())] {
            match &t.tok {
                Tok::Ident(x) | Tok::Other(x) => {
                    if !s.is_empty() && !s.ends_with(['(', '&', '.', ':', '!']) {
                        s.push(' ');
                    }
                    s.push_str(x);
                }
                Tok::Str(x) => s.push_str(&format!("{x:?}")),
                Tok::Punct(p) => s.push(*p),
            }
        }
        if s.chars().count() > 120 {
            s = s.chars().take(117).collect::<String>() + "...";
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Evaluation

/// Values of a function's parameters (each may have failed to evaluate at its call site).
type Env = HashMap<String, Result<Vec<String>, String>>;

#[derive(Clone, Copy)]
struct Ctx<'e> {
    file: usize,
    func: Option<usize>,
    env: &'e Env,
}

#[derive(Debug)]
enum Fail {
    /// A parameter of the enclosing function with no value bound: try its call sites.
    Unbound(String),
    Other(String),
}

type Eval = Result<Vec<String>, Fail>;

/// The calls whose first argument is SQL text.
const SINKS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "raw_sql",
    "begin_with",
];

/// Longest chain of call sites followed to bind parameters.
const MAX_CALL_DEPTH: usize = 4;

struct Program {
    files: Vec<File>,
    /// Index of the dialect file in `files`.
    dialect: usize,
    /// Literals reached by some site: (file, token).
    used: RefCell<BTreeSet<(usize, usize)>>,
}

enum Site {
    Sql {
        file: usize,
        name_at: usize,
        arg: (usize, usize),
    },
    Builder {
        file: usize,
        name_at: usize,
        arg: (usize, usize),
    },
}

impl Program {
    fn run(&self) -> Extraction {
        let mut out = Extraction::default();
        let mut by_sql: BTreeMap<String, usize> = BTreeMap::new();
        for site in self.sites() {
            match site {
                Site::Sql { file, name_at, arg } => {
                    let at = format!(
                        "{}:{}",
                        self.files[file].name,
                        self.files[file].line(name_at)
                    );
                    let (values, errors) = self.eval_site(file, arg);
                    out.errors
                        .extend(errors.iter().map(|e| format!("{at}: {e}")));
                    if !values.is_empty() {
                        out.sites += 1;
                    }
                    for sql in values {
                        let k = *by_sql.entry(sql.clone()).or_insert_with(|| {
                            out.statements.push(Statement {
                                sql,
                                sites: Vec::new(),
                            });
                            out.statements.len() - 1
                        });
                        if !out.statements[k].sites.contains(&at) {
                            out.statements[k].sites.push(at.clone());
                        }
                    }
                }
                Site::Builder { file, name_at, arg } => {
                    let f = &self.files[file];
                    let (values, errors) = self.eval_site(file, arg);
                    let at = format!("{}:{}", f.name, f.line(name_at));
                    out.errors
                        .extend(errors.iter().map(|e| format!("{at}: {e}")));
                    for opening in values {
                        out.dynamic.push(DynamicSite {
                            file: f.name.clone(),
                            line: f.line(name_at),
                            opening,
                        });
                    }
                }
            }
        }
        let used = self.used.borrow();
        for (fi, f) in self.files.iter().enumerate() {
            for (ti, t) in f.toks.iter().enumerate() {
                if let Tok::Str(s) = &t.tok {
                    // `.push("SELECT …")` is a fragment of a builder (the dialect's `Bulk`
                    // rows), which `DYNAMIC` lists by its opening.
                    let fragment = ti >= 3
                        && f.punct(ti - 1, '(')
                        && f.ident(ti - 2) == Some("push")
                        && f.punct(ti - 3, '.');
                    if looks_like_statement(s) && !fragment && !used.contains(&(fi, ti)) {
                        out.unreached.push(format!("{}:{}: {s:?}", f.name, t.line));
                    }
                }
            }
        }
        out
    }

    /// Every SQL call and `QueryBuilder::new` in the files, with its first argument.
    fn sites(&self) -> Vec<Site> {
        let mut sites = Vec::new();
        for (fi, f) in self.files.iter().enumerate() {
            for i in 0..f.toks.len() {
                let Some(name) = f.ident(i) else { continue };
                if i > 0 && f.ident(i - 1) == Some("fn") {
                    continue;
                }
                if SINKS.contains(&name) {
                    let mut j = i + 1;
                    if f.punct(j, ':') && f.punct(j + 1, ':') && f.punct(j + 2, '<') {
                        match f.close_angle(j + 2) {
                            Some(close) => j = close + 1,
                            None => continue,
                        }
                    }
                    if let Some(arg) = first_arg(f, j) {
                        sites.push(Site::Sql {
                            file: fi,
                            name_at: i,
                            arg,
                        });
                    }
                } else if name == "QueryBuilder" {
                    // QueryBuilder::new( or QueryBuilder::<Db>::new(
                    let mut j = i + 1;
                    if f.punct(j, ':') && f.punct(j + 1, ':') && f.punct(j + 2, '<') {
                        match f.close_angle(j + 2) {
                            Some(close) => j = close + 1,
                            None => continue,
                        }
                    }
                    if f.punct(j, ':') && f.punct(j + 1, ':') && f.ident(j + 2) == Some("new") {
                        if let Some(arg) = first_arg(f, j + 3) {
                            sites.push(Site::Builder {
                                file: fi,
                                name_at: i,
                                arg,
                            });
                        }
                    }
                }
            }
        }
        sites
    }

    /// The texts a site's argument takes; errors for the ways it could not be read.
    fn eval_site(&self, file: usize, arg: (usize, usize)) -> (Vec<String>, Vec<String>) {
        let func = self.files[file].enclosing_fn(arg.0);
        let empty = Env::new();
        let ctx = Ctx {
            file,
            func,
            env: &empty,
        };
        match self.eval(arg, ctx, 0) {
            Ok(v) => (v, Vec::new()),
            Err(Fail::Other(e)) => (Vec::new(), vec![e]),
            Err(Fail::Unbound(p)) => {
                let Some(func) = func else {
                    return (Vec::new(), vec![format!("`{p}` is not bound")]);
                };
                let envs = match self.envs_for(file, func, 0) {
                    Ok(envs) => envs,
                    Err(e) => return (Vec::new(), vec![e]),
                };
                let (mut values, mut errors) = (Vec::new(), Vec::new());
                for env in &envs {
                    let ctx = Ctx {
                        file,
                        func: Some(func),
                        env,
                    };
                    match self.eval(arg, ctx, 0) {
                        Ok(v) => values.extend(v),
                        Err(Fail::Unbound(p)) | Err(Fail::Other(p)) => errors.push(p),
                    }
                }
                (values, errors)
            }
        }
    }

    /// One environment per call site of `func` (and per environment of the caller): the
    /// parameters bound to what each call passes.
    fn envs_for(&self, file: usize, func: usize, depth: usize) -> Result<Vec<Env>, String> {
        let def = &self.files[file].fns[func];
        if depth > MAX_CALL_DEPTH {
            return Err(format!("call chain too deep at `{}`", def.name));
        }
        if def.has_self {
            return Err(format!(
                "`{}` takes `self`: parameters not followed",
                def.name
            ));
        }
        let calls = self.calls_of(file, &def.name);
        if calls.is_empty() {
            return Err(format!(
                "`{}` is never called: its parameters are unknown",
                def.name
            ));
        }
        let mut envs = Vec::new();
        for (cf, open) in calls {
            let f = &self.files[cf];
            let close = f
                .close_of(open)
                .ok_or_else(|| format!("{}: unclosed call", f.name))?;
            let args = f.split(open + 1, close, ',', false);
            if args.len() != def.params.len() {
                return Err(format!(
                    "{}:{}: `{}` called with {} arguments, declared with {}",
                    f.name,
                    f.line(open),
                    def.name,
                    args.len(),
                    def.params.len()
                ));
            }
            let caller = f.enclosing_fn(open);
            let caller_envs = match caller {
                Some(g) => match self.envs_for(cf, g, depth + 1) {
                    Ok(e) => e,
                    // The caller's own parameters cannot be bound: arguments that need them
                    // fail when used.
                    Err(_) => vec![Env::new()],
                },
                None => vec![Env::new()],
            };
            for cenv in &caller_envs {
                let ctx = Ctx {
                    file: cf,
                    func: caller,
                    env: cenv,
                };
                let mut env = Env::new();
                for (p, a) in def.params.iter().zip(&args) {
                    if let Some(p) = p {
                        let v = self.eval(*a, ctx, 0).map_err(|e| match e {
                            Fail::Unbound(x) | Fail::Other(x) => x,
                        });
                        env.insert(p.clone(), v);
                    }
                }
                envs.extend(product_env(env));
            }
        }
        Ok(envs)
    }

    /// Free calls of `name` (`name(` or `path::name(`, not `.name(` nor `fn name(`): the
    /// defining file first, the others when it has none. Returns (file, index of `(`).
    fn calls_of(&self, file: usize, name: &str) -> Vec<(usize, usize)> {
        let find = |fi: usize| -> Vec<(usize, usize)> {
            let f = &self.files[fi];
            (0..f.toks.len())
                .filter(|&i| {
                    f.ident(i) == Some(name)
                        && f.punct(i + 1, '(')
                        && !(i > 0 && (f.punct(i - 1, '.') || f.ident(i - 1) == Some("fn")))
                })
                .map(|i| (fi, i + 1))
                .collect()
        };
        let own = find(file);
        if !own.is_empty() {
            return own;
        }
        (0..self.files.len())
            .filter(|&fi| fi != file)
            .flat_map(find)
            .collect()
    }

    fn eval(&self, (from, to): (usize, usize), ctx: Ctx<'_>, depth: usize) -> Eval {
        let f = &self.files[ctx.file];
        let bad = |why: &str| Fail::Other(format!("{why}: `{}`", f.text(from, to)));
        if depth > 32 {
            return Err(bad("too deep"));
        }
        if from >= to {
            return Err(bad("empty expression"));
        }
        // &expr
        if f.punct(from, '&') {
            return self.eval((from + 1, to), ctx, depth + 1);
        }
        // expr.to_string() and the like: the same text.
        if to - from > 4 && f.punct(to - 1, ')') && f.punct(to - 2, '(') && f.punct(to - 4, '.') {
            if let Some("to_string" | "to_owned" | "clone" | "into" | "as_str") = f.ident(to - 3) {
                return self.eval((from, to - 4), ctx, depth + 1);
            }
        }
        // ( expr ) or { …; tail }
        if (f.punct(from, '(') || f.punct(from, '{')) && f.close_of(from) == Some(to - 1) {
            if f.punct(from, '(') {
                return self.eval((from + 1, to - 1), ctx, depth + 1);
            }
            let tail = f
                .tail(from + 1, to - 1)
                .ok_or_else(|| bad("a block without a value"))?;
            return self.eval(tail, ctx, depth + 1);
        }
        if to - from == 1 {
            return match &f.toks[from].tok {
                Tok::Str(s) => {
                    self.used.borrow_mut().insert((ctx.file, from));
                    Ok(vec![s.clone()])
                }
                Tok::Ident(name) => self.resolve(name, from, ctx, depth),
                _ => Err(bad("not text")),
            };
        }
        if f.ident(from) == Some("if") {
            return self.eval_if(from, to, ctx, depth);
        }
        // A path call: skip the path (`sqlx::AssertSqlSafe(…)`, `format!(…)`, `f(…)`).
        let mut k = from;
        while f.ident(k).is_some() && f.punct(k + 1, ':') && f.punct(k + 2, ':') {
            k += 3;
        }
        let Some(callee) = f.ident(k) else {
            return Err(bad("cannot read"));
        };
        let is_macro = f.punct(k + 1, '!');
        let open = if is_macro { k + 2 } else { k + 1 };
        if !f.punct(open, '(') || f.close_of(open) != Some(to - 1) {
            return Err(bad("cannot read"));
        }
        let args = f.split(open + 1, to - 1, ',', false);
        match (callee, is_macro) {
            ("format", true) => self.eval_format(&args, ctx, depth),
            ("AssertSqlSafe", false) if args.len() == 1 => self.eval(args[0], ctx, depth + 1),
            (name, false) => self.eval_call(name, &args, ctx, depth),
            (name, true) => Err(bad(&format!("macro {name}! is not read"))),
        }
    }

    fn eval_if(&self, from: usize, to: usize, ctx: Ctx<'_>, depth: usize) -> Eval {
        let f = &self.files[ctx.file];
        let bad = || Fail::Other(format!("cannot read `{}`", f.text(from, to)));
        // `if cond { a } else { b }` or `else if …`: the condition ends at the first `{` at
        // depth 0 (a struct literal cannot stand there).
        let mut k = from + 1;
        while k < to && !f.punct(k, '{') {
            if f.punct(k, '(') || f.punct(k, '[') {
                k = f.close_of(k).ok_or_else(bad)?;
            }
            k += 1;
        }
        let then_end = f.close_of(k).ok_or_else(bad)?;
        let mut values = self.eval((k, then_end + 1), ctx, depth + 1)?;
        if f.ident(then_end + 1) != Some("else") {
            return Err(bad());
        }
        values.extend(self.eval((then_end + 2, to), ctx, depth + 1)?);
        Ok(values)
    }

    fn eval_format(&self, args: &[(usize, usize)], ctx: Ctx<'_>, depth: usize) -> Eval {
        let f = &self.files[ctx.file];
        let template = match args.first() {
            Some(&(a, b)) if b == a + 1 => match &f.toks[a].tok {
                Tok::Str(s) => {
                    self.used.borrow_mut().insert((ctx.file, a));
                    s.clone()
                }
                _ => return Err(Fail::Other("format! without a literal".into())),
            },
            _ => return Err(Fail::Other("format! without a literal".into())),
        };
        let mut positional = Vec::new();
        let mut named = HashMap::new();
        for &(a, b) in &args[1..] {
            if b > a + 2 && f.ident(a).is_some() && f.punct(a + 1, '=') && !f.punct(a + 2, '=') {
                let name = f.ident(a).unwrap_or_default().to_string();
                named.insert(name, (a + 2, b));
            } else {
                positional.push((a, b));
            }
        }
        let mut pieces: Vec<Vec<String>> = Vec::new();
        let mut lit = String::new();
        let mut next = 0usize;
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '{' => {
                    let mut spec = String::new();
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        spec.push(c);
                    }
                    let (name, fmt) = spec.split_once(':').unwrap_or((&spec, ""));
                    if !fmt.is_empty() {
                        return Err(Fail::Other(format!("format spec `{{{spec}}}` in SQL")));
                    }
                    let value = if name.is_empty() {
                        next += 1;
                        let a = *positional
                            .get(next - 1)
                            .ok_or_else(|| Fail::Other("missing format! argument".into()))?;
                        self.eval(a, ctx, depth + 1)?
                    } else if let Ok(n) = name.parse::<usize>() {
                        let a = *positional
                            .get(n)
                            .ok_or_else(|| Fail::Other(format!("missing format! argument {n}")))?;
                        self.eval(a, ctx, depth + 1)?
                    } else if let Some(&a) = named.get(name) {
                        self.eval(a, ctx, depth + 1)?
                    } else {
                        // Inline `{NAME}`: resolved where the format! stands.
                        let at = args[0].0;
                        self.resolve(name, at, ctx, depth + 1)?
                    };
                    pieces.push(vec![std::mem::take(&mut lit)]);
                    pieces.push(value);
                }
                c => lit.push(c),
            }
        }
        pieces.push(vec![lit]);
        Ok(pieces.into_iter().fold(vec![String::new()], |acc, piece| {
            acc.iter()
                .flat_map(|a| piece.iter().map(move |p| format!("{a}{p}")))
                .collect()
        }))
    }

    /// A call of a function defined in the files: its tail expression with the parameters
    /// bound to the arguments.
    fn eval_call(&self, name: &str, args: &[(usize, usize)], ctx: Ctx<'_>, depth: usize) -> Eval {
        let (df, di) = self
            .lookup(ctx.file, |f| f.fns.iter().position(|d| d.name == name))
            .map_err(|e| Fail::Other(format!("call of `{name}`: {e}")))?;
        let def = &self.files[df].fns[di];
        if def.params.len() != args.len() {
            return Err(Fail::Other(format!("`{name}`: arguments do not match")));
        }
        let mut env = Env::new();
        for (p, a) in def.params.iter().zip(args) {
            if let Some(p) = p {
                let v = self.eval(*a, ctx, depth + 1).map_err(|e| match e {
                    Fail::Unbound(x) | Fail::Other(x) => x,
                });
                env.insert(p.clone(), v);
            }
        }
        let tail = self.files[df]
            .tail(def.body.0, def.body.1)
            .ok_or_else(|| Fail::Other(format!("`{name}` ends without a value")))?;
        let mut values = Vec::new();
        for env in product_env(env) {
            let inner = Ctx {
                file: df,
                func: Some(di),
                env: &env,
            };
            values.extend(self.eval(tail, inner, depth + 1)?);
        }
        Ok(values)
    }

    /// A name at token `at`: a bound parameter, a local, a parameter to bind from call sites,
    /// or a `&str` constant.
    fn resolve(&self, name: &str, at: usize, ctx: Ctx<'_>, depth: usize) -> Eval {
        if let Some(v) = ctx.env.get(name) {
            return v.clone().map_err(|e| Fail::Other(format!("`{name}`: {e}")));
        }
        let f = &self.files[ctx.file];
        if let Some(init) = f.local(ctx.func, at, name) {
            return self.eval(init, ctx, depth + 1);
        }
        if let Some(func) = ctx.func {
            if f.fns[func].params.iter().flatten().any(|p| p == name) {
                return Err(Fail::Unbound(format!(
                    "parameter `{name}` of `{}`",
                    f.fns[func].name
                )));
            }
        }
        let (cf, range) = self
            .lookup(ctx.file, |f| f.consts.get(name).copied())
            .map_err(|e| Fail::Other(format!("`{name}`: {e}")))?;
        let inner = Ctx {
            file: cf,
            func: None,
            env: &Env::new(),
        };
        self.eval(range, inner, depth + 1)
    }

    /// An item by name: in `file`, else in the dialect, else in exactly one other file.
    fn lookup<T>(
        &self,
        file: usize,
        find: impl Fn(&File) -> Option<T>,
    ) -> Result<(usize, T), String> {
        if let Some(x) = find(&self.files[file]) {
            return Ok((file, x));
        }
        if let Some(x) = find(&self.files[self.dialect]) {
            return Ok((self.dialect, x));
        }
        let mut found: Vec<(usize, T)> = (0..self.files.len())
            .filter(|&i| i != file && i != self.dialect)
            .filter_map(|i| find(&self.files[i]).map(|x| (i, x)))
            .collect();
        match found.len() {
            0 => Err("not defined in the store's SQL files".into()),
            1 => Ok(found.remove(0)),
            _ => Err(format!(
                "defined in several files ({})",
                found
                    .iter()
                    .map(|(i, _)| self.files[*i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

/// The first argument of the call whose `(` is at `open`.
fn first_arg(f: &File, open: usize) -> Option<(usize, usize)> {
    if !f.punct(open, '(') {
        return None;
    }
    let close = f.close_of(open)?;
    f.split(open + 1, close, ',', false).first().copied()
}

/// One environment per combination of the parameters' values (failed ones stay failed).
fn product_env(env: Env) -> Vec<Env> {
    let mut out = vec![Env::new()];
    for (name, value) in env {
        out = match value {
            Ok(values) => out
                .into_iter()
                .flat_map(|e| {
                    let name = name.clone();
                    values.iter().map(move |v| {
                        let mut e = e.clone();
                        e.insert(name.clone(), Ok(vec![v.clone()]));
                        e
                    })
                })
                .collect(),
            Err(why) => out
                .into_iter()
                .map(|mut e| {
                    e.insert(name.clone(), Err(why.clone()));
                    e
                })
                .collect(),
        };
    }
    out
}

/// Whether a literal reads like a whole statement.
pub fn looks_like_statement(s: &str) -> bool {
    let first = s
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("");
    ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> Source {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    const DIALECT: &str = r#"
        pub(crate) const LOCK: &str = " FOR UPDATE";
        /// `IN` the list bound at `param`.
        pub(crate) fn in_list(param: &str) -> String {
            format!("= ANY({param})")
        }
    "#;

    fn sqls(x: &Extraction) -> Vec<&str> {
        let mut v: Vec<&str> = x.statements.iter().map(|s| s.sql.as_str()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn literals_are_read_as_the_compiler_reads_them() {
        let text = r##"
            // "not a string", nor /* this
            /* "nor" /* nested */ "this" */
            let a = "a\"b\\c\x41\u{416}";
            let b = r#"raw "quoted" \n"#;
            let c = "one \
                     two";
            let d = ('\'', '\\', '"', b'x', b"bytes");
            fn f<'a>(x: &'a str) -> &'static str { "after lifetimes" }
        "##;
        let strings: Vec<String> = lex(text)
            .expect("lex")
            .into_iter()
            .filter_map(|t| match t.tok {
                Tok::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(
            strings,
            [
                "a\"b\\cAЖ",
                "raw \"quoted\" \\n",
                "one two",
                "bytes",
                "after lifetimes"
            ]
        );
        let lines: Vec<usize> = lex("\"a\nb\"\nx")
            .expect("lex")
            .iter()
            .map(|t| t.line)
            .collect();
        assert_eq!(lines, [1, 3], "a string's newlines count");
    }

    #[test]
    fn statements_are_rebuilt_through_constants_the_dialect_and_call_sites() {
        let module = r#"
            super::per_backend! {
                const COLUMNS: &str = "id, name";

                fn filter_a() -> String {
                    format!("kind {} AND a = 1", in_list("$1"))
                }

                fn filter_b() -> String {
                    format!("kind {} AND b = 2", in_list("$1"))
                }

                async fn first(store: &Store, table: &str, filter: &str) -> Result<(), E> {
                    let sql = format!("SELECT {COLUMNS} FROM {table} WHERE {filter}{LOCK}");
                    sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&store.pool).await?;
                    Ok(())
                }

                async fn a(&self) {
                    let filter = filter_a();
                    first(self, "ta", &filter).await;
                }

                async fn b(&self) {
                    let filter = filter_b();
                    let _ = first(self, "tb", &filter).await;
                }

                async fn c(&self, late: bool) {
                    let sql = if late { "UPDATE t SET x = 1" } else { "UPDATE t SET x = 2" };
                    sqlx::query(sql).execute(&self.pool).await;
                    let n: i64 = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM t")
                        .fetch_one(&self.pool)
                        .await;
                }
            }
        "#;
        let x = extract(&[src("m.rs", module)], &src("d.rs", DIALECT)).expect("extract");
        assert!(x.errors.is_empty() && x.unreached.is_empty(), "{x:?}");
        assert_eq!(
            sqls(&x),
            [
                "SELECT COUNT(*) FROM t",
                // Each call site's table with its own filter, never crossed.
                "SELECT id, name FROM ta WHERE kind = ANY($1) AND a = 1 FOR UPDATE",
                "SELECT id, name FROM tb WHERE kind = ANY($1) AND b = 2 FOR UPDATE",
                "UPDATE t SET x = 1",
                "UPDATE t SET x = 2",
            ]
        );
        assert_eq!(x.sites, 3);
        let lines: Vec<&str> = x
            .statements
            .iter()
            .flat_map(|s| s.sites.iter())
            .map(String::as_str)
            .collect();
        assert!(
            lines.contains(&"m.rs:15") && lines.contains(&"m.rs:31") && lines.contains(&"m.rs:32"),
            "{lines:?}"
        );
    }

    #[test]
    fn sql_the_extractor_cannot_rebuild_is_reported_not_skipped() {
        let module = r#"
            const UNUSED: &str = "DELETE FROM t WHERE id = $1";

            async fn f(conn: &mut Conn, ids: &[Uuid]) {
                let sql = String::from("SELECT 1");
                sqlx::query(&sql).execute(&mut *conn).await;
                sqlx::query(&make_sql(ids)).execute(&mut *conn).await;
                conn.execute("DELETE FROM u").await;
                let mut q = QueryBuilder::<Db>::new("SELECT id FROM t WHERE id IN (");
                q.push(")");
            }
        "#;
        let x = extract(&[src("m.rs", module)], &src("d.rs", DIALECT)).expect("extract");
        assert_eq!(x.sites, 0);
        assert!(x.statements.is_empty(), "{:?}", x.statements);
        assert_eq!(x.errors.len(), 2, "{:#?}", x.errors);
        assert!(x.errors[0].starts_with("m.rs:6: "), "{}", x.errors[0]);
        assert!(x.errors[1].starts_with("m.rs:7: "), "{}", x.errors[1]);
        assert_eq!(
            x.unreached,
            [
                "m.rs:2: \"DELETE FROM t WHERE id = $1\"",
                "m.rs:5: \"SELECT 1\"",
                "m.rs:8: \"DELETE FROM u\"",
            ]
        );
        assert_eq!(x.dynamic.len(), 1);
        assert_eq!(
            (x.dynamic[0].line, x.dynamic[0].opening.as_str()),
            (9, "SELECT id FROM t WHERE id IN (")
        );
    }
}
