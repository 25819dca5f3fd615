//! Node stores in go-dqlite's file formats, so that a go-dqlite deployment's store (the
//! `cluster.yaml` of a node's data directory, or the SQLite file an application keeps)
//! can seed a [`Cluster`](crate::Cluster), and be kept up to date by it.
//!
//! [`open_go_store`] picks the format by the file name as go-dqlite's
//! `client.DefaultNodeStore` does (and so its `dqlite -s file://NAME` shell): a name that
//! ends in `.yaml` is a [`YamlNodeStore`], anything else a [`SqliteNodeStore`] (with the
//! `sqlite-store` feature).

#[cfg(feature = "sqlite-store")]
mod sqlite;
mod yaml;

use std::path::Path;

use crate::cluster::NodeStore;
use crate::error::{Error, Result};

#[cfg(feature = "sqlite-store")]
pub use sqlite::SqliteNodeStore;
pub use yaml::YamlNodeStore;

/// The largest store file read: a node store holds a few lines per node.
const MAX_STORE_BYTES: u64 = 1 << 20;

/// Opens the go-dqlite node store at `path`, choosing the format as go-dqlite does: YAML
/// when the name ends in `.yaml`, SQLite otherwise (created with its `servers` table when
/// missing, as go-dqlite does). Without the `sqlite-store` feature, a name not ending in
/// `.yaml` is a configuration error.
pub fn open_go_store(path: impl AsRef<Path>) -> Result<Box<dyn NodeStore>> {
    let path = path.as_ref();
    if path.to_string_lossy().ends_with(".yaml") {
        return Ok(Box::new(YamlNodeStore::new(path)));
    }
    #[cfg(feature = "sqlite-store")]
    {
        Ok(Box::new(SqliteNodeStore::open(path)?))
    }
    #[cfg(not(feature = "sqlite-store"))]
    {
        Err(store_error(
            path,
            "an SQLite node store needs dqlite-client's `sqlite-store` feature \
             (a name ending in .yaml is a YAML store)",
        ))
    }
}

/// A configuration error naming the store's file.
pub(crate) fn store_error(path: &Path, what: &str) -> Error {
    Error::Config(format!("node store {}: {what}", path.display()))
}

/// The text of a store file, `None` when it does not exist. Refuses files over 1 MiB.
fn read_store_file(path: &Path) -> Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(store_error(path, &e.to_string())),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_STORE_BYTES + 1),
        &mut bytes,
    )
    .map_err(|e| store_error(path, &e.to_string()))?;
    if bytes.len() as u64 > MAX_STORE_BYTES {
        return Err(store_error(
            path,
            &format!("larger than {MAX_STORE_BYTES} bytes: not a node store"),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| store_error(path, "not UTF-8 text"))
}

/// Replaces `path` with `bytes` atomically ([`crate::file::write_atomically`]), with mode
/// 0600 as go-dqlite writes its store; an error names the store's file.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::file::write_atomically(path, bytes, Some(0o600))
        .map_err(|e| store_error(path, &e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{NodeInfo, Role};

    #[test]
    fn yaml_store_writes_atomically_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cluster.yaml");
        let store = open_go_store(&path).unwrap();
        assert!(store.get().unwrap().is_empty(), "a missing file is empty");
        let nodes = vec![NodeInfo {
            id: 1,
            address: "127.0.0.1:9001".into(),
            role: Some(Role::Voter),
        }];
        store.set(nodes.clone()).unwrap();
        assert_eq!(store.get().unwrap(), nodes);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["cluster.yaml"], "no temporary file left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A store in a directory that does not exist cannot be written, and says where.
        let lost = open_go_store(dir.path().join("no/such/dir/cluster.yaml")).unwrap();
        let err = lost.set(nodes).unwrap_err();
        assert!(err.to_string().contains("no/such/dir"), "{err}");
    }

    #[test]
    fn oversized_or_binary_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.yaml");
        std::fs::write(&path, vec![b'#'; 2 << 20]).unwrap();
        assert!(matches!(
            YamlNodeStore::new(&path).get(),
            Err(Error::Config(m)) if m.contains("larger than")
        ));
        std::fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
        assert!(matches!(
            YamlNodeStore::new(&path).get(),
            Err(Error::Config(m)) if m.contains("UTF-8")
        ));
    }
}
