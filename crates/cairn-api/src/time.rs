//! Timestamps on the wire: JSON numbers of epoch seconds with a fractional part
//! (`1700000000.123`), as AWS JSON 1.0 sends them.

use serde_json::{Number, Value};

/// Epoch milliseconds → epoch seconds with millisecond fraction.
pub fn epoch_seconds(ms: i64) -> Value {
    let secs = ms as f64 / 1000.0;
    Number::from_f64(secs)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_become_fractional_seconds() {
        assert_eq!(
            epoch_seconds(1_700_000_000_123).to_string(),
            "1700000000.123"
        );
        assert_eq!(
            epoch_seconds(1_700_000_000_000).as_f64(),
            Some(1_700_000_000.0)
        );
    }
}
