//! `run_cases.py`'s comparison rules, ported: snapshot placeholders (`<uuid:1>`,
//! `<ArnPart_0idx>`, `date`, …) act as wildcards, real values are replaced by placeholders.

use crate::binding;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};

/// `run_cases.py`'s Matcher: real values become placeholders, ISO timestamps become `date`,
/// `<…>` tokens and `111111111111` in expected strings are wildcards.
pub struct Matcher {
    replacements: Vec<(String, String)>,
    wildcards: HashSet<String>,
}

impl Matcher {
    pub fn new(case: &Value) -> Matcher {
        let mut replacements: Vec<(String, String)> = case["placeholders"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let real = binding(case, p["role"].as_str()?);
                (!real.is_empty())
                    .then(|| (real, p["placeholder"].as_str().unwrap_or("").to_string()))
            })
            .collect();
        replacements.sort_by_key(|(r, _)| std::cmp::Reverse(r.len()));
        let mut wildcards: HashSet<String> = case["wildcards"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|w| w.as_str().map(str::to_string))
            .collect();
        for w in ["date", "datetime", "timestamp"] {
            wildcards.insert(w.into());
        }
        Matcher {
            replacements,
            wildcards,
        }
    }

    fn norm(&self, s: &str) -> String {
        let mut s = s.to_string();
        for (real, ph) in &self.replacements {
            s = s.replace(real.as_str(), ph);
        }
        replace_iso8601(&s)
    }

    fn is_wildcard(&self, exp: &str) -> bool {
        if self.wildcards.contains(exp) {
            return true;
        }
        exp.len() > 2
            && exp.starts_with('<')
            && exp.ends_with('>')
            && !exp[1..exp.len() - 1].contains(['<', '>'])
    }

    fn str_match(&self, exp: &str, act: &str) -> bool {
        let act = self.norm(act);
        // Unlike run_cases.py, timestamps in the expected text are normalised too, so that an
        // invalid-but-ISO-shaped value quoted in a cause compares equal.
        if exp == act || replace_iso8601(exp) == act {
            return true;
        }
        let tokens = tokenize(exp);
        if tokens.iter().all(|t| matches!(t, Tok::Lit(_))) {
            return false;
        }
        glob(&tokens, act.as_bytes())
    }

    pub fn matches(&self, exp: &Value, act: &Value, path: &str) -> Option<String> {
        let short = |v: &Value| {
            let s = v.to_string();
            if s.len() > 160 {
                format!("{}...", &s[..s.floor_char_boundary(160)])
            } else {
                s
            }
        };
        match exp {
            Value::String(e) if self.is_wildcard(e) => None,
            Value::String(e) => match act {
                Value::String(a) if self.str_match(e, a) => None,
                _ => Some(format!("{path}: expected {e:?}, got {}", short(act))),
            },
            Value::Bool(_) => {
                (exp != act).then(|| format!("{path}: expected {exp}, got {}", short(act)))
            }
            Value::Number(e) => match act.as_f64() {
                Some(a) if act.is_number() && e.as_f64() == Some(a) => None,
                _ => Some(format!("{path}: expected {exp}, got {}", short(act))),
            },
            Value::Null => {
                (!act.is_null()).then(|| format!("{path}: expected null, got {}", short(act)))
            }
            Value::Array(e) => {
                let Value::Array(a) = act else {
                    return Some(format!("{path}: expected array, got {}", short(act)));
                };
                if e.len() != a.len() {
                    return Some(format!(
                        "{path}: expected {} items, got {}",
                        e.len(),
                        a.len()
                    ));
                }
                e.iter()
                    .zip(a)
                    .enumerate()
                    .find_map(|(i, (e, a))| self.matches(e, a, &format!("{path}[{i}]")))
            }
            Value::Object(e) => {
                let Value::Object(a) = act else {
                    return Some(format!("{path}: expected object, got {}", short(act)));
                };
                let act_keys: BTreeMap<String, &String> =
                    a.keys().map(|k| (self.norm(k), k)).collect();
                let exp_keys: HashSet<&String> = e.keys().collect();
                if exp_keys.len() != act_keys.len() || !e.keys().all(|k| act_keys.contains_key(k)) {
                    let missing: Vec<_> = e.keys().filter(|k| !act_keys.contains_key(*k)).collect();
                    let extra: Vec<_> = act_keys.keys().filter(|k| !exp_keys.contains(k)).collect();
                    return Some(format!(
                        "{path}: keys differ, missing {missing:?}, extra {extra:?}"
                    ));
                }
                e.iter().find_map(|(k, ev)| {
                    self.matches(ev, &a[act_keys[k].as_str()], &format!("{path}.{k}"))
                })
            }
        }
    }

    pub fn payload(&self, exp: &Value, act: Option<&str>, field: &str) -> Option<String> {
        let Some(act) = act else {
            return Some(format!("{field}: expected {exp}, got nothing"));
        };
        match exp {
            Value::Object(_) | Value::Array(_) => match serde_json::from_str::<Value>(act) {
                Ok(a) => self.matches(exp, &a, field),
                Err(_) => Some(format!("{field}: expected JSON, got {act:?}")),
            },
            Value::String(e) => {
                if self.is_wildcard(e) {
                    return None;
                }
                match (
                    serde_json::from_str::<Value>(e),
                    serde_json::from_str::<Value>(act),
                ) {
                    (Ok(ev), Ok(av)) => self.matches(&ev, &av, field),
                    _ => (!self.str_match(e, act))
                        .then(|| format!("{field}: expected {e:?}, got {act:?}")),
                }
            }
            other => self.matches(other, &Value::String(act.into()), field),
        }
    }
}

