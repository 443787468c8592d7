//! Several nodes on one shared store (PostgreSQL): who owns which executions
//! ([`ownership`]), the loop that keeps the leases ([`keeper`]), and the forwarding of inputs
//! to the owning node ([`peers`]). A single node on SQLite uses [`Ownership::single`] and
//! none of the rest.

pub mod keeper;
pub mod ownership;
pub mod peers;

pub use keeper::Keeper;
pub use ownership::{NodeIdentity, Ownership, Route};
pub use peers::Peers;
