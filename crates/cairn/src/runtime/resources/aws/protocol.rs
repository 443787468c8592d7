//! The five wire protocols of AWS services, driven by the generated [`model`](super::model):
//! a Task's PascalCase parameters become a request (`json` 1.0/1.1, `rest-json`, `rest-xml`,
//! `query`, `ec2`), and an answer becomes the result Step Functions gives the state
//! (PascalCase member names; timestamps as ISO 8601 text; blobs in a body as base64 text, a
//! whole-body payload as its text) or the service's error code and message.
//!
//! Parameter conversions follow Step Functions: a blob parameter is text whose UTF-8 bytes are
//! sent; a timestamp parameter is ISO 8601 text (or epoch seconds).
//!
//! Must not: sign, send, or name errors for the state (see [`super::errors`]).

use super::model::{Member, Operation, Service, Shape};
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// Characters left as they are in URI labels and query values (RFC 3986 unreserved).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const ENCODE_GREEDY: &AsciiSet = &ENCODE.remove(b'/');

/// An unsigned request: method, path and query (after the endpoint), headers, body.
#[derive(Debug, Default)]
pub(crate) struct WireRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A service error as the wire gave it.
#[derive(Debug)]
pub(crate) struct WireError {
    pub code: String,
    pub message: String,
}

/// Parameters that do not fit the operation.
#[derive(Debug)]
pub(crate) struct BadParameters(pub String);

fn b64(s: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// `Bucket` for member `Bucket`, `RestApiId` for member `restApiId`: the name Step Functions
/// shows (the Java SDK's PascalCase member name).
pub(crate) fn pascal(name: &str) -> String {
    super::super::upper_first(name)
}

/// The members of a structure with the parameters that set them; unknown parameters fail.
fn bind<'a, 'v>(
    members: &[Member<'a>],
    params: &'v Value,
) -> Result<Vec<(Member<'a>, &'v Value)>, BadParameters> {
    let Some(obj) = params.as_object() else {
        return Err(BadParameters(format!(
            "Expected an object but got {params}"
        )));
    };
    let mut out = Vec::new();
    for (k, v) in obj {
        let m = members
            .iter()
            .find(|m| m.name == k || pascal(m.name) == *k)
            .ok_or_else(|| {
                BadParameters(format!(
                    "The field '{k}' is not supported by Step Functions"
                ))
            })?;
        if !v.is_null() {
            out.push((*m, v));
        }
    }
    Ok(out)
}

fn scalar_text(code: &str, v: &Value) -> String {
    match (code.chars().next(), v) {
        (Some('B'), Value::String(s)) => b64(s.as_bytes()),
        (Some('t'), v) => timestamp_iso(v),
        (_, Value::String(s)) => s.clone(),
        (_, v) => v.to_string(),
    }
}

fn timestamp_iso(v: &Value) -> String {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(|f| jiff::Timestamp::from_millisecond((f * 1000.0) as i64).ok())
            .map(|t| t.to_string())
            .unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn timestamp_epoch(v: &Value) -> Value {
    match v {
        Value::String(s) => s
            .parse::<jiff::Timestamp>()
            .map(|t| serde_json::json!(t.as_millisecond() as f64 / 1000.0))
            .unwrap_or_else(|_| v.clone()),
        v => v.clone(),
    }
}

// ---------------------------------------------------------------- JSON bodies

fn to_json(svc: &Service, target: &str, v: &Value) -> Result<Value, BadParameters> {
    Ok(match svc.shape(target) {
        Shape::Scalar(code) if code.starts_with('B') => match v {
            Value::String(s) => Value::String(b64(s.as_bytes())),
            v => Value::String(b64(v.to_string().as_bytes())),
        },
        Shape::Scalar(code) if code.starts_with('t') => timestamp_epoch(v),
        Shape::Scalar(_) => v.clone(),
        Shape::Structure { members, .. } => {
            let mut m = Map::new();
            for (member, value) in bind(&members, v)? {
                m.insert(
                    member.wire_name().to_string(),
                    to_json(svc, member.target, value)?,
                );
            }
            // As the SDKs do: an idempotency token left out is a fresh one.
            for member in &members {
                if member.flags & Member::IDEMPOTENCY_TOKEN != 0
                    && member.location.is_none()
                    && !m.contains_key(member.wire_name())
                {
                    m.insert(
                        member.wire_name().to_string(),
                        Value::String(uuid::Uuid::new_v4().to_string()),
                    );
                }
            }
            Value::Object(m)
        }
        Shape::List { member, .. } => match v {
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| to_json(svc, member, x))
                    .collect::<Result<_, _>>()?,
            ),
            v => return Err(BadParameters(format!("Expected an array but got {v}"))),
        },
        Shape::Map { value, .. } => match v {
            Value::Object(o) => {
                let mut m = Map::new();
                for (k, x) in o {
                    m.insert(k.clone(), to_json(svc, value, x)?);
                }
                Value::Object(m)
            }
            v => return Err(BadParameters(format!("Expected an object but got {v}"))),
        },
    })
}

fn from_json(svc: &Service, target: &str, v: &Value) -> Value {
    match svc.shape(target) {
        Shape::Scalar(code) if code.starts_with('t') => Value::String(timestamp_iso(v)),
        Shape::Scalar(_) => v.clone(),
        Shape::Structure { members, .. } => {
            let mut m = Map::new();
            if let Value::Object(o) = v {
                for member in &members {
                    // A null member is an absent one, as the SDKs read it.
                    if let Some(x) = o.get(member.wire_name()).filter(|x| !x.is_null()) {
                        m.insert(pascal(member.name), from_json(svc, member.target, x));
                    }
                }
            }
            Value::Object(m)
        }
        Shape::List { member, .. } => match v {
            Value::Array(a) => Value::Array(a.iter().map(|x| from_json(svc, member, x)).collect()),
            v => v.clone(),
        },
        Shape::Map { value, .. } => match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), from_json(svc, value, x)))
                    .collect(),
            ),
            v => v.clone(),
        },
    }
}

