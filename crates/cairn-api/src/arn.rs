//! Step Functions ARNs: minting the ones this server hands out and parsing the ones clients
//! send back (ARNS.md §1). Any partition, region and account is accepted on the way in:
//! clients copy ARNs around verbatim.

use crate::error::ApiError;
use std::fmt;

/// Where the ARNs minted for one request point: partition, region, account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl ArnScope {
    pub fn new(
        partition: impl Into<String>,
        region: impl Into<String>,
        account: impl Into<String>,
    ) -> ArnScope {
        ArnScope {
            partition: partition.into(),
            region: region.into(),
            account: account.into(),
        }
    }

    fn prefix(&self, resource_type: &str) -> String {
        format!(
            "arn:{}:states:{}:{}:{resource_type}",
            self.partition, self.region, self.account
        )
    }

    /// `arn:…:stateMachine:<name>`
    pub fn state_machine(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix("stateMachine"))
    }

    /// `arn:…:activity:<name>`
    pub fn activity(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix("activity"))
    }

    /// `arn:…:execution:<stateMachineName>:<executionName>`
    pub fn execution(&self, state_machine: &str, name: &str) -> String {
        format!("{}:{state_machine}:{name}", self.prefix("execution"))
    }

    /// `arn:…:express:<stateMachineName>:<executionName>:<id>`
    pub fn express_execution(&self, state_machine: &str, name: &str, id: &str) -> String {
        format!("{}:{state_machine}:{name}:{id}", self.prefix("express"))
    }

    /// `arn:…:mapRun:<stateMachineName>/<label>:<id>`
    pub fn map_run(&self, state_machine: &str, label: &str, id: &str) -> String {
        format!("{}:{state_machine}/{label}:{id}", self.prefix("mapRun"))
    }
}

/// What a Step Functions ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `stateMachine:<name>`
    StateMachine { name: String },
    /// `stateMachine:<name>:<N>`
    Version { name: String, version: u64 },
    /// `stateMachine:<name>:<alias>`
    Alias { name: String, alias: String },
    /// `stateMachine:<name>/<label>` (a Distributed Map child).
    Labelled { name: String, label: String },
    /// `execution:<stateMachine>:<name>`; `state_machine` may carry `/<label>`.
    Execution { state_machine: String, name: String },
    /// `express:<stateMachine>:<name>:<id>`
    ExpressExecution {
        state_machine: String,
        name: String,
        id: String,
    },
    /// `mapRun:<stateMachine>/<label>:<id>`
    MapRun {
        state_machine: String,
        label: String,
        id: String,
    },
    /// `activity:<name>`
    Activity { name: String },
}

impl Resource {
    /// The resource type word of the ARN.
    pub fn type_name(&self) -> &'static str {
        match self {
            Resource::StateMachine { .. }
            | Resource::Version { .. }
            | Resource::Alias { .. }
            | Resource::Labelled { .. } => "stateMachine",
            Resource::Execution { .. } => "execution",
            Resource::ExpressExecution { .. } => "express",
            Resource::MapRun { .. } => "mapRun",
            Resource::Activity { .. } => "activity",
        }
    }
}

/// A parsed Step Functions ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub region: String,
    pub account: String,
    pub resource: Resource,
}

impl Arn {
    /// Parse any Step Functions ARN; not an ARN of the `states` service → `InvalidArn`
    /// `Invalid Arn: 'Invalid ARN prefix: <value>'`.
    pub fn parse(value: &str) -> Result<Arn, ApiError> {
        let bad = || ApiError::invalid_arn_prefix(value);
        let parts: Vec<&str> = value.splitn(7, ':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" || parts[1].is_empty() {
            return Err(bad());
        }
        let (partition, region, account) = (parts[1], parts[3], parts[4]);
        let resource_type = parts[5];
        let rest: Vec<&str> = parts[6].split(':').collect();
        if rest.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let s = |v: &str| v.to_string();
        let resource = match (resource_type, rest.as_slice()) {
            ("stateMachine", [name]) => match name.split_once('/') {
                Some((name, label)) if !name.is_empty() && !label.is_empty() => {
                    Resource::Labelled {
                        name: s(name),
                        label: s(label),
                    }
                }
                Some(_) => return Err(bad()),
                None => Resource::StateMachine { name: s(name) },
            },
            ("stateMachine", [name, qualifier]) if !name.contains('/') => {
                if qualifier.bytes().all(|b| b.is_ascii_digit()) {
                    let version = qualifier.parse().map_err(|_| bad())?;
                    Resource::Version {
                        name: s(name),
                        version,
                    }
                } else {
                    Resource::Alias {
                        name: s(name),
                        alias: s(qualifier),
                    }
                }
            }
            ("execution", [state_machine, name]) => Resource::Execution {
                state_machine: s(state_machine),
                name: s(name),
            },
            ("express", [state_machine, name, id]) => Resource::ExpressExecution {
                state_machine: s(state_machine),
                name: s(name),
                id: s(id),
            },
            ("mapRun", [machine_and_label, id]) => match machine_and_label.split_once('/') {
                Some((sm, label)) if !sm.is_empty() && !label.is_empty() => Resource::MapRun {
                    state_machine: s(sm),
                    label: s(label),
                    id: s(id),
                },
                _ => return Err(bad()),
            },
            ("activity", [name]) => Resource::Activity { name: s(name) },
            ("stateMachine" | "execution" | "express" | "mapRun" | "activity", _) => {
                return Err(bad())
            }
            (other, _) => return Err(ApiError::invalid_arn_resource_type(other)),
        };
        Ok(Arn {
            partition: s(partition),
            region: s(region),
            account: s(account),
            resource,
        })
    }

