//! `CairnClock.*`: the engine's clock for tests, beside the AWS operations on the same
//! endpoint (`POST /`, `X-Amz-Target: CairnClock.<Op>`, AWS JSON 1.0 bodies and errors).
//! AWS clients never send this prefix, so nothing they do changes.
//!
//! | target | body | effect |
//! |---|---|---|
//! | `CairnClock.GetTime` | `{}` | read the clock |
//! | `CairnClock.Advance` | `{"seconds": 86400}` or `{"milliseconds": 5}` | move a virtual clock forward |
//! | `CairnClock.Freeze` | `{}` | stop a virtual clock (no jumps either) |
//! | `CairnClock.Resume` | `{}` | let a frozen clock run (and jump) again |
//!
//! Every answer is the clock's state: `{"time": <epoch seconds>, "timeMillis": <epoch ms>,
//! "virtual": bool, "frozen": bool, "skipping": bool}`. Moving the system clock (a server
//! without `--virtual-clock`) is a `ValidationException`.
//!
//! Must not: hold state of its own; the clock is the engine's (`runtime/clock.rs`).

use crate::app::App;
use crate::runtime::clock::ClockStatus;
use cairn_api::ApiError;
use serde_json::{json, Value};

/// The prefix of clock targets.
pub const PREFIX: &str = "CairnClock.";

/// Answer one clock call (`target` includes the prefix).
pub async fn call(app: &App, target: &str, body: &[u8]) -> Result<Value, ApiError> {
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::serialization(format!("Malformed JSON request body: {e}")))?
    };
    if !input.is_object() {
        return Err(ApiError::serialization(
            "The request body must be a JSON object",
        ));
    }
    let clock = &app.engine.clock;
    let moved = match target.strip_prefix(PREFIX).unwrap_or_default() {
        "GetTime" => Ok(clock.now_ms()),
        "Advance" => clock.advance(advance_ms(&input)?),
        "Freeze" => clock.freeze(),
        "Resume" => clock.resume(),
        _ => {
            return Err(ApiError::unknown_operation(format!(
                "Operation is not supported: '{target}'"
            )))
        }
    };
    moved.map_err(|e| ApiError::validation(e.to_string()))?;
    Ok(encode(clock.status()))
}

/// `seconds` (a number, fractions allowed) or `milliseconds` (an integer), exactly one.
fn advance_ms(input: &Value) -> Result<i64, ApiError> {
    let ms =
        match (input.get("seconds"), input.get("milliseconds")) {
            (Some(s), None) => s
                .as_f64()
                .filter(|s| s.is_finite() && s.abs() < 1e12)
                .map(|s| (s * 1000.0).round() as i64),
            (None, Some(ms)) => ms.as_i64(),
            _ => return Err(ApiError::validation(
                "Advance takes exactly one of 'seconds' (a number) or 'milliseconds' (an integer)",
            )),
        };
    ms.ok_or_else(|| {
        ApiError::validation("'seconds' must be a number and 'milliseconds' an integer")
    })
}

fn encode(s: ClockStatus) -> Value {
    json!({
        "time": s.now_ms as f64 / 1000.0,
        "timeMillis": s.now_ms,
        "virtual": s.is_virtual,
        "frozen": s.frozen,
        "skipping": s.skipping,
    })
}
