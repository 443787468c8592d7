//! Versions and aliases shared by several operations: publishing a machine's current
//! revision, reading a version or alias named by an ARN, checking a routing configuration,
//! and choosing the version an alias start runs.
//!
//! Owns: AWS's quotas (1,000 versions, 100 aliases per machine), its routing-configuration
//! validation and messages, and the weighted choice. Must not: write executions or decide
//! how a start runs (that is `ops::execution_common` and the engine).

use crate::app::App;
use cairn_api::{ApiError, Arn, Resource};
use cairn_store::{AliasRecord, Published, StateMachineRecord, VersionRecord};

/// AWS's quota of versions per state machine.
pub const MAX_VERSIONS: usize = 1000;
/// AWS's quota of aliases per state machine.
pub const MAX_ALIASES: usize = 100;

/// Publish `machine`'s current revision (or answer the version that already holds it).
pub async fn publish(
    app: &App,
    machine: &StateMachineRecord,
    description: Option<String>,
    now_ms: i64,
) -> Result<VersionRecord, ApiError> {
    let version = VersionRecord {
        arn: String::new(),
        machine_arn: machine.arn.clone(),
        version: 0,
        definition: machine.definition.clone(),
        role_arn: machine.role_arn.clone(),
        revision_id: machine.revision_id.clone(),
        description,
        creation_date_ms: now_ms,
        logging_configuration: machine.logging_configuration.clone(),
        tracing_configuration: machine.tracing_configuration.clone(),
        encryption_configuration: machine.encryption_configuration.clone(),
        seq: 0,
    };
    match app
        .store(move |s| s.publish_version(&version, MAX_VERSIONS))
        .await?
    {
        Published::Created(v) | Published::Exists(v) => Ok(v),
        Published::QuotaExceeded => Err(ApiError::service_quota_exceeded(format!(
            "Maximum number of versions ({MAX_VERSIONS}) reached for state machine: '{}'",
            machine.arn
        ))),
        Published::NoMachine => Err(ApiError::no_such_state_machine(&machine.arn)),
    }
}

/// The unqualified machine ARN of a version or alias ARN.
pub fn base_arn(qualified: &str) -> String {
    qualified
        .rsplit_once(':')
        .map_or(qualified, |(base, _)| base)
        .to_string()
}

/// `base_arn` of a qualified ARN, the ARN itself otherwise.
pub fn base_arn_if(arn: &str, qualified: bool) -> String {
    if qualified {
        base_arn(arn)
    } else {
        arn.to_string()
    }
}

/// The stored version a version ARN names, or `StateMachineDoesNotExist`.
pub async fn load_version(app: &App, arn: &str) -> Result<VersionRecord, ApiError> {
    let key = arn.to_string();
    app.store(move |s| s.get_version(&key))
        .await?
        .ok_or_else(|| ApiError::no_such_state_machine(arn))
}

/// The stored alias an alias ARN names, or `ResourceNotFound` (AWS's wording, observed).
pub async fn load_alias(app: &App, arn: &str) -> Result<AliasRecord, ApiError> {
    let key = arn.to_string();
    app.store(move |s| s.get_alias(&key))
        .await?
        .ok_or_else(alias_not_found)
}

pub fn alias_not_found() -> ApiError {
    ApiError::resource_not_found("Request references a resource that does not exist.")
}

/// Parse an ARN that must name an alias (`…:stateMachine:<name>:<alias>`).
pub fn alias_arn(value: &str) -> Result<Arn, ApiError> {
    let arn = Arn::parse_as(value, &["stateMachine"])?;
    match arn.resource {
        Resource::Alias { .. } => Ok(arn),
        Resource::Labelled { .. } => Err(ApiError::labelled_arn_not_supported()),
        _ => Err(ApiError::invalid_arn(format!(
            "Invalid Arn: 'Not a state machine alias ARN: {value}'"
        ))),
    }
}

