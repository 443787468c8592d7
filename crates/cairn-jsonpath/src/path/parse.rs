//! Parsing path text into a [`Path`]: roots `$`, `$$`, `$name`; dot and bracket notation,
//! wildcards, slices, unions, deep scan and filters.
//!
//! Quoted names keep their text verbatim: AWS (an older Jayway) only uses the backslash to
//! skip over an escaped quote, it does not unescape (observed: `$['Test\""Name"']` selects the
//! key `Test\""Name"`). Parsing never panics; every failure is a message with a position.

use super::filter;
use super::{Path, Root, Segment, Selector};

/// A byte cursor over path text. Delimiters are ASCII, so slicing at them keeps UTF-8 intact.
pub(crate) struct Cursor<'s> {
    pub src: &'s str,
    pub pos: usize,
    /// Current nesting of filter groups, negations and nested filters; bounded so hostile
    /// text cannot overflow the stack (parsing, evaluating or dropping the tree).
    pub depth: usize,
    /// `&&` and `||` operators read so far: a chain of them is a tree as deep as it is long
    /// (`@&&@&&@…` 20,000 long overflowed the stack when evaluated or dropped; found by
    /// fuzzing), so the whole path may hold at most [`MAX_FILTER_OPERATORS`].
    pub operators: usize,
}

/// The deepest nesting of filter groups, negations and filters inside filters.
pub(crate) const MAX_FILTER_NESTING: usize = 64;

/// The most `&&` / `||` operators in one path's filters (Cairn's own bound; AWS's is not
/// documented). With [`MAX_FILTER_NESTING`] it bounds the depth of every filter tree.
pub(crate) const MAX_FILTER_OPERATORS: usize = 256;

impl<'s> Cursor<'s> {
    pub fn new(src: &'s str, pos: usize) -> Self {
        Cursor {
            src,
            pos,
            depth: 0,
            operators: 0,
        }
    }

    /// Count one `&&` / `||`, failing beyond [`MAX_FILTER_OPERATORS`].
    pub fn operator(&mut self) -> Result<(), String> {
        self.operators += 1;
        if self.operators > MAX_FILTER_OPERATORS {
            return Err(self.error("filter expression has too many && and || operators"));
        }
        Ok(())
    }

    /// Enter one level of filter nesting, failing beyond [`MAX_FILTER_NESTING`].
    pub fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_FILTER_NESTING {
            return Err(self.error("filter expression nested too deeply"));
        }
        Ok(())
    }

    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub fn peek_at(&self, offset: usize) -> Option<u8> {
        self.src.as_bytes().get(self.pos + offset).copied()
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    pub fn expect(&mut self, b: u8) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(self.error(&format!("expected '{}'", b as char)))
        }
    }

    pub fn error(&self, what: &str) -> String {
        match self
            .src
            .get(self.pos..)
            .and_then(|rest| rest.chars().next())
        {
            Some(c) => format!("{what} at position {} (found '{c}')", self.pos),
            None => format!("{what} at position {} (end of path)", self.pos),
        }
    }

    /// A quoted string (`'…'` or `"…"`) starting at the cursor, returned verbatim.
    pub fn quoted(&mut self) -> Result<&'s str, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.error("expected a quoted string")),
        };
        let start = self.pos + 1;
        let bytes = self.src.as_bytes();
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b if b == quote => {
                    self.pos = i + 1;
                    return Ok(&self.src[start..i]);
                }
                _ => i += 1,
            }
        }
        self.pos = bytes.len();
        Err(self.error("unterminated quoted string"))
    }

    /// An optionally signed integer.
    pub fn integer(&mut self) -> Result<i64, String> {
        let start = self.pos;
        self.eat(b'-');
        let digits = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if self.pos == digits {
            self.pos = start;
            return Err(self.error("expected an integer"));
        }
        self.src[start..self.pos].parse().map_err(|_| {
            self.pos = start;
            self.error("integer out of range")
        })
    }
}

/// Parse a whole path: a root then segments up to the end of the text.
pub(crate) fn parse_path(src: &str) -> Result<Path, String> {
    let mut c = Cursor::new(src, 0);
    if !c.eat(b'$') {
        return Err("a path must start with '$'".to_string());
    }
    let root = if c.eat(b'$') {
        Root::Context
    } else if c.peek().is_some_and(is_variable_char) {
        let start = c.pos;
        while c.peek().is_some_and(is_variable_char) {
            c.pos += 1;
        }
        Root::Variable(src[start..c.pos].to_string())
    } else {
        Root::Input
    };
    let segments = parse_segments(&mut c, false)?;
    if !c.at_end() {
        return Err(c.error("unexpected character"));
    }
    Ok(Path { root, segments })
}

