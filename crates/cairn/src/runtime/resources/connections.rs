//! The connections file (`cairn serve --connections FILE`, TOML or JSON): what an HTTP Task's
//! `Authentication.ConnectionArn` means locally, in place of an EventBridge connection.
//!
//! ```toml
//! [connections."arn:aws:events:us-east-1:123456789012:connection/billing/1"]
//! api_key = { name = "x-api-key", value = "secret" }   # or:
//! # basic = { username = "u", password = "p" }
//! # bearer = "token"                                     # Authorization: Bearer token
//! headers = { x-tenant = "7" }                           # extra invocation headers
//! query_parameters = { region = "eu" }                   # extra query parameters
//! ```
//! A value written `{ env = "NAME" }` is read from the environment when the file is loaded.
//!
//! Must not: log secret values.

use super::settings_file::load_document;
use anyhow::{bail, Context};
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// What one connection adds to a request.
#[derive(Clone, Default)]
pub(crate) struct Connection {
    pub headers: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Connections {
    by_arn: HashMap<String, Connection>,
}

impl Connections {
    pub(crate) fn load(path: &Path) -> anyhow::Result<Connections> {
        let doc = load_document(path)?;
        Connections::from_document(&doc).with_context(|| path.display().to_string())
    }

    /// The connections of a parsed file.
    pub(crate) fn from_document(doc: &Value) -> anyhow::Result<Connections> {
        let Some(table) = doc.get("connections").and_then(Value::as_object) else {
            bail!("expected a `connections` table");
        };
        let mut by_arn = HashMap::new();
        for (arn, spec) in table {
            let c = parse(spec).with_context(|| format!("connection '{arn}'"))?;
            by_arn.insert(arn.clone(), c);
        }
        Ok(Connections { by_arn })
    }

    pub(crate) fn get(&self, arn: &str) -> Option<&Connection> {
        self.by_arn.get(arn)
    }
}

fn text(v: &Value, what: &str) -> anyhow::Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
        Value::Object(o) if o.len() == 1 && o.contains_key("env") => {
            let name = o["env"].as_str().context("env must name a variable")?;
            std::env::var(name)
                .with_context(|| format!("{what}: environment variable {name} is not set"))
        }
        _ => bail!("{what} must be a string or {{ env = \"NAME\" }}"),
    }
}

fn pairs(v: Option<&Value>, what: &str) -> anyhow::Result<Vec<(String, String)>> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| Ok((k.clone(), text(v, what)?)))
            .collect(),
        Some(_) => bail!("{what} must be a table"),
    }
}

fn parse(spec: &Value) -> anyhow::Result<Connection> {
    let mut c = Connection {
        headers: pairs(spec.get("headers"), "headers")?,
        query: pairs(spec.get("query_parameters"), "query_parameters")?,
    };
    let mut kinds = 0;
    if let Some(k) = spec.get("api_key") {
        kinds += 1;
        let name = text(
            k.get("name").context("api_key needs a name")?,
            "api_key.name",
        )?;
        let value = text(
            k.get("value").context("api_key needs a value")?,
            "api_key.value",
        )?;
        c.headers.push((name, value));
    }
    if let Some(b) = spec.get("basic") {
        kinds += 1;
        let user = text(
            b.get("username").context("basic needs a username")?,
            "basic.username",
        )?;
        let pass = text(
            b.get("password").context("basic needs a password")?,
            "basic.password",
        )?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        c.headers
            .push(("Authorization".into(), format!("Basic {encoded}")));
    }
    if let Some(t) = spec.get("bearer") {
        kinds += 1;
        let token = text(t, "bearer")?;
        c.headers
            .push(("Authorization".into(), format!("Bearer {token}")));
    }
    if kinds > 1 {
        bail!("give one of api_key, basic or bearer");
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_of_authentication() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[connections.\"arn:k\"]\napi_key = { name = \"x-api-key\", value = \"s\" }\n\
             [connections.\"arn:b\"]\nbasic = { username = \"u\", password = \"p\" }\nheaders = { x-t = \"7\" }\n\
             [connections.\"arn:t\"]\nbearer = \"tok\"\nquery_parameters = { r = \"eu\" }\n",
        )
        .unwrap();
        let c = Connections::load(&p).unwrap();
        assert_eq!(
            c.get("arn:k").unwrap().headers,
            [("x-api-key".into(), "s".into())]
        );
        assert_eq!(
            c.get("arn:b").unwrap().headers,
            [
                ("x-t".to_string(), "7".to_string()),
                ("Authorization".into(), "Basic dTpw".into())
            ]
        );
        assert_eq!(c.get("arn:t").unwrap().query, [("r".into(), "eu".into())]);
        assert!(c.get("arn:none").is_none());
        std::fs::write(
            &p,
            "[connections.\"a\"]\nbearer = \"x\"\nbasic = { username = \"u\", password = \"p\" }\n",
        )
        .unwrap();
        assert!(Connections::load(&p).is_err());
    }
}