// ---------------------------------------------------------------- XML bodies

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn to_xml(
    svc: &Service,
    target: &str,
    name: &str,
    v: &Value,
    out: &mut String,
) -> Result<(), BadParameters> {
    match svc.shape(target) {
        Shape::Scalar(code) => {
            out.push_str(&format!(
                "<{name}>{}</{name}>",
                xml_escape(&scalar_text(code, v))
            ));
        }
        Shape::Structure {
            members,
            xml_namespace,
            ..
        } => {
            let bound = bind(&members, v)?;
            out.push_str(&format!("<{name}"));
            if let Some(ns) = xml_namespace {
                out.push_str(&format!(" xmlns=\"{ns}\""));
            }
            for (m, x) in &bound {
                if m.flags & Member::XML_ATTRIBUTE != 0 {
                    out.push_str(&format!(
                        " {}=\"{}\"",
                        m.wire_name(),
                        xml_escape(&scalar_text("s", x))
                    ));
                }
            }
            out.push('>');
            for (m, x) in bound {
                if m.flags & Member::XML_ATTRIBUTE == 0 && m.location.is_none() {
                    let flat = m.flags & Member::FLATTENED != 0;
                    if let (true, Shape::List { member, .. }, Value::Array(a)) =
                        (flat, svc.shape(m.target), x)
                    {
                        for item in a {
                            to_xml(svc, member, m.wire_name(), item, out)?;
                        }
                    } else {
                        to_xml(svc, m.target, m.wire_name(), x, out)?;
                    }
                }
            }
            out.push_str(&format!("</{name}>"));
        }
        Shape::List {
            member,
            location_name,
            ..
        } => {
            out.push_str(&format!("<{name}>"));
            for item in v.as_array().into_iter().flatten() {
                to_xml(svc, member, location_name.unwrap_or("member"), item, out)?;
            }
            out.push_str(&format!("</{name}>"));
        }
        Shape::Map {
            key,
            value,
            key_name,
            value_name,
            ..
        } => {
            out.push_str(&format!("<{name}>"));
            for (k, x) in v.as_object().into_iter().flatten() {
                out.push_str("<entry>");
                to_xml(
                    svc,
                    key,
                    key_name.unwrap_or("key"),
                    &Value::String(k.clone()),
                    out,
                )?;
                to_xml(svc, value, value_name.unwrap_or("value"), x, out)?;
                out.push_str("</entry>");
            }
            out.push_str(&format!("</{name}>"));
        }
    }
    Ok(())
}