fn is_variable_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Segments until the text ends or, inside a filter (`in_filter`), until a character that
/// cannot continue a path (an operator, a space, a closing parenthesis).
pub(crate) fn parse_segments(c: &mut Cursor, in_filter: bool) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    loop {
        match c.peek() {
            None => return Ok(segments),
            Some(b'.') => {
                c.pos += 1;
                if c.eat(b'.') {
                    let selector = match c.peek() {
                        Some(b'[') => bracket(c)?,
                        Some(b'*') => {
                            c.pos += 1;
                            Selector::Wildcard
                        }
                        _ => Selector::Name(dot_name(c, in_filter)?),
                    };
                    segments.push(Segment::Descendant(selector));
                } else if c.eat(b'*') {
                    segments.push(Segment::Child(Selector::Wildcard));
                } else {
                    let name = dot_name(c, in_filter)?;
                    if c.peek() == Some(b'(') {
                        segments.push(Segment::Child(function(c, name)?));
                        return Ok(segments);
                    }
                    segments.push(Segment::Child(Selector::Name(name)));
                }
            }
            Some(b'[') => segments.push(Segment::Child(bracket(c)?)),
            Some(_) if in_filter => return Ok(segments),
            Some(_) => return Err(c.error("unexpected character")),
        }
    }
}

/// A member name in dot notation: everything up to the next `.` or `[` (Jayway allows `-` and
/// any other character there, but not blanks; `(` would start a function, which AWS rejects).
fn dot_name(c: &mut Cursor, in_filter: bool) -> Result<String, String> {
    let start = c.pos;
    while let Some(b) = c.peek() {
        let stop = match b {
            b'.' | b'[' => true,
            b' ' | b'\t' | b'\n' | b'\r' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|'
            | b',' => in_filter,
            _ => false,
        };
        if stop {
            break;
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                return Err(c.error("blank in a name (use bracket notation ['a b'])"))
            }
            b'(' => break,
            b')' => return Err(c.error("unbalanced ')'")),
            b']' => return Err(c.error("unbalanced ']'")),
            _ => c.pos += 1,
        }
    }
    if c.pos == start {
        return Err(c.error("expected a member name"));
    }
    Ok(c.src[start..c.pos].to_string())
}

/// A Jayway function step (`.length()`, `.sum()`), cursor on `(`. AWS accepts these in a
/// definition but they never select anything at run time (observed: `$.Jobs.sum()` "could
/// not be found"). A function ends the path.
fn function(c: &mut Cursor, name: String) -> Result<Selector, String> {
    c.expect(b'(')?;
    c.skip_spaces();
    c.expect(b')')?;
    if !c.at_end()
        && !matches!(
            c.peek(),
            Some(b' ' | b')' | b'=' | b'!' | b'<' | b'>' | b'&' | b'|')
        )
    {
        return Err(c.error("a function must be the last step of a path"));
    }
    Ok(Selector::Function(name))
}

/// A bracketed selector, cursor on `[`.
fn bracket(c: &mut Cursor) -> Result<Selector, String> {
    c.expect(b'[')?;
    c.skip_spaces();
    let selector = match c.peek() {
        Some(b'*') => {
            c.pos += 1;
            Selector::Wildcard
        }
        Some(b'\'' | b'"') => {
            let mut names = vec![c.quoted()?.to_string()];
            c.skip_spaces();
            while c.eat(b',') {
                c.skip_spaces();
                names.push(c.quoted()?.to_string());
                c.skip_spaces();
            }
            if names.len() == 1 {
                Selector::Name(names.pop().unwrap_or_default())
            } else {
                Selector::Names(names)
            }
        }
        Some(b'?') => {
            c.pos += 1;
            c.skip_spaces();
            c.expect(b'(')?;
            let expr = filter::parse_expr(c)?;
            c.skip_spaces();
            c.expect(b')')?;
            Selector::Filter(Box::new(expr))
        }
        Some(b'-' | b'0'..=b'9' | b':') => numeric(c)?,
        _ => return Err(c.error("expected '*', a quoted name, an index, a slice or a filter")),
    };
    c.skip_spaces();
    c.expect(b']')?;
    Ok(selector)
}