/// A checked routing configuration: the machine it belongs to and its (version, weight)
/// routes. AWS's rules and messages (observed): 1–2 routes (the model), every ARN a version
/// ARN, all of one machine, no ARN twice, weights summing to 100.
pub fn check_routing(routes: &[(String, u32)]) -> Result<String, ApiError> {
    let arns: Vec<&str> = routes.iter().map(|(a, _)| a.as_str()).collect();
    let listed = format!("[{}]", arns.join(", "));
    let mut machine: Option<String> = None;
    for arn in &arns {
        let parsed = Arn::parse_as(arn, &["stateMachine"])?;
        if !matches!(parsed.resource, Resource::Version { .. }) {
            return Err(ApiError::validation(format!(
                "Routing configuration must contain state machine version ARNs. Received: \
                 {listed}"
            )));
        }
        let base = base_arn(arn);
        match &machine {
            Some(m) if *m != base => {
                return Err(ApiError::validation(format!(
                    "Routing configuration must contain state machine version ARNs of the \
                     same state machine. Received: {listed}"
                )))
            }
            _ => machine = Some(base),
        }
    }
    if arns.len() == 2 && arns[0] == arns[1] {
        return Err(ApiError::validation(format!(
            "Routing configuration must contain distinct state machine version ARNs. \
             Received: {listed}"
        )));
    }
    let weights: Vec<String> = routes.iter().map(|(_, w)| w.to_string()).collect();
    if routes.iter().map(|(_, w)| *w).sum::<u32>() != 100 {
        return Err(ApiError::validation(format!(
            "Sum of routing configuration weights must equal 100. Received: [{}]",
            weights.join(", ")
        )));
    }
    machine.ok_or_else(|| ApiError::validation("Routing configuration must not be empty"))
}

/// The route an alias start takes: a deterministic function of the alias and the execution
/// name, uniform over 0..100 and compared with the cumulative weights, so a given name always
/// takes the same route (tests can rely on it) while many distinct names (SDKs generate
/// UUIDs) split by weight.
pub fn choose_route<'a>(routes: &'a [(String, u32)], alias_arn: &str, name: &str) -> &'a str {
    let point = (mix(alias_arn, name) % 100) as u32;
    let mut upto = 0;
    for (version, weight) in routes {
        upto += weight;
        if point < upto {
            return version;
        }
    }
    routes.last().map(|(v, _)| v.as_str()).unwrap_or_default()
}

/// FNV-1a over both strings, then the splitmix64 finaliser so that similar names
/// (`run-1`, `run-2`, …) land far apart.
fn mix(a: &str, b: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in a.bytes().chain([0u8]).chain(b.bytes()) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:m";

    #[test]
    fn routing_rules_and_messages() {
        let r = |v: &[(&str, u32)]| -> Vec<(String, u32)> {
            v.iter().map(|(a, w)| (a.to_string(), *w)).collect()
        };
        assert_eq!(check_routing(&r(&[(&format!("{M}:1"), 100)])).unwrap(), M);
        let e = check_routing(&r(&[(M, 100)])).unwrap_err();
        assert_eq!(
            e.message,
            format!(
                "Routing configuration must contain state machine version ARNs. Received: [{M}]"
            )
        );
        let e = check_routing(&r(&[(&format!("{M}:1"), 70), (&format!("{M}:2"), 29)])).unwrap_err();
        assert_eq!(
            e.message,
            "Sum of routing configuration weights must equal 100. Received: [70, 29]"
        );
        let e = check_routing(&r(&[(&format!("{M}:1"), 50), (&format!("{M}:1"), 50)])).unwrap_err();
        assert!(e.message.contains("distinct"), "{}", e.message);
        let e =
            check_routing(&r(&[(&format!("{M}:1"), 50), (&format!("{M}x:1"), 50)])).unwrap_err();
        assert!(e.message.contains("same state machine"), "{}", e.message);
    }

    #[test]
    fn routes_split_by_weight_and_repeat_for_a_name() {
        let routes = vec![("v1".to_string(), 80), ("v2".to_string(), 20)];
        let v1 = (0..10_000)
            .filter(|i| choose_route(&routes, "a", &format!("run-{i}")) == "v1")
            .count();
        // 8,000 expected; 6 standard deviations (40 each) either side.
        assert!((7_760..=8_240).contains(&v1), "{v1}");
        assert_eq!(
            choose_route(&routes, "a", "x"),
            choose_route(&routes, "a", "x")
        );
        let all = vec![("only".to_string(), 100)];
        assert!((0..100).all(|i| choose_route(&all, "a", &i.to_string()) == "only"));
        let zero = vec![("never".to_string(), 0), ("always".to_string(), 100)];
        assert!((0..100).all(|i| choose_route(&zero, "a", &i.to_string()) == "always"));
    }
}
