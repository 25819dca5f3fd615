//! Which cluster the shell talks to, and how: from `-s` (an address list, a `dqlite://`
//! connection string, or go-dqlite's `file://STORE`), `--store`, the `DQLITE_*`
//! variables, and the flags that override them (database, `--timeout`, TLS files).

use std::path::PathBuf;
use std::time::Duration;

use dqlite_client::blocking::Cluster;
use dqlite_client::{Config, FileNodeStore, NodeStore, TlsConfig, open_go_store};

use crate::cli::Args;
use crate::error::ShellError;

/// The prefix of go-dqlite's node store argument.
const STORE_PREFIX: &str = "file://";

/// Where the shell keeps the cluster's members, if anywhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFile {
    /// `--store FILE`: this shell's text format.
    Text(PathBuf),
    /// `-s file://PATH`: go-dqlite's YAML or SQLite store.
    GoDqlite(PathBuf),
}

impl StoreFile {
    /// Opens the store (each call returns a new handle on the same file).
    pub fn open(&self) -> Result<Box<dyn NodeStore>, ShellError> {
        Ok(match self {
            StoreFile::Text(path) => Box::new(FileNodeStore::new(path)),
            StoreFile::GoDqlite(path) => open_go_store(path)?,
        })
    }
}

/// The cluster, its configuration and its store, as the arguments describe them.
#[derive(Debug)]
pub struct Target {
    /// The cluster to connect to.
    pub cluster: Cluster,
    /// Its configuration (for connections to one named node).
    pub config: Config,
    /// The store that `.cluster` refreshes, if any.
    pub store: Option<StoreFile>,
}

/// Builds the target from the arguments and the environment.
pub fn resolve(args: &Args) -> Result<Target, ShellError> {
    let servers: Vec<&str> = args
        .servers
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let whole_string = |s: &&str| go_store(s).is_some() || s.contains("://");
    if servers.len() > 1 && servers.iter().any(whole_string) {
        return Err(ShellError::usage(
            "a node store (file://...) or a connection string (dqlite://...) cannot be \
             mixed with other servers",
        ));
    }
    let mut text = servers.join(",");
    let mut store = servers.first().and_then(|s| go_store(s));
    if let Some(path) = &args.store {
        if store.is_some() {
            return Err(ShellError::usage(
                "give either --store FILE or -s file://STORE, not both",
            ));
        }
        if text.is_empty() {
            text = FileNodeStore::new(path)
                .get()?
                .into_iter()
                .map(|n| n.address)
                .collect::<Vec<_>>()
                .join(",");
        }
        store = Some(StoreFile::Text(path.clone()));
    }
    if text.is_empty() {
        let env = std::env::var("DQLITE_SERVERS").unwrap_or_default();
        let env = env.trim();
        if env.is_empty() {
            return Err(ShellError::usage(
                "no node to connect to: give -s host:port,... (or dqlite://..., or \
                 file://STORE), set DQLITE_SERVERS, or give --store FILE",
            ));
        }
        store = go_store(env);
    }
    let mut config = Config::parse_with_env(&text)?;
    if let Some(name) = args.database() {
        config = config.database(name);
    }
    if let Some(timeout) = args.timeout {
        config = config
            .request_timeout(timeout)
            .connect_timeout(timeout)
            .dial_timeout(timeout.min(Duration::from_secs(5)));
    }
    if let Some(ca) = args.ca.as_deref().or(args.cert.as_deref()) {
        let identity = args.cert.as_deref().zip(args.key.as_deref());
        config = config.tls(TlsConfig::from_pem_files(ca, identity)?);
    }
    let cluster = match &store {
        Some(file) => Cluster::from_async(dqlite_client::Cluster::with_store(
            config.clone(),
            file.open()?,
        )),
        None => Cluster::new(config.clone())?,
    };
    Ok(Target {
        cluster,
        config,
        store,
    })
}

/// The go-dqlite store named by `file://PATH`, if `server` is one.
fn go_store(server: &str) -> Option<StoreFile> {
    server
        .strip_prefix(STORE_PREFIX)
        .map(|path| StoreFile::GoDqlite(PathBuf::from(path)))
}
