//! Paths in AWS's Jayway-like JSONPath dialect: the syntax tree, and its normalized rendering
//! (`$['a'][0]`) that AWS quotes in error messages.
//!
//! Parsing lives in [`parse`], filter expressions in [`filter`], evaluation in [`eval`].
//! This module must not know about templates, intrinsics or `ResultPath`.

pub(crate) mod eval;
pub(crate) mod filter;
pub(crate) mod parse;

use std::fmt::Write as _;

/// What the first segment of a path is evaluated against.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Root {
    /// `$`: the current data.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a workflow variable.
    Variable(String),
}

/// A parsed path: a root and the steps taken from it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Path {
    pub root: Root,
    pub segments: Vec<Segment>,
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Segment {
    /// `.x`, `[…]`: select among the children of each current node.
    Child(Selector),
    /// `..x`, `..[…]`, `..*`: apply the selector to each node and all its descendants.
    Descendant(Selector),
}

/// What a segment selects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Selector {
    /// `.name`, `['name']`.
    Name(String),
    /// `['a','b']`: Jayway merges the named members into one object (leaf only).
    Names(Vec<String>),
    /// `[0]`, `[-1]`.
    Index(i64),
    /// `[0,1]`.
    Indexes(Vec<i64>),
    /// `[start:end:step]`, any part optional.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: Option<i64>,
    },
    /// `*`, `[*]`.
    Wildcard,
    /// `[?(…)]`.
    Filter(Box<filter::Expr>),
    /// `.name()`: a Jayway function, accepted by AWS's syntax but never selecting anything.
    Function(String),
}

impl Path {
    /// A definite path selects at most one node: only names and indices (Jayway also counts
    /// a multi-name selection as definite when it is the last step, since it yields one object).
    pub fn is_definite(&self) -> bool {
        segments_are_definite(&self.segments)
    }

    /// A reference path addresses exactly one node through names and indices only.
    pub fn is_reference(&self) -> bool {
        self.segments.iter().all(|s| {
            matches!(
                s,
                Segment::Child(Selector::Name(_)) | Segment::Child(Selector::Index(_))
            )
        })
    }
}

pub(crate) fn segments_are_definite(segments: &[Segment]) -> bool {
    let last = segments.len().saturating_sub(1);
    segments.iter().enumerate().all(|(i, s)| match s {
        Segment::Child(Selector::Name(_)) | Segment::Child(Selector::Index(_)) => true,
        Segment::Child(Selector::Names(_)) | Segment::Child(Selector::Function(_)) => i == last,
        _ => false,
    })
}

/// Jayway's normalized form of a path prefix, as AWS quotes it in messages: `$['a'][0]`.
pub(crate) fn normalized(segments: &[Segment]) -> String {
    let mut out = String::from("$");
    for segment in segments {
        let (prefix, selector) = match segment {
            Segment::Child(s) => ("", s),
            Segment::Descendant(s) => ("..", s),
        };
        out.push_str(prefix);
        write_selector(&mut out, selector);
    }
    out
}

fn write_selector(out: &mut String, selector: &Selector) {
    match selector {
        Selector::Name(n) => {
            let _ = write!(out, "['{n}']");
        }
        Selector::Names(ns) => {
            out.push('[');
            for (i, n) in ns.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "'{n}'");
            }
            out.push(']');
        }
        Selector::Index(i) => {
            let _ = write!(out, "[{i}]");
        }
        Selector::Indexes(is) => {
            out.push('[');
            for (k, i) in is.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{i}");
            }
            out.push(']');
        }
        Selector::Slice { start, end, step } => {
            out.push('[');
            if let Some(s) = start {
                let _ = write!(out, "{s}");
            }
            out.push(':');
            if let Some(e) = end {
                let _ = write!(out, "{e}");
            }
            if let Some(st) = step {
                let _ = write!(out, ":{st}");
            }
            out.push(']');
        }
        Selector::Wildcard => out.push_str("[*]"),
        Selector::Filter(_) => out.push_str("[?]"),
        Selector::Function(name) => {
            let _ = write!(out, ".{name}()");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse::parse_path;
    use super::*;

    #[test]
    fn definiteness_follows_jayway() {
        let definite = |p: &str| parse_path(p).unwrap().is_definite();
        assert!(definite("$"));
        assert!(definite("$.a.b[0]['c d'][-1]"));
        assert!(definite("$['a','b']"));
        assert!(definite("$.a.length()"));
        assert!(!definite("$['a','b'].c"));
        assert!(!definite("$.a[*]"));
        assert!(!definite("$.a[1:2]"));
        assert!(!definite("$..a"));
        assert!(!definite("$.a[0,1]"));
        assert!(!definite("$.a[?(@.x)]"));
    }

    #[test]
    fn reference_paths_are_names_and_indices_only() {
        let reference = |p: &str| parse_path(p).unwrap().is_reference();
        assert!(reference("$"));
        assert!(reference("$.a['b'][3]"));
        assert!(!reference("$['a','b']"));
        assert!(!reference("$.a.*"));
    }

    #[test]
    fn normalized_form_quotes_names_and_keeps_indices() {
        let p = parse_path("$.a[0]['b c'][*]").unwrap();
        assert_eq!(normalized(&p.segments), "$['a'][0]['b c'][*]");
        let p = parse_path("$['x','y']").unwrap();
        assert_eq!(normalized(&p.segments), "$['x', 'y']");
    }
}
