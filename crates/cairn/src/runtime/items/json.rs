//! Incremental JSON item parsers for ItemReader: `InputType` JSONL (one value a line) and
//! JSON (a top-level array). Both are pushed bytes one fetched chunk at a time and hand back
//! each complete item as soon as its last byte has arrived, so a source is never held whole.
//!
//! The JSON array is split by a small structural scanner (strings, escapes, nesting depth)
//! that finds where each top-level element ends; every element is then parsed on its own by
//! `serde_json`, which does all validation. serde_json has no push parser for a value that
//! arrives in pieces, and this keeps at most one element (plus the unread rest of a chunk)
//! in memory.
//!
//! Must not: fetch anything, or know about buckets (errors are plain text; the reader adds
//! where).

use serde_json::Value;

/// Consumed bytes are dropped from the front of a buffer once they are at least this many
/// (and at least half of it), so compaction stays linear overall.
const COMPACT_AT: usize = 64 * 1024;

/// JSON Lines: each non-blank line is one JSON value.
#[derive(Debug, Default)]
pub(crate) struct JsonLines {
    buf: Vec<u8>,
    /// Start of the first unconsumed line in `buf`.
    start: usize,
    /// Where the search for the next newline resumes.
    scan: usize,
    /// 1-based number of the line starting at `start`.
    line: u64,
}

impl JsonLines {
    pub(crate) fn new() -> Self {
        JsonLines {
            line: 1,
            ..Default::default()
        }
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        compact(&mut self.buf, &mut self.start, &mut [&mut self.scan]);
        self.buf.extend_from_slice(chunk);
    }

    /// Bytes held (for the memory bound the tests observe).
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next item, `Ok(None)` when more input is needed (or, with `eof`, at the end).
    pub(crate) fn pop(&mut self, eof: bool) -> Result<Option<Value>, String> {
        loop {
            let end = match self.buf[self.scan..].iter().position(|&b| b == b'\n') {
                Some(i) => self.scan + i,
                None if eof && self.start < self.buf.len() => self.buf.len(),
                None => {
                    self.scan = self.buf.len();
                    return Ok(None);
                }
            };
            let line = &self.buf[self.start..end];
            let number = self.line;
            self.start = (end + 1).min(self.buf.len());
            self.scan = self.start;
            self.line += 1;
            let text = trim_ascii(line);
            let text = text
                .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                .unwrap_or(text);
            if text.is_empty() {
                continue;
            }
            return serde_json::from_slice(text)
                .map(Some)
                .map_err(|e| format!("line {number} is not valid JSON: {}", plain(&e)));
        }
    }
}

/// A JSON document whose top level is an array; each element is one item.
#[derive(Debug, Default)]
pub(crate) struct JsonArray {
    buf: Vec<u8>,
    /// Start of the unconsumed input (the current element, or what precedes it).
    start: usize,
    /// Where scanning resumes.
    scan: usize,
    phase: Phase,
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// 1-based index of the element being scanned (for error messages).
    index: u64,
    /// With `ItemsPointer`: the walk to the array.
    seek: Option<Seek>,
    /// The array was inside a larger document: what follows it is not checked.
    nested: bool,
}

/// Where the walk to an `ItemsPointer` is: the containers it is inside, and the token it is
/// in the middle of.
#[derive(Debug, Default)]
struct Seek {
    target: Vec<String>,
    frames: Vec<Frame>,
    token: Token,
}

#[derive(Debug)]
enum Frame {
    Object { key: Option<String>, expect: Expect },
    Array { index: usize, expect_value: bool },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    KeyOrEnd,
    Colon,
    Value,
    CommaOrEnd,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
enum Token {
    #[default]
    None,
    /// A key string, starting at `start` in the buffer (kept there, so compaction moves it).
    Key,
    StringValue,
    Scalar,
}

/// A JSON pointer's unescaped segments (`/a~1b/0` → `["a/b", "0"]`).
pub(crate) fn pointer_segments(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(vec![]);
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "ItemsPointer '{pointer}' is not a JSON pointer (it must start with '/')"
        ));
    };
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

#[derive(Debug, Default, PartialEq)]
enum Phase {
    /// Before the opening `[`.
    #[default]
    Open,
    /// Walking the document to the value at `ItemsPointer`.
    Seek,
    /// Between elements: after `[` or a `,`.
    Element,
    /// After the closing `]`: only whitespace may follow.
    Closed,
}

