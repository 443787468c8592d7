//! The service table generated from botocore 1.44.8 (`services.gz`, 445 services, 1.7 MB; see
//! `scripts/gen-aws-services.py`):
//! decompressed on first use, each service parsed once when a task first names it.
//!
//! Must not: know any service by name (that is the optimized integrations' business).

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};

static SERVICES_GZ: &[u8] = include_bytes!("services.gz");

/// One service, as the generator kept it.
#[derive(Debug)]
pub(crate) struct Service {
    /// The name in `aws-sdk:<name>:<action>`.
    pub name: String,
    pub protocol: String,
    pub api_version: String,
    pub target_prefix: String,
    pub json_version: String,
    pub signing_name: String,
    pub endpoint_prefix: String,
    /// botocore's serviceId (`DynamoDB`, `Secrets Manager`).
    pub service_id: String,
    /// The prefix of error names (`DynamoDb`, `SecretsManager`).
    pub error_prefix: String,
    ops: Map<String, Value>,
    errors: Map<String, Value>,
    shapes: Map<String, Value>,
}

/// An operation's HTTP binding and shapes.
#[derive(Debug, Clone)]
pub(crate) struct Operation {
    pub name: String,
    pub method: String,
    pub uri: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub result_wrapper: Option<String>,
}

/// A shape, as serialisers walk it.
#[derive(Debug)]
pub(crate) enum Shape<'a> {
    /// `s`, `i`, `f`, `b`, `B` (blob), `t[:format]` (timestamp).
    Scalar(&'a str),
    Structure {
        members: Vec<Member<'a>>,
        payload: Option<&'a str>,
        xml_namespace: Option<&'a str>,
    },
    List {
        member: &'a str,
        location_name: Option<&'a str>,
        flattened: bool,
    },
    Map {
        key: &'a str,
        value: &'a str,
        key_name: Option<&'a str>,
        value_name: Option<&'a str>,
        flattened: bool,
    },
}

/// A structure member.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member<'a> {
    pub name: &'a str,
    pub target: &'a str,
    /// `header`, `headers`, `querystring`, `uri`, `statusCode`, or none (the body).
    pub location: Option<&'a str>,
    pub location_name: Option<&'a str>,
    pub flags: u64,
}

impl Member<'_> {
    pub(crate) const XML_ATTRIBUTE: u64 = 1;
    pub(crate) const FLATTENED: u64 = 2;
    pub(crate) const IDEMPOTENCY_TOKEN: u64 = 8;

    /// The name on the wire.
    pub(crate) fn wire_name(&self) -> &str {
        self.location_name.unwrap_or(self.name)
    }
}

fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let mut s = String::new();
        flate2::read::GzDecoder::new(SERVICES_GZ)
            .read_to_string(&mut s)
            .expect("the embedded service table is valid gzip");
        s
    })
}

/// The service `aws-sdk:<name>:…` names, if botocore knows it.
pub(crate) fn service(name: &str) -> Option<Arc<Service>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Service>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(s) = cache.lock().expect("service cache").get(name) {
        return Some(s.clone());
    }
    let prefix = format!("{name}\t");
    let line = text().lines().find(|l| l.starts_with(&prefix))?;
    let v: Value = serde_json::from_str(&line[prefix.len()..]).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let m = |k: &str| {
        v.get(k)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let service = Arc::new(Service {
        name: name.to_string(),
        protocol: s("p"),
        api_version: s("v"),
        target_prefix: s("t"),
        json_version: s("j"),
        signing_name: s("s"),
        endpoint_prefix: s("x"),
        service_id: s("id"),
        error_prefix: s("e"),
        ops: m("o"),
        errors: m("r"),
        shapes: m("h"),
    });
    cache
        .lock()
        .expect("service cache")
        .insert(name.to_string(), service.clone());
    Some(service)
}

impl Service {
    /// The operation an action names: `getItem` → `GetItem` (case of the first letter aside,
    /// as botocore spells it).
    pub(crate) fn operation(&self, action: &str) -> Option<Operation> {
        let (name, v) = self.ops.iter().find(|(k, _)| {
            k.len() == action.len()
                && k[..1].eq_ignore_ascii_case(&action[..1])
                && k[1..] == action[1..]
        })?;
        let a = v.as_array()?;
        let at = |i: usize| a.get(i).and_then(Value::as_str).map(str::to_string);
        Some(Operation {
            name: name.clone(),
            method: at(0).unwrap_or_else(|| "POST".into()),
            uri: at(1).unwrap_or_else(|| "/".into()),
            input: at(2),
            output: at(3),
            result_wrapper: at(4),
        })
    }

    /// The modeled error shape a wire error code stands for.
    pub(crate) fn error_shape(&self, code: &str) -> Option<&str> {
        self.errors.get(code).and_then(Value::as_str)
    }

    /// A member target or shape name, resolved.
    pub(crate) fn shape<'a>(&'a self, target: &'a str) -> Shape<'a> {
        if let Some(code) = target.strip_prefix('~') {
            return Shape::Scalar(code);
        }
        let Some(a) = self.shapes.get(target).and_then(Value::as_array) else {
            return Shape::Scalar("s");
        };
        let s = |i: usize| a.get(i).and_then(Value::as_str);
        let n = |i: usize| a.get(i).and_then(Value::as_u64).unwrap_or(0);
        match s(0) {
            Some("S") => Shape::Structure {
                members: a
                    .get(1)
                    .and_then(Value::as_object)
                    .map(|ms| {
                        ms.iter()
                            .filter_map(|(name, m)| {
                                let m = m.as_array()?;
                                Some(Member {
                                    name,
                                    target: m.first()?.as_str()?,
                                    location: m.get(1).and_then(Value::as_str),
                                    location_name: m.get(2).and_then(Value::as_str),
                                    flags: m.get(3).and_then(Value::as_u64).unwrap_or(0),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                payload: s(2),
                xml_namespace: s(3),
            },
            Some("L") => Shape::List {
                member: s(1).unwrap_or("~s"),
                location_name: s(2),
                flattened: n(3) == 1,
            },
            Some("M") => Shape::Map {
                key: s(1).unwrap_or("~s"),
                value: s(2).unwrap_or("~s"),
                key_name: s(3),
                value_name: s(4),
                flattened: n(5) == 1,
            },
            _ => Shape::Scalar("s"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_from_botocore() {
        let d = service("dynamodb").expect("dynamodb");
        assert_eq!(
            (d.protocol.as_str(), d.error_prefix.as_str()),
            ("json", "DynamoDb")
        );
        let op = d.operation("getItem").expect("GetItem");
        assert_eq!(op.name, "GetItem");
        assert!(d.error_shape("ResourceNotFoundException").is_some());
        assert_eq!(service("s3").unwrap().protocol, "rest-xml");
        assert_eq!(
            service("secretsmanager").unwrap().error_prefix,
            "SecretsManager"
        );
        assert_eq!(service("sfn").unwrap().error_prefix, "Sfn");
        assert_eq!(service("ec2").unwrap().protocol, "ec2");
        assert!(service("eventbridge")
            .unwrap()
            .operation("putEvents")
            .is_some());
        assert!(service("nosuchservice").is_none());
        assert!(d.operation("noSuchAction").is_none());
    }
}
