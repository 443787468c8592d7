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
}

#[derive(Debug, Default, PartialEq)]
enum Phase {
    /// Before the opening `[`.
    #[default]
    Open,
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
        let mut p = JsonArray::new();
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