/// What the top-level value turned out to be when it is not an array.
pub(crate) const NOT_AN_ARRAY: &str = "Attempting to map over non-iterable node.";

impl JsonArray {
    pub(crate) fn new() -> Self {
        JsonArray {
            index: 1,
            ..Default::default()
        }
    }

    /// The items of the array at a JSON pointer (`ItemsPointer`), found by walking the
    /// document as it streams in (only the keys on the way are kept).
    pub(crate) fn at_pointer(pointer: &str) -> Result<Self, String> {
        let target = pointer_segments(pointer)?;
        if target.is_empty() {
            return Ok(Self::new());
        }
        Ok(JsonArray {
            index: 1,
            phase: Phase::Seek,
            seek: Some(Seek {
                target,
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// Walks toward the pointer: `Ok(true)` once the target array has opened.
    fn seek(&mut self, eof: bool) -> Result<bool, String> {
        let seek = self.seek.as_mut().expect("seeking");
        let mut i = self.scan;
        if i == 0 && self.buf.starts_with(b"\xEF\xBB\xBF") {
            i = 3;
        }
        while i < self.buf.len() {
            let b = self.buf[i];
            match seek.token {
                Token::Key | Token::StringValue if self.in_string => {
                    if self.escaped {
                        self.escaped = false;
                    } else if b == b'\\' {
                        self.escaped = true;
                    } else if b == b'"' {
                        self.in_string = false;
                        if seek.token == Token::Key {
                            let key: String = serde_json::from_slice(&self.buf[self.start..=i])
                                .map_err(|e| format!("a key is not valid JSON: {}", plain(&e)))?;
                            if let Some(Frame::Object { key: k, expect }) = seek.frames.last_mut() {
                                *k = Some(key);
                                *expect = Expect::Colon;
                            }
                            seek.token = Token::None;
                        } else {
                            seek.token = Token::None;
                            after_value(seek)?;
                        }
                    }
                    i += 1;
                    continue;
                }
                Token::Scalar => {
                    if matches!(b, b',' | b']' | b'}') || b.is_ascii_whitespace() {
                        seek.token = Token::None;
                        after_value(seek)?;
                        continue; // this byte belongs to the container
                    }
                    i += 1;
                    continue;
                }
                _ => {}
            }
            if b.is_ascii_whitespace() {
                i += 1;
                continue;
            }
            let at_value = match seek.frames.last_mut() {
                None => true,
                Some(Frame::Object { expect, .. }) => match (*expect, b) {
                    (Expect::KeyOrEnd, b'"') => {
                        seek.token = Token::Key;
                        self.start = i;
                        self.in_string = true;
                        i += 1;
                        continue;
                    }
                    (Expect::KeyOrEnd | Expect::CommaOrEnd, b'}') => {
                        seek.frames.pop();
                        after_value(seek)?;
                        i += 1;
                        continue;
                    }
                    (Expect::Colon, b':') => {
                        *expect = Expect::Value;
                        i += 1;
                        continue;
                    }
                    (Expect::CommaOrEnd, b',') => {
                        *expect = Expect::KeyOrEnd;
                        i += 1;
                        continue;
                    }
                    (Expect::Value, _) => true,
                    _ => return Err(format!("the JSON is malformed at byte '{}'", b as char)),
                },
                Some(Frame::Array {
                    index,
                    expect_value,
                }) => match (*expect_value, b) {
                    (_, b']') => {
                        seek.frames.pop();
                        after_value(seek)?;
                        i += 1;
                        continue;
                    }
                    (false, b',') => {
                        *index += 1;
                        *expect_value = true;
                        i += 1;
                        continue;
                    }
                    (true, _) => true,
                    _ => return Err(format!("the JSON is malformed at byte '{}'", b as char)),
                },
            };
            debug_assert!(at_value);
            let here = seek.frames.len() == seek.target.len()
                && seek.frames.iter().zip(&seek.target).all(|(f, t)| match f {
                    Frame::Object { key, .. } => key.as_deref() == Some(t.as_str()),
                    Frame::Array { index, .. } => index.to_string() == *t,
                });
            if here {
                if b != b'[' {
                    return Err(NOT_AN_ARRAY.into());
                }
                self.scan = i + 1;
                self.start = self.scan;
                self.seek = None;
                self.nested = true;
                return Ok(true);
            }
            match b {
                b'{' => seek.frames.push(Frame::Object {
                    key: None,
                    expect: Expect::KeyOrEnd,
                }),
                b'[' => seek.frames.push(Frame::Array {
                    index: 0,
                    expect_value: true,
                }),
                b'"' => {
                    seek.token = Token::StringValue;
                    self.in_string = true;
                }
                _ => seek.token = Token::Scalar,
            }
            i += 1;
        }
        self.scan = i;
        // Keep a key being read; drop the rest.
        if seek.token != Token::Key {
            self.start = i;
        }
        if eof {
            return Err("ItemsPointer names nothing in the document".into());
        }
        Ok(false)
    }

    pub(crate) fn push(&mut self, chunk: &[u8]) {
        compact(&mut self.buf, &mut self.start, &mut [&mut self.scan]);
        self.buf.extend_from_slice(chunk);
    }

    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn pop(&mut self, eof: bool) -> Result<Option<Value>, String> {
        loop {
            match self.phase {
                Phase::Seek => {
                    if !self.seek(eof)? {
                        return Ok(None);
                    }
                    self.phase = Phase::Element;
                }
                Phase::Open => {
                    let rest = &self.buf[self.scan..];
                    let rest = if self.scan == 0 {
                        rest.strip_prefix(b"\xEF\xBB\xBF".as_slice())
                            .unwrap_or(rest)
                    } else {
                        rest
                    };
                    let skipped = self.buf.len() - self.scan - rest.len();
                    match rest.iter().position(|b| !b.is_ascii_whitespace()) {
                        Some(i) if rest[i] == b'[' => {
                            self.scan += skipped + i + 1;
                            self.start = self.scan;
                            self.phase = Phase::Element;
                        }
                        Some(_) => return Err(NOT_AN_ARRAY.into()),
                        None if eof => return Err("the object is empty, not a JSON array".into()),
                        None => {
                            self.scan = self.buf.len();
                            return Ok(None);
                        }
                    }
                }
                Phase::Element => {
                    // Scan for the `,` or `]` that ends this element at depth 0.
                    let mut i = self.scan;
                    let mut found = None;
                    while i < self.buf.len() {
                        let b = self.buf[i];
                        if self.in_string {
                            if self.escaped {
                                self.escaped = false;
                            } else if b == b'\\' {
                                self.escaped = true;
                            } else if b == b'"' {
                                self.in_string = false;
                            }
                        } else {
                            match b {
                                b'"' => self.in_string = true,
                                b'[' | b'{' => self.depth += 1,
                                b']' | b'}' if self.depth > 0 => self.depth -= 1,
                                b',' | b']' if self.depth == 0 => {
                                    found = Some((i, b));
                                    break;
                                }
                                _ => {}
                            }
                        }
                        i += 1;
                    }
                    let Some((end, delimiter)) = found else {
                        self.scan = self.buf.len();
                        if eof {
                            return Err(format!(
                                "the JSON array ends early, inside item {}",
                                self.index
                            ));
                        }
                        return Ok(None);
                    };
                    let text = trim_ascii(&self.buf[self.start..end]);
                    let number = self.index;
                    self.start = end + 1;
                    self.scan = self.start;
                    if delimiter == b']' {
                        self.phase = Phase::Closed;
                        // `[]` (or `[ ]`) has no items; `[1,]` is malformed.
                        if text.is_empty() {
                            if number == 1 {
                                continue;
                            }
                            return Err(format!("item {number} of the JSON array is missing"));
                        }
                    }
                    self.index += 1;
                    return serde_json::from_slice(text).map(Some).map_err(|e| {
                        format!(
                            "item {number} of the JSON array is not valid JSON: {}",
                            plain(&e)
                        )
                    });
                }
                Phase::Closed => {
                    if self.nested {
                        // The rest of the document around the array is not read.
                        return Ok(None);
                    }
                    let rest = &self.buf[self.scan..];
                    if rest.iter().any(|b| !b.is_ascii_whitespace()) {
                        return Err("unexpected data after the end of the JSON array".into());
                    }
                    self.scan = self.buf.len();
                    return Ok(None);
                }
            }
        }
    }
}

/// A value ended inside the walk to a pointer: its container expects what follows a value.
fn after_value(seek: &mut Seek) -> Result<(), String> {
    match seek.frames.last_mut() {
        Some(Frame::Object { expect, .. }) => *expect = Expect::CommaOrEnd,
        Some(Frame::Array { expect_value, .. }) => *expect_value = false,
        None => return Err("ItemsPointer names nothing in the document".into()),
    }
    Ok(())
}

/// Drops the consumed front of `buf` when it is large, shifting the given offsets.
fn compact(buf: &mut Vec<u8>, start: &mut usize, others: &mut [&mut usize]) {
    if *start >= COMPACT_AT && *start * 2 >= buf.len() {
        buf.drain(..*start);
        for o in others.iter_mut() {
            **o -= *start;
        }
        *start = 0;
    }
}

fn trim_ascii(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// serde_json's message without its "at line 1 column N" (positions are within one item).
fn plain(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn all_lines(chunks: &[&[u8]]) -> Result<Vec<Value>, String> {
        let mut p = JsonLines::new();
        let mut out = vec![];
        for c in chunks {
            p.push(c);
            while let Some(v) = p.pop(false)? {
                out.push(v);
            }
        }
        while let Some(v) = p.pop(true)? {
            out.push(v);
        }
        Ok(out)
    }

    fn all_array(chunks: &[&[u8]]) -> Result<Vec<Value>, String> {
        drain(JsonArray::new(), chunks)
    }

    /// Every item of `p`, fed `chunks` one at a time.
    fn drain(mut p: JsonArray, chunks: &[&[u8]]) -> Result<Vec<Value>, String> {
        let mut out = vec![];
        for c in chunks {
            p.push(c);
            while let Some(v) = p.pop(false)? {
                out.push(v);
            }
        }
        while let Some(v) = p.pop(true)? {
            out.push(v);
        }
        Ok(out)
    }

    #[test]
    fn json_lines_split_anywhere_and_skip_blank_lines() {
        let text = b"{\"a\":1}\r\n\n  [1,2]\n\"x\"";
        for cut in 0..text.len() {
            let got = all_lines(&[&text[..cut], &text[cut..]]).unwrap();
            assert_eq!(
                got,
                vec![json!({"a":1}), json!([1, 2]), json!("x")],
                "cut {cut}"
            );
        }
    }

    #[test]
    fn json_lines_names_the_bad_line() {
        let err = all_lines(&[b"1\n2\n{oops\n4\n"]).unwrap_err();
        assert!(err.starts_with("line 3 is not valid JSON"), "{err}");
    }

    #[test]
    fn json_array_split_anywhere() {
        let text = br#" [ {"s": "a,]}\"[{"}, [1, [2]], "x", 3.5, null ] "#;
        let want = vec![
            json!({"s": "a,]}\"[{"}),
            json!([1, [2]]),
            json!("x"),
            json!(3.5),
            Value::Null,
        ];
        for cut in 0..text.len() {
            assert_eq!(
                all_array(&[&text[..cut], &text[cut..]]).unwrap(),
                want,
                "cut {cut}"
            );
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(all_array(&bytes).unwrap(), want);
    }

    #[test]
    fn json_array_edge_cases() {
        assert_eq!(all_array(&[b"[]"]).unwrap(), Vec::<Value>::new());
        assert_eq!(
            all_array(&[b"\xEF\xBB\xBF[ ]\n"]).unwrap(),
            Vec::<Value>::new()
        );
        assert_eq!(all_array(&[b"{\"a\": [1]}"]).unwrap_err(), NOT_AN_ARRAY);
        assert_eq!(all_array(&[b"42"]).unwrap_err(), NOT_AN_ARRAY);
        assert!(all_array(&[b"[1,,2]"]).unwrap_err().contains("item 2"));
        assert!(all_array(&[b"[1,2,]"]).unwrap_err().contains("item 3"));
        assert!(all_array(&[b"[1,2"]).unwrap_err().contains("ends early"));
        assert!(all_array(&[b"[1] x"])
            .unwrap_err()
            .contains("after the end"));
        assert!(all_array(&[b"[1, tru]"]).unwrap_err().contains("item 2"));
        assert!(all_array(&[b""]).unwrap_err().contains("empty"));
    }

    fn all_at(pointer: &str, chunks: &[&[u8]]) -> Result<Vec<Value>, String> {
        drain(JsonArray::at_pointer(pointer)?, chunks)
    }

    #[test]
    fn items_pointer_walks_to_the_array_split_anywhere() {
        let text = br#" {"skip": {"items": [9, {"a": "}]"}], "s": "x\"y"}, "n": -1.5e3, "t": true,
            "data": {"k~/": 0, "rows": [[1, 2], {"r": "]"}], "after": [0]}, "z": null} "#;
        let want = vec![json!([1, 2]), json!({"r": "]"})];
        for cut in 0..text.len() {
            let got = all_at("/data/rows", &[&text[..cut], &text[cut..]]);
            assert_eq!(got.unwrap(), want, "cut {cut}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(all_at("/data/rows", &bytes).unwrap(), want);
        // Escaped segments and array indices.
        let text = br#"{"a/b": [{"x": 1}, {"x": [7, 8]}], "~": {"": [5]}}"#;
        assert_eq!(
            all_at("/a~1b/1/x", &[text]).unwrap(),
            vec![json!(7), json!(8)]
        );
        assert_eq!(all_at("/~0/", &[text]).unwrap(), vec![json!(5)]);
        assert_eq!(all_at("", &[b"[1]"]).unwrap(), vec![json!(1)]);
        // Wrong targets.
        assert_eq!(all_at("/a~1b/0/x", &[text]).unwrap_err(), NOT_AN_ARRAY);
        assert!(all_at("/nope", &[text])
            .unwrap_err()
            .contains("names nothing"));
        assert!(all_at("/a~1b/5", &[text])
            .unwrap_err()
            .contains("names nothing"));
        assert!(all_at("nope", &[text])
            .unwrap_err()
            .contains("must start with '/'"));
        assert!(all_at("/a", &[b"{\"a\" 1}"])
            .unwrap_err()
            .contains("malformed"));
    }

    /// A small deterministic generator (no dependency): xorshift.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
        fn value(&mut self, depth: u32) -> Value {
            match self.next(if depth > 3 { 4 } else { 6 }) {
                0 => Value::Null,
                1 => json!(self.next(1000) as i64 - 500),
                2 => json!(["a", "\\\"", "]", ",{", "é", ""][self.next(6) as usize]),
                3 => json!(self.next(2) == 0),
                4 => Value::Array((0..self.next(4)).map(|_| self.value(depth + 1)).collect()),
                _ => Value::Object(
                    (0..self.next(4))
                        .map(|i| (format!("k{i}\"/~"), self.value(depth + 1)))
                        .collect(),
                ),
            }
        }
        /// `text` in pieces of random sizes.
        fn chunks<'a>(&mut self, text: &'a [u8]) -> Vec<&'a [u8]> {
            let mut out = vec![];
            let mut at = 0;
            while at < text.len() {
                let n = (1 + self.next(40) as usize).min(text.len() - at);
                out.push(&text[at..at + n]);
                at += n;
            }
            out
        }
    }

    #[test]
    fn random_documents_split_as_serde_parses_them() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..300 {
            let items: Vec<Value> = (0..rng.next(6)).map(|_| rng.value(0)).collect();
            let text = serde_json::to_vec_pretty(&items).unwrap();
            let chunks = rng.chunks(&text);
            assert_eq!(all_array(&chunks).unwrap(), items);
            let doc = json!({"x": items.clone(), "wrap": {"in": [0, {"items": items.clone()}]}});
            let text = serde_json::to_vec(&doc).unwrap();
            let chunks = rng.chunks(&text);
            assert_eq!(all_at("/wrap/in/1/items", &chunks).unwrap(), items);
            let lines: String = items.iter().map(|v| format!("{v}\n")).collect();
            let chunks = rng.chunks(lines.as_bytes());
            assert_eq!(all_lines(&chunks).unwrap(), items);
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng(42);
        let alphabet = b"[]{}\",:\\ 01ae-/\n";
        for _ in 0..2000 {
            let text: Vec<u8> = (0..rng.next(60))
                .map(|_| alphabet[rng.next(alphabet.len() as u64) as usize])
                .collect();
            let chunks = rng.chunks(&text);
            let _ = all_array(&chunks);
            let _ = all_at("/a/0", &chunks);
            let _ = all_lines(&chunks);
        }
    }

    #[test]
    fn consumed_input_is_dropped() {
        let mut p = JsonLines::new();
        let line = format!("{{\"pad\":\"{}\"}}\n", "x".repeat(1000));
        let mut peak = 0;
        for _ in 0..1000 {
            p.push(line.as_bytes());
            while p.pop(false).unwrap().is_some() {}
            peak = peak.max(p.buffered());
        }
        assert!(peak < 2 * COMPACT_AT + 2 * line.len(), "peak {peak}");
    }
}