enum Tok {
    Lit(u8),
    Any,
    Digits12,
}

fn tokenize(exp: &str) -> Vec<Tok> {
    let b = exp.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            if let Some(end) = b[i + 1..]
                .iter()
                .position(|&c| c == b'>' || c == b'<' || c.is_ascii_whitespace())
            {
                if b[i + 1 + end] == b'>' && end > 0 {
                    out.push(Tok::Any);
                    i += end + 2;
                    continue;
                }
            }
        }
        if b[i..].starts_with(b"111111111111") {
            out.push(Tok::Digits12);
            i += 12;
            continue;
        }
        out.push(Tok::Lit(b[i]));
        i += 1;
    }
    out
}

fn glob(p: &[Tok], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(Tok::Lit(c)) => s.first() == Some(c) && glob(&p[1..], &s[1..]),
        Some(Tok::Digits12) => {
            s.len() >= 12 && s[..12].iter().all(u8::is_ascii_digit) && glob(&p[1..], &s[12..])
        }
        Some(Tok::Any) => (0..=s.len()).any(|k| glob(&p[1..], &s[k..])),
    }
}

/// Replace ISO-8601 date-times (`2024-01-02T03:04:05.678Z`, offsets) by `date`.
pub fn replace_iso8601(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let d = |j: usize| b.get(j).is_some_and(u8::is_ascii_digit);
    let at = |j: usize, c: u8| b.get(j) == Some(&c);
    while i < b.len() {
        let base = (0..4).all(|k| d(i + k))
            && at(i + 4, b'-')
            && d(i + 5)
            && d(i + 6)
            && at(i + 7, b'-')
            && d(i + 8)
            && d(i + 9)
            && at(i + 10, b'T')
            && d(i + 11)
            && d(i + 12)
            && at(i + 13, b':')
            && d(i + 14)
            && d(i + 15)
            && at(i + 16, b':')
            && d(i + 17)
            && d(i + 18);
        if base {
            let mut j = i + 19;
            if at(j, b'.') && d(j + 1) {
                j += 1;
                let mut n = 0;
                while d(j) && n < 9 {
                    j += 1;
                    n += 1;
                }
            }
            let zone = if at(j, b'Z') {
                Some(j + 1)
            } else if (at(j, b'+') || at(j, b'-')) && d(j + 1) && d(j + 2) {
                let mut k = j + 3;
                if at(k, b':') && d(k + 1) && d(k + 2) {
                    k += 3;
                } else if d(k) && d(k + 1) {
                    k += 2;
                }
                Some(k)
            } else {
                None
            };
            if let Some(end) = zone {
                out.push_str("date");
                i = end;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
