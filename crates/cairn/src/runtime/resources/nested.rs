//! Nested (stub).
use super::{Answer, Invocation, ResourceEnv};
pub(super) async fn optimized(env: &ResourceEnv, call: &Invocation, action: &str, callback: bool) -> Answer {
    let _ = (env, call, action, callback);
    super::unsupported::answer(&call.resource)
}
pub(super) async fn sdk(env: &ResourceEnv, call: &Invocation, action: &str) -> Answer {
    let _ = (env, call, action);
    super::unsupported::answer(&call.resource)
}
