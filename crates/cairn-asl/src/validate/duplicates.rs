//! Duplicate state names inside one `States` object.
//!
//! JSON parsing into a map keeps only the last of two equal keys, so a definition with two
//! states named `A` in the same scope would silently lose one. This pass re-reads the text
//! with a visitor that sees every key and reports the repeats as `DUPLICATE_STATE_NAME` (AWS's
//! documented code for "the same state name appears more than once"; wording ours) at the
//! repeated state's location. Names repeated across scopes are found by `scope`.
//!
//! Only `States` objects of scopes (the root, `Branches[i]`, `ItemProcessor`, `Iterator`) are
//! considered: repeated keys inside payloads are data, and AWS's parser keeps the last one.
//!
//! Must not: report anything else; the text is already known to be valid JSON.

use super::context::{Cx, DUPLICATE_STATE_NAME};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

pub fn check(cx: &mut Cx, definition: &str) {
    let found = RefCell::new(Vec::new());
    let seed = Walker {
        path: String::new(),
        is_states: false,
        found: &found,
    };
    let mut de = serde_json::Deserializer::from_str(definition);
    // The text already parsed once; an error here can only repeat that one.
    if seed.deserialize(&mut de).is_err() {
        return;
    }
    for (name, location) in found.into_inner() {
        cx.error(
            DUPLICATE_STATE_NAME,
            format!("State name '{name}' appears more than once"),
            location,
        );
    }
}

/// Visits one JSON value at `path`; `is_states` when the value is a scope's `States` object.
struct Walker<'a> {
    path: String,
    is_states: bool,
    found: &'a RefCell<Vec<(String, String)>>,
}

/// Does an object at `path` hold a scope (so its `States` member is a state map)?
fn is_scope(path: &str) -> bool {
    if path.is_empty() || path.ends_with("/ItemProcessor") || path.ends_with("/Iterator") {
        return true;
    }
    path.strip_suffix(']')
        .and_then(|p| p.rsplit_once("/Branches["))
        .is_some_and(|(_, index)| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

impl<'de> DeserializeSeed<'de> for Walker<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walker<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let element = Walker {
                path: format!("{}[{i}]", self.path),
                is_states: false,
                found: self.found,
            };
            if seq.next_element_seed(element)?.is_none() {
                return Ok(());
            }
            i += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let scope = !self.is_states && is_scope(&self.path);
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = format!("{}/{key}", self.path);
            if self.is_states && !seen.insert(key.clone()) {
                self.found.borrow_mut().push((key.clone(), path.clone()));
            }
            map.next_value_seed(Walker {
                is_states: scope && key == "States",
                path,
                found: self.found,
            })?;
        }
        Ok(())
    }
}