fn xml_scalar(code: &str, text: &str) -> Value {
    match code.chars().next() {
        Some('i') => text
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.into())),
        Some('f') => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            .unwrap_or_else(|| Value::String(text.into())),
        Some('b') => Value::Bool(text.trim() == "true"),
        Some('t') => Value::String(
            text.trim()
                .parse::<jiff::Timestamp>()
                .map(|t| t.to_string())
                .unwrap_or_else(|_| text.trim().to_string()),
        ),
        _ => Value::String(text.to_string()),
    }
}

fn children<'a, 'i: 'a>(
    node: roxmltree::Node<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

fn from_xml(svc: &Service, target: &str, node: roxmltree::Node) -> Value {
    match svc.shape(target) {
        Shape::Scalar(code) => xml_scalar(code, node.text().unwrap_or("")),
        Shape::Structure { members, .. } => {
            let mut m = Map::new();
            for member in &members {
                if member.location.is_some() {
                    continue;
                }
                if member.flags & Member::XML_ATTRIBUTE != 0 {
                    if let Some(a) = node.attributes().find(|a| a.name() == member.wire_name()) {
                        m.insert(pascal(member.name), Value::String(a.value().into()));
                    }
                    continue;
                }
                let flat = member.flags & Member::FLATTENED != 0
                    || matches!(
                        svc.shape(member.target),
                        Shape::List {
                            flattened: true,
                            ..
                        }
                    );
                let v = match (svc.shape(member.target), flat) {
                    (Shape::List { member: item, .. }, true) => {
                        let items: Vec<Value> = children(node, member.wire_name())
                            .map(|c| from_xml(svc, item, c))
                            .collect();
                        if items.is_empty() {
                            continue;
                        }
                        Value::Array(items)
                    }
                    (
                        Shape::Map {
                            key,
                            value,
                            key_name,
                            value_name,
                            ..
                        },
                        true,
                    ) => map_entries(
                        svc,
                        children(node, member.wire_name()),
                        (key, key_name),
                        (value, value_name),
                    ),
                    _ => match children(node, member.wire_name()).next() {
                        Some(c) => from_xml(svc, member.target, c),
                        None => continue,
                    },
                };
                m.insert(pascal(member.name), v);
            }
            Value::Object(m)
        }
        Shape::List {
            member,
            location_name,
            ..
        } => Value::Array(
            children(node, location_name.unwrap_or("member"))
                .map(|c| from_xml(svc, member, c))
                .collect(),
        ),
        Shape::Map {
            key,
            value,
            key_name,
            value_name,
            ..
        } => map_entries(
            svc,
            children(node, "entry"),
            (key, key_name),
            (value, value_name),
        ),
    }
}

fn map_entries<'a, 'i: 'a>(
    svc: &Service,
    entries: impl Iterator<Item = roxmltree::Node<'a, 'i>>,
    (key, key_name): (&str, Option<&str>),
    (value, value_name): (&str, Option<&str>),
) -> Value {
    let mut m = Map::new();
    for e in entries {
        let k = children(e, key_name.unwrap_or("key"))
            .next()
            .map(|k| from_xml(svc, key, k));
        let v = children(e, value_name.unwrap_or("value"))
            .next()
            .map(|v| from_xml(svc, value, v));
        if let (Some(Value::String(k)), Some(v)) = (k, v) {
            m.insert(k, v);
        }
    }
    Value::Object(m)
}

// ---------------------------------------------------------------- query / ec2 bodies

