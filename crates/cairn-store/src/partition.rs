//! Which partition an execution belongs to. Executions are spread over [`PARTITIONS`]
//! partitions by their ARN; with several nodes, a node advances the executions of the
//! partitions it holds a lease on (see `cluster`). The value is stored in the database, so
//! [`partition_of`] must never change.

/// How many partitions executions are spread over.
pub const PARTITIONS: i16 = 256;

/// The partition of an execution: FNV-1a (32 bit) of the ARN's bytes, modulo [`PARTITIONS`].
/// Stable across versions, platforms and nodes.
pub fn partition_of(execution_arn: &str) -> i16 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in execution_arn.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    (hash % PARTITIONS as u32) as i16
}