/// An index, an index union or a slice, cursor on its first character.
fn numeric(c: &mut Cursor) -> Result<Selector, String> {
    let first = if c.peek() == Some(b':') {
        None
    } else {
        Some(c.integer()?)
    };
    c.skip_spaces();
    match c.peek() {
        Some(b':') => {
            c.pos += 1;
            let end = optional_integer(c)?;
            let step = if c.eat(b':') {
                optional_integer(c)?
            } else {
                None
            };
            if step == Some(0) {
                return Err(c.error("slice step cannot be zero"));
            }
            Ok(Selector::Slice {
                start: first,
                end,
                step,
            })
        }
        Some(b',') => {
            let mut indexes = vec![first.unwrap_or_default()];
            while c.eat(b',') {
                c.skip_spaces();
                indexes.push(c.integer()?);
                c.skip_spaces();
            }
            Ok(Selector::Indexes(indexes))
        }
        _ => Ok(Selector::Index(first.unwrap_or_default())),
    }
}

fn optional_integer(c: &mut Cursor) -> Result<Option<i64>, String> {
    c.skip_spaces();
    let value = match c.peek() {
        Some(b'-' | b'0'..=b'9') => Some(c.integer()?),
        _ => None,
    };
    c.skip_spaces();
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<Segment> {
        parse_path(p).unwrap().segments
    }

    fn name(n: &str) -> Segment {
        Segment::Child(Selector::Name(n.to_string()))
    }

    #[test]
    fn roots() {
        assert_eq!(parse_path("$").unwrap().root, Root::Input);
        assert_eq!(parse_path("$$").unwrap().root, Root::Context);
        assert_eq!(parse_path("$$.Execution.Id").unwrap().root, Root::Context);
        assert_eq!(
            parse_path("$my_var1.x").unwrap().root,
            Root::Variable("my_var1".into())
        );
    }

    #[test]
    fn dot_and_bracket_names() {
        assert_eq!(segs("$.a.b"), vec![name("a"), name("b")]);
        assert_eq!(segs("$['a b'][\"c\"]"), vec![name("a b"), name("c")]);
        assert_eq!(segs("$.delivery-partner"), vec![name("delivery-partner")]);
        assert_eq!(segs("$.ünïcödé"), vec![name("ünïcödé")]);
    }

    #[test]
    fn quoted_names_are_verbatim() {
        assert_eq!(segs(r#"$['Test\""Name"']"#), vec![name(r#"Test\""Name""#)]);
        assert_eq!(segs(r"$['it\'s']"), vec![name(r"it\'s")]);
    }

    #[test]
    fn indices_slices_unions() {
        assert_eq!(segs("$[0]"), vec![Segment::Child(Selector::Index(0))]);
        assert_eq!(segs("$[-1]"), vec![Segment::Child(Selector::Index(-1))]);
        assert_eq!(
            segs("$[0, 2]"),
            vec![Segment::Child(Selector::Indexes(vec![0, 2]))]
        );
        assert_eq!(
            segs("$[1:3]"),
            vec![Segment::Child(Selector::Slice {
                start: Some(1),
                end: Some(3),
                step: None
            })]
        );
        assert_eq!(
            segs("$[::2]"),
            vec![Segment::Child(Selector::Slice {
                start: None,
                end: None,
                step: Some(2)
            })]
        );
        assert_eq!(
            segs("$['a','b']"),
            vec![Segment::Child(Selector::Names(vec![
                "a".into(),
                "b".into()
            ]))]
        );
    }

    #[test]
    fn wildcards_and_deep_scan() {
        assert_eq!(segs("$.*"), vec![Segment::Child(Selector::Wildcard)]);
        assert_eq!(segs("$[*]"), vec![Segment::Child(Selector::Wildcard)]);
        assert_eq!(
            segs("$..a"),
            vec![Segment::Descendant(Selector::Name("a".into()))]
        );
        assert_eq!(segs("$..*"), vec![Segment::Descendant(Selector::Wildcard)]);
        assert_eq!(
            segs("$..[0]"),
            vec![Segment::Descendant(Selector::Index(0))]
        );
    }

    #[test]
    fn functions_parse_as_a_last_step() {
        assert_eq!(
            segs("$.Jobs.sum()"),
            vec![
                name("Jobs"),
                Segment::Child(Selector::Function("sum".into()))
            ]
        );
        assert_eq!(
            segs("$.length( )"),
            vec![Segment::Child(Selector::Function("length".into()))]
        );
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "",
            "a",
            "$.",
            "$..",
            "$[",
            "$[]",
            "$['a'",
            "$[1",
            "$.a b",
            "$.a().b",
            "$.a(1)",
            "$.a)",
            "$[0:1:0]",
            "$x y",
            "$[?(@.a >)]",
            "$['a' 'b']",
            "$[abc]",
            "$.a]",
        ] {
            assert!(parse_path(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