fn to_query(
    svc: &Service,
    ec2: bool,
    target: &str,
    prefix: &str,
    v: &Value,
    out: &mut Vec<(String, String)>,
) -> Result<(), BadParameters> {
    let join = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_string()
        } else {
            format!("{a}.{b}")
        }
    };
    match svc.shape(target) {
        Shape::Scalar(code) => out.push((prefix.to_string(), scalar_text(code, v))),
        Shape::Structure { members, .. } => {
            for (m, x) in bind(&members, v)? {
                let name = if ec2 {
                    pascal(m.location_name.unwrap_or(m.name))
                } else {
                    m.wire_name().to_string()
                };
                let flat = m.flags & Member::FLATTENED != 0;
                match (svc.shape(m.target), flat || ec2) {
                    (Shape::List { member, .. }, true) => {
                        for (i, item) in x.as_array().into_iter().flatten().enumerate() {
                            to_query(
                                svc,
                                ec2,
                                member,
                                &format!("{}.{}", join(prefix, &name), i + 1),
                                item,
                                out,
                            )?;
                        }
                    }
                    _ => to_query(svc, ec2, m.target, &join(prefix, &name), x, out)?,
                }
            }
        }
        Shape::List {
            member,
            location_name,
            ..
        } => {
            let items = v.as_array().into_iter().flatten();
            let a = v.as_array().map(Vec::len).unwrap_or(0);
            if a == 0 && !ec2 {
                out.push((prefix.to_string(), String::new()));
            }
            for (i, item) in items.enumerate() {
                let p = format!("{prefix}.{}.{}", location_name.unwrap_or("member"), i + 1);
                to_query(svc, ec2, member, &p, item, out)?;
            }
        }
        Shape::Map {
            key,
            value,
            key_name,
            value_name,
            flattened,
        } => {
            for (i, (k, x)) in v.as_object().into_iter().flatten().enumerate() {
                let p = if flattened {
                    format!("{prefix}.{}", i + 1)
                } else {
                    format!("{prefix}.entry.{}", i + 1)
                };
                to_query(
                    svc,
                    ec2,
                    key,
                    &format!("{p}.{}", key_name.unwrap_or("key")),
                    &Value::String(k.clone()),
                    out,
                )?;
                to_query(
                    svc,
                    ec2,
                    value,
                    &format!("{p}.{}", value_name.unwrap_or("value")),
                    x,
                    out,
                )?;
            }
        }
    }
    Ok(())
}

fn form(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, ENCODE),
                utf8_percent_encode(v, ENCODE)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

// ---------------------------------------------------------------- requests

/// The request for `op` with these parameters.
pub(crate) fn request(
    svc: &Service,
    op: &Operation,
    params: &Value,
) -> Result<WireRequest, BadParameters> {
    let empty = Value::Object(Map::new());
    let params = if params.is_null() { &empty } else { params };
    match svc.protocol.as_str() {
        "json" => {
            let body = match &op.input {
                Some(t) => to_json(svc, t, params)?,
                None => empty.clone(),
            };
            Ok(WireRequest {
                method: "POST".into(),
                path_and_query: "/".into(),
                headers: vec![
                    (
                        "content-type".into(),
                        format!("application/x-amz-json-{}", svc.json_version),
                    ),
                    (
                        "x-amz-target".into(),
                        format!("{}.{}", svc.target_prefix, op.name),
                    ),
                ],
                body: body.to_string().into_bytes(),
            })
        }
        "query" | "ec2" => {
            let mut pairs = vec![
                ("Action".to_string(), op.name.clone()),
                ("Version".to_string(), svc.api_version.clone()),
            ];
            if let Some(t) = &op.input {
                to_query(svc, svc.protocol == "ec2", t, "", params, &mut pairs)?;
            }
            Ok(WireRequest {
                method: "POST".into(),
                path_and_query: "/".into(),
                headers: vec![(
                    "content-type".into(),
                    "application/x-www-form-urlencoded; charset=utf-8".into(),
                )],
                body: form(&pairs).into_bytes(),
            })
        }
        "rest-json" | "rest-xml" => rest_request(svc, op, params),
        other => Err(BadParameters(format!(
            "Cairn does not speak the '{other}' protocol of {}",
            svc.service_id
        ))),
    }
}