    /// Parse an ARN that must be of one of `types` (`Resource::type_name`); another type →
    /// `InvalidArn` `Invalid Arn: 'Resource type not valid in this context: <type>'`.
    pub fn parse_as(value: &str, types: &[&str]) -> Result<Arn, ApiError> {
        let arn = Arn::parse(value)?;
        let found = arn.resource.type_name();
        if types.contains(&found) {
            Ok(arn)
        } else {
            Err(ApiError::invalid_arn_resource_type(found))
        }
    }

    /// The scope (partition, region, account) this ARN lives in.
    pub fn scope(&self) -> ArnScope {
        ArnScope::new(&self.partition, &self.region, &self.account)
    }

    /// For any state-machine ARN (plain, version, alias, labelled): the unqualified machine ARN.
    pub fn state_machine_arn(&self) -> Option<String> {
        match &self.resource {
            Resource::StateMachine { name }
            | Resource::Version { name, .. }
            | Resource::Alias { name, .. }
            | Resource::Labelled { name, .. } => Some(self.scope().state_machine(name)),
            _ => None,
        }
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scope = self.scope();
        let text = match &self.resource {
            Resource::StateMachine { name } => scope.state_machine(name),
            Resource::Version { name, version } => {
                format!("{}:{version}", scope.state_machine(name))
            }
            Resource::Alias { name, alias } => format!("{}:{alias}", scope.state_machine(name)),
            Resource::Labelled { name, label } => format!("{}/{label}", scope.state_machine(name)),
            Resource::Execution {
                state_machine,
                name,
            } => scope.execution(state_machine, name),
            Resource::ExpressExecution {
                state_machine,
                name,
                id,
            } => scope.express_execution(state_machine, name, id),
            Resource::MapRun {
                state_machine,
                label,
                id,
            } => scope.map_run(state_machine, label, id),
            Resource::Activity { name } => scope.activity(name),
        };
        f.write_str(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const P: &str = "arn:aws:states:us-east-1:123456789012";

    fn roundtrip(s: &str) -> Resource {
        let arn = Arn::parse(s).unwrap();
        assert_eq!(arn.to_string(), s);
        arn.resource
    }

    #[test]
    fn every_minted_kind_parses_back() {
        let scope = ArnScope::new("aws", "us-east-1", "123456789012");
        assert_eq!(scope.state_machine("m"), format!("{P}:stateMachine:m"));
        assert!(matches!(
            roundtrip(&scope.state_machine("m")),
            Resource::StateMachine { .. }
        ));
        assert_eq!(
            roundtrip(&format!("{P}:stateMachine:m:3")),
            Resource::Version {
                name: "m".into(),
                version: 3
            }
        );
        assert_eq!(
            roundtrip(&format!("{P}:stateMachine:m:prod")),
            Resource::Alias {
                name: "m".into(),
                alias: "prod".into()
            }
        );
        assert_eq!(
            roundtrip(&format!("{P}:stateMachine:m/lbl")),
            Resource::Labelled {
                name: "m".into(),
                label: "lbl".into()
            }
        );
        assert!(matches!(
            roundtrip(&scope.execution("m", "e")),
            Resource::Execution { .. }
        ));
        assert!(matches!(
            roundtrip(&scope.express_execution("m", "e", "u")),
            Resource::ExpressExecution { .. }
        ));
        assert!(matches!(
            roundtrip(&scope.map_run("m", "l", "i")),
            Resource::MapRun { .. }
        ));
        assert!(matches!(
            roundtrip(&scope.activity("a")),
            Resource::Activity { .. }
        ));
        let v = Arn::parse(&format!("{P}:stateMachine:m:3")).unwrap();
        assert_eq!(
            v.state_machine_arn().unwrap(),
            format!("{P}:stateMachine:m")
        );
    }

    #[test]
    fn bad_arns_have_aws_messages() {
        let e = Arn::parse("not-an-arn").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidArn);
        assert_eq!(e.message, "Invalid Arn: 'Invalid ARN prefix: not-an-arn'");
        assert!(Arn::parse("arn:aws:lambda:us-east-1:1:function:f").is_err());
        assert!(Arn::parse(&format!("{P}:activity:")).is_err());
        assert!(Arn::parse(&format!("{P}:activity:a:b")).is_err());
        let e = Arn::parse_as(&format!("{P}:express:m:e:u"), &["execution"]).unwrap_err();
        assert_eq!(
            e.message,
            "Invalid Arn: 'Resource type not valid in this context: express'"
        );
    }
}
