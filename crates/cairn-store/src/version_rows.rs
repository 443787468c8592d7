//! The row shape of the version and alias tables, shared by the SQLite and PostgreSQL
//! backends (`sqlite/versions.rs`, `postgres/versions.rs`): the column lists their
//! `SELECT`s read in this order, and how an alias's one or two routes map to the
//! `route1_*` / `route2_*` columns and back.
//!
//! Owns only that shape. Must not: run queries, or know either backend's value types (each
//! reads its cells itself; PostgreSQL keeps weights as `integer`, SQLite as `INTEGER`).

use crate::records::AliasRecord;
use crate::{Result, StoreError};

/// The columns of `state_machine_versions`, in the order the backends' row mappings read.
pub(crate) const VERSION_COLUMNS: &str = "seq, arn, machine_arn, version, definition, role_arn, \
    revision_id, description, creation_date_ms, logging_configuration, \
    tracing_configuration, encryption_configuration";

/// The columns of `state_machine_aliases`, in the order the backends' row mappings read.
pub(crate) const ALIAS_COLUMNS: &str = "seq, arn, machine_arn, name, description, \
    route1_version, route1_weight, route2_version, route2_weight, creation_date_ms, \
    update_date_ms";

/// One route's columns: version ARN and weight (both `NULL` for an absent second route).
pub(crate) type RouteColumns<'a> = (Option<&'a str>, Option<u32>);

/// The `route1_*` and `route2_*` columns of an alias; an alias routes to one or two versions.
pub(crate) fn route_columns(alias: &AliasRecord) -> Result<[RouteColumns<'_>; 2]> {
    if alias.routes.is_empty() || alias.routes.len() > 2 {
        return Err(StoreError::Database(format!(
            "alias {} must route to one or two versions",
            alias.arn
        )));
    }
    let at = |i: usize| match alias.routes.get(i) {
        Some((v, w)) => (Some(v.as_str()), Some(*w)),
        None => (None, None),
    };
    Ok([at(0), at(1)])
}

/// An alias's routes from its columns (a second route without a weight weighs 0).
pub(crate) fn routes_from_columns(
    route1: (String, u32),
    route2: (Option<String>, Option<u32>),
) -> Vec<(String, u32)> {
    let mut routes = vec![route1];
    if let (Some(v), w) = route2 {
        routes.push((v, w.unwrap_or(0)));
    }
    routes
}