fn rest_request(
    svc: &Service,
    op: &Operation,
    params: &Value,
) -> Result<WireRequest, BadParameters> {
    let xml = svc.protocol == "rest-xml";
    let (path_template, fixed_query) = match op.uri.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (op.uri.clone(), None),
    };
    let mut path = path_template;
    let mut query: Vec<(String, String)> = Vec::new();
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body_members = Map::new();
    let mut body = Vec::new();
    let mut content_type = None;
    let (members, payload) = match op.input.as_deref().map(|t| svc.shape(t)) {
        Some(Shape::Structure {
            members, payload, ..
        }) => (members, payload),
        _ => (Vec::new(), None),
    };
    for (m, v) in bind(&members, params)? {
        let code = match svc.shape(m.target) {
            Shape::Scalar(c) => c,
            _ => "s",
        };
        match m.location {
            Some("uri") => {
                let text = scalar_text(code, v);
                let name = m.wire_name();
                let greedy = format!("{{{name}+}}");
                if path.contains(&greedy) {
                    path = path.replace(
                        &greedy,
                        &utf8_percent_encode(&text, ENCODE_GREEDY).to_string(),
                    );
                } else {
                    path = path.replace(
                        &format!("{{{name}}}"),
                        &utf8_percent_encode(&text, ENCODE).to_string(),
                    );
                }
            }
            Some("querystring") => match (svc.shape(m.target), v) {
                (Shape::List { .. }, Value::Array(a)) => {
                    for x in a {
                        query.push((m.wire_name().into(), scalar_text("s", x)));
                    }
                }
                (Shape::Map { .. }, Value::Object(o)) => {
                    for (k, x) in o {
                        query.push((k.clone(), scalar_text("s", x)));
                    }
                }
                _ => query.push((m.wire_name().into(), scalar_text(code, v))),
            },
            Some("header") => {
                let text = match (code.starts_with('t'), v) {
                    (true, Value::String(s)) => s
                        .parse::<jiff::Timestamp>()
                        .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
                        .unwrap_or_else(|_| s.clone()),
                    (_, Value::Array(a)) => a
                        .iter()
                        .map(|x| scalar_text("s", x))
                        .collect::<Vec<_>>()
                        .join(","),
                    _ => scalar_text(code, v),
                };
                headers.push((m.wire_name().to_ascii_lowercase(), text));
            }
            Some("headers") => {
                for (k, x) in v.as_object().into_iter().flatten() {
                    headers.push((
                        format!("{}{k}", m.wire_name()).to_ascii_lowercase(),
                        scalar_text("s", x),
                    ));
                }
            }
            _ if Some(m.name) == payload => match svc.shape(m.target) {
                Shape::Scalar(_) => {
                    body = match v {
                        Value::String(s) => s.clone().into_bytes(),
                        v => v.to_string().into_bytes(),
                    };
                    content_type = Some("application/octet-stream");
                }
                _ if xml => {
                    let mut s = String::new();
                    to_xml(svc, m.target, m.wire_name(), v, &mut s)?;
                    body = s.into_bytes();
                    content_type = Some("application/xml");
                }
                _ => {
                    body = to_json(svc, m.target, v)?.to_string().into_bytes();
                    content_type = Some("application/json");
                }
            },
            _ => {
                body_members.insert(m.name.to_string(), v.clone());
            }
        }
    }
    if !body_members.is_empty() {
        if let Some(input) = &op.input {
            if xml {
                let mut s = String::new();
                to_xml(svc, input, input, &Value::Object(body_members), &mut s)?;
                body = s.into_bytes();
                content_type = Some("application/xml");
            } else {
                // The body's members only: serialise through the input shape, whose
                // location-bound members are absent here.
                body = to_json(svc, input, &Value::Object(body_members))?
                    .to_string()
                    .into_bytes();
                content_type = Some("application/json");
            }
        }
    } else if !xml && body.is_empty() && matches!(op.method.as_str(), "POST" | "PUT" | "PATCH") {
        body = b"{}".to_vec();
        content_type = Some("application/json");
    }
    if let Some(ct) = content_type {
        if !headers.iter().any(|(k, _)| k == "content-type") {
            headers.push(("content-type".into(), ct.into()));
        }
    }
    // Labels the parameters did not fill stay empty, as the service's validation will say.
    let mut path = remove_labels(&path);
    let mut q: Vec<String> = fixed_query.into_iter().collect();
    if !query.is_empty() {
        q.push(form(&query));
    }
    if !q.is_empty() {
        path = format!("{path}?{}", q.join("&"));
    }
    Ok(WireRequest {
        method: op.method.clone(),
        path_and_query: path,
        headers,
        body,
    })
}

