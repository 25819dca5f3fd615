//! go-dqlite's YAML node store (`cluster.yaml`) for `dqliteclient.YamlNodeStore`, on
//! `dqlite_client::YamlNodeStore`: the same reader (keys in any case, role names or
//! numbers) and writer (go-dqlite's bytes, atomic replace, mode 0600) as the Rust client
//! and the shell.

use dqlite_client::{NodeStore, YamlNodeStore};
use pyo3::prelude::*;

use super::{ClientError, NodeTuple, node_to_tuple, nodes_from_tuples};

/// The members in the YAML store at `path` (empty when the file does not exist), as
/// `(id, address, role)` tuples; a node without a role reads as a voter.
#[pyfunction]
pub(crate) fn yaml_store_read(
    py: Python<'_>,
    path: std::path::PathBuf,
) -> PyResult<Vec<NodeTuple>> {
    crate::exiting::detach(py, || YamlNodeStore::new(path).get())
        .map(|nodes| nodes.into_iter().map(node_to_tuple).collect())
        .map_err(|e| ClientError::from(e).into_pyerr(py))
}

/// Replaces the YAML store at `path` with `nodes` (`(id, address, role)` tuples).
#[pyfunction]
pub(crate) fn yaml_store_write(
    py: Python<'_>,
    path: std::path::PathBuf,
    nodes: Vec<NodeTuple>,
) -> PyResult<()> {
    let nodes = nodes_from_tuples(nodes);
    crate::exiting::detach(py, || YamlNodeStore::new(path).set(nodes))
        .map_err(|e| ClientError::from(e).into_pyerr(py))
}