fn remove_labels(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(j) => rest = &rest[i + j + 1..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------- responses

/// The state's result from a 2xx answer.
pub(crate) fn result(
    svc: &Service,
    op: &Operation,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Value {
    let Some(out) = &op.output else {
        return Value::Object(Map::new());
    };
    match svc.protocol.as_str() {
        "json" => {
            let v: Value = serde_json::from_slice(body).unwrap_or(Value::Object(Map::new()));
            from_json(svc, out, &v)
        }
        "query" | "ec2" => {
            let text = String::from_utf8_lossy(body);
            let Ok(doc) = roxmltree::Document::parse(&text) else {
                return Value::Object(Map::new());
            };
            let root = doc.root_element();
            let node = match &op.result_wrapper {
                Some(w) => children(root, w).next().unwrap_or(root),
                None => root,
            };
            from_xml(svc, out, node)
        }
        _ => rest_result(svc, out, status, headers, body),
    }
}

fn rest_result(
    svc: &Service,
    out: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> Value {
    let xml = svc.protocol == "rest-xml";
    let Shape::Structure {
        members, payload, ..
    } = svc.shape(out)
    else {
        return Value::Object(Map::new());
    };
    let mut result = Map::new();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let text = String::from_utf8_lossy(body);
    for m in &members {
        let code = match svc.shape(m.target) {
            Shape::Scalar(c) => c,
            _ => "s",
        };
        match m.location {
            Some("statusCode") => {
                result.insert(pascal(m.name), Value::from(status));
            }
            Some("header") => {
                if let Some(v) = header(m.wire_name()) {
                    let v = if code.starts_with('t') {
                        jiff::fmt::rfc2822::parse(v)
                            .map(|z| Value::String(z.timestamp().to_string()))
                            .unwrap_or_else(|_| Value::String(v.into()))
                    } else {
                        xml_scalar(code, v)
                    };
                    result.insert(pascal(m.name), v);
                }
            }
            Some("headers") => {
                let prefix = m.wire_name().to_ascii_lowercase();
                let map: Map<String, Value> = headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let k = k.to_ascii_lowercase();
                        k.strip_prefix(&prefix)
                            .map(|rest| (rest.to_string(), Value::String(v.clone())))
                    })
                    .collect();
                if !map.is_empty() {
                    result.insert(pascal(m.name), Value::Object(map));
                }
            }
            _ if Some(m.name) == payload => {
                let v = match svc.shape(m.target) {
                    Shape::Scalar(_) => Value::String(text.to_string()),
                    _ if xml => roxmltree::Document::parse(&text)
                        .map(|d| from_xml(svc, m.target, d.root_element()))
                        .unwrap_or(Value::Null),
                    _ => serde_json::from_slice::<Value>(body)
                        .map(|v| from_json(svc, m.target, &v))
                        .unwrap_or(Value::Null),
                };
                if !v.is_null() {
                    result.insert(pascal(m.name), v);
                }
            }
            _ => {}
        }
    }
    if payload.is_none() && !body.is_empty() {
        let v = if xml {
            roxmltree::Document::parse(&text)
                .map(|d| from_xml(svc, out, d.root_element()))
                .unwrap_or(Value::Null)
        } else {
            serde_json::from_slice::<Value>(body)
                .map(|v| from_json(svc, out, &v))
                .unwrap_or(Value::Null)
        };
        if let Value::Object(o) = v {
            result.extend(o);
        }
    }
    Value::Object(result)
}

/// The error code and message of a non-2xx answer.
pub(crate) fn error(
    svc: &Service,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> WireError {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let clean = |c: &str| {
        let c = c.split(':').next().unwrap_or(c);
        c.rsplit('#').next().unwrap_or(c).to_string()
    };
    let text = String::from_utf8_lossy(body);
    let (mut code, mut message) = (None, None);
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        code = ["__type", "code", "Code"]
            .iter()
            .find_map(|k| v.get(k)?.as_str())
            .map(clean);
        message = ["message", "Message", "errorMessage"]
            .iter()
            .find_map(|k| v.get(k)?.as_str())
            .map(str::to_string);
    } else if let Ok(doc) = roxmltree::Document::parse(&text) {
        let find = |name: &str| {
            doc.descendants()
                .find(|n| n.is_element() && n.tag_name().name() == name)
                .and_then(|n| n.text())
                .map(str::to_string)
        };
        code = find("Code");
        message = find("Message");
    }
    if let Some(h) = header("x-amzn-errortype") {
        if code.is_none() || svc.protocol.starts_with("rest-json") {
            code = Some(clean(h));
        }
    }
    // JSON services that moved from query send the old code here (SQS).
    if let Some(q) = header("x-amzn-query-error") {
        let q = q.split(';').next().unwrap_or(q);
        if svc.error_shape(q).is_some() {
            code = Some(q.to_string());
        }
    }
    let code = code.unwrap_or_else(|| match status {
        404 => "NotFound".into(),
        403 => "Forbidden".into(),
        400 => "BadRequest".into(),
        _ => format!("Http{status}"),
    });
    WireError {
        code,
        message: message.unwrap_or_else(|| {
            if text.trim().is_empty() {
                format!("Service returned HTTP status code {status}")
            } else {
                text.to_string()
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model;
    use super::*;
    use serde_json::json;

    #[test]
    fn json_request() {
        let s = model::service("dynamodb").unwrap();
        let op = s.operation("getItem").unwrap();
        let r = request(
            &s,
            &op,
            &json!({"TableName": "t", "Key": {"id": {"S": "1"}}}),
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&r.body).unwrap(),
            json!({"TableName": "t", "Key": {"id": {"S": "1"}}})
        );
        assert!(r
            .headers
            .contains(&("x-amz-target".into(), "DynamoDB_20120810.GetItem".into())));
        let e = request(&s, &op, &json!({"TableName": "t", "Nope": 1})).unwrap_err();
        assert!(e.0.contains("'Nope'"), "{}", e.0);
    }

    #[test]
    fn rest_xml_request_and_result() {
        let s = model::service("s3").unwrap();
        let op = s.operation("putObject").unwrap();
        let r = request(
            &s,
            &op,
            &json!({"Bucket": "b", "Key": "a/b c.txt", "Body": "hello", "ContentType": "text/plain"}),
        )
        .unwrap();
        assert_eq!(r.method, "PUT");
        assert!(
            r.path_and_query.starts_with("/b/a/b%20c.txt"),
            "{}",
            r.path_and_query
        );
        assert_eq!(r.body, b"hello");
        assert!(r
            .headers
            .contains(&("content-type".into(), "text/plain".into())));
        let op = s.operation("listBuckets").unwrap();
        let body = br#"<ListAllMyBucketsResult><Buckets><Bucket><Name>x</Name><CreationDate>2024-01-02T03:04:05.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>"#;
        let v = result(&s, &op, 200, &[], body);
        assert_eq!(
            v["Buckets"],
            json!([{"Name": "x", "CreationDate": "2024-01-02T03:04:05Z"}])
        );
    }

    #[test]
    fn query_requests() {
        let s = model::service("sns").unwrap();
        let op = s.operation("publish").unwrap();
        let r = request(
            &s,
            &op,
            &json!({"TopicArn": "arn:t", "Message": "hi there", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}}),
        )
        .unwrap();
        let body = String::from_utf8(r.body).unwrap();
        assert!(
            body.starts_with("Action=Publish&Version=2010-03-31&"),
            "{body}"
        );
        assert!(body.contains("Message=hi%20there"), "{body}");
        assert!(body.contains("MessageAttributes.entry.1.Name=a"), "{body}");
        let ec2 = model::service("ec2").unwrap();
        let op = ec2.operation("describeRegions").unwrap();
        let r = request(&ec2, &op, &json!({"RegionNames": ["us-east-1"]})).unwrap();
        let body = String::from_utf8(r.body).unwrap();
        assert!(body.contains("RegionName.1=us-east-1"), "{body}");
    }
}
