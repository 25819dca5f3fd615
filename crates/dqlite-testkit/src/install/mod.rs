//! Installing and locating the dqlite servers the project tests against, and the unpacked
//! Python 3.13 some Python suites need.
//!
//! * **1.11**: Debian 12's `go-dqlite` 1.11.5 (`/usr/bin/dqlite-demo`) on `libdqlite0`
//!   1.11.1, plus `libdqlite-dev` for the C node. Installed with apt-get (root only).
//! * **1.18**: Debian 13's `go-dqlite` 2.0.0 on `libdqlite0` 1.18.1, never installed: the
//!   `.deb`s are fetched with a private apt configuration pointed at the `trixie` suite of
//!   the system's own mirror and unpacked (with Debian 13's C library and dynamic loader)
//!   into `<cache>/trixie/root`. Programs run through the unpacked loader, see
//!   [`Installation::command`].
//! * **latest**: the newest dqlite Debian has, from `sid` (unstable) the same way, into
//!   `<cache>/sid/root` (`libdqlite0` 1.18.7 with `go-dqlite` 3.0.4 when this was written;
//!   [`Installation::package_versions`] says what was fetched). sid moves: a fresh cache
//!   fetches whatever sid carries that day.
//!
//! The unpacked trees are described in [`debian`]; Debian 13's Python 3.13 in [`python`].

mod debian;
mod python;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::util::{is_root, run_command};
use debian::Tree;

pub use debian::debian_mirror;
pub use python::{PYTHON_PACKAGES, find_python, install_python, python_package_version};

/// Environment variable selecting the server version for tests (`1.11`, `1.18` or
/// `latest`).
pub const VERSION_ENV: &str = "DQLITE_SERVER_VERSION";
/// Environment variable overriding the cache directory (default
/// `<workspace>/.cache/dqlite-testkit`).
pub const CACHE_ENV: &str = "DQLITE_TESTKIT_CACHE";

/// Debian 13 packages unpacked for the 1.18 server: dqlite-demo and everything it loads,
/// including the C library and loader (Debian 12's glibc is too old for these binaries).
pub const TRIXIE_PACKAGES: &[&str] = &[
    "go-dqlite",
    "libdqlite0",
    "liblz4-1",
    "libsqlite3-0",
    "libuv1t64",
    "libxxhash0",
    "libc6",
];

/// Debian unstable (sid) packages unpacked for the `latest` server; sid's `libdqlite0`
/// also needs `libgcc-s1`.
pub const SID_PACKAGES: &[&str] = &[
    "go-dqlite",
    "libdqlite0",
    "liblz4-1",
    "libsqlite3-0",
    "libuv1t64",
    "libxxhash0",
    "libgcc-s1",
    "libc6",
];

const TRIXIE_TREE: Tree = Tree {
    name: "trixie",
    suite: "trixie",
    what: "dqlite 1.18 (Debian 13)",
    version: "1.18",
    packages: TRIXIE_PACKAGES,
    program: "usr/bin/dqlite-demo",
    check_args: &["--help"],
    stamp_extra: "",
    relocate: None,
    check: None,
};

const SID_TREE: Tree = Tree {
    name: "sid",
    suite: "sid",
    what: "the newest dqlite (Debian unstable)",
    version: "latest",
    packages: SID_PACKAGES,
    program: "usr/bin/dqlite-demo",
    check_args: &["--help"],
    stamp_extra: "",
    relocate: None,
    check: None,
};

/// A dqlite server version the test kit can run. Ordered oldest first, so
/// `version >= ServerVersion::V1_18` reads "1.18 or newer".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ServerVersion {
    /// Debian 12: libdqlite 1.11.1 with go-dqlite 1.11.5's dqlite-demo (no TLS flags).
    #[default]
    V1_11,
    /// Debian 13: libdqlite 1.18.1 with go-dqlite 2.0.0's dqlite-demo (supports TLS).
    V1_18,
    /// Debian unstable's newest: libdqlite 1.18.7 with go-dqlite 3.0.4's dqlite-demo when
    /// this was written (same flags as 2.0.0, TLS included). Named `latest`.
    Latest,
}

impl ServerVersion {
    /// Every version, oldest first.
    pub const ALL: [ServerVersion; 3] = [
        ServerVersion::V1_11,
        ServerVersion::V1_18,
        ServerVersion::Latest,
    ];

    /// The version named by `DQLITE_SERVER_VERSION`; 1.11 when unset or empty.
    ///
    /// An unknown value is an error, so a typo cannot silently test the wrong server.
    pub fn try_from_env() -> Result<Self> {
        match std::env::var(VERSION_ENV) {
            Ok(value) if !value.trim().is_empty() => value.parse(),
            _ => Ok(ServerVersion::V1_11),
        }
    }

    /// Like [`ServerVersion::try_from_env`], but falls back to 1.11 on an unknown value
    /// (after printing a warning to stderr). Convenient in test code.
    pub fn from_env() -> Self {
        Self::try_from_env().unwrap_or_else(|e| {
            eprintln!("dqlite-testkit: {e}; using 1.11");
            ServerVersion::V1_11
        })
    }

    /// "1.11", "1.18" or "latest": the name `DQLITE_SERVER_VERSION` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerVersion::V1_11 => "1.11",
            ServerVersion::V1_18 => "1.18",
            ServerVersion::Latest => "latest",
        }
    }

    /// The oldest `libdqlite` release this version can be: exact for 1.11 (1.11.1) and
    /// 1.18 (1.18.1), a lower bound for `latest` (1.18.7, what sid had when it was added).
    /// For tests whose expectations changed in a server release:
    /// `version.min_library() >= (1, 18, 2)`.
    pub fn min_library(self) -> (u32, u32, u32) {
        match self {
            ServerVersion::V1_11 => (1, 11, 1),
            ServerVersion::V1_18 => (1, 18, 1),
            ServerVersion::Latest => (1, 18, 7),
        }
    }

    /// Whether this version's dqlite-demo accepts `--cert`/`--key`.
    pub fn supports_tls(self) -> bool {
        self >= ServerVersion::V1_18
    }

    fn tree(self) -> Option<&'static Tree> {
        match self {
            ServerVersion::V1_11 => None,
            ServerVersion::V1_18 => Some(&TRIXIE_TREE),
            ServerVersion::Latest => Some(&SID_TREE),
        }
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServerVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "1.11" | "1.11.1" | "v1.11" => Ok(ServerVersion::V1_11),
            "1.18" | "1.18.1" | "v1.18" => Ok(ServerVersion::V1_18),
            "latest" | "sid" | "unstable" | "newest" => Ok(ServerVersion::Latest),
            other => Err(Error::UnknownVersion(other.to_owned())),
        }
    }
}

/// The test kit's cache directory: `$DQLITE_TESTKIT_CACHE`, or `.cache/dqlite-testkit`
/// under the workspace root this crate was compiled in.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(CACHE_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            // crates/dqlite-testkit -> the workspace root.
            let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
            let workspace = manifest.ancestors().nth(2).unwrap_or(manifest);
            workspace.join(".cache/dqlite-testkit")
        }
    }
}

/// Where a server version's programs are and how to run them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// Which version this is.
    pub version: ServerVersion,
    /// The `dqlite-demo` binary.
    pub demo: PathBuf,
    /// For 1.18 and latest: the unpacked Debian tree (`<cache>/trixie/root`,
    /// `<cache>/sid/root`); `None` for 1.11.
    pub root: Option<PathBuf>,
}

impl Installation {
    /// The installation of `version` if it is complete; never installs anything.
    pub fn find(version: ServerVersion) -> Result<Self> {
        let Some(tree) = version.tree() else {
            let missing = missing_1_11();
            return if missing.is_empty() {
                Ok(Installation {
                    version,
                    demo: PathBuf::from(DEMO_1_11),
                    root: None,
                })
            } else {
                Err(Error::NotInstalled {
                    version: "1.11",
                    detail: format!("missing {}", missing.join(", ")),
                })
            };
        };
        if tree.complete() {
            Ok(Installation {
                version,
                demo: tree.program_path(),
                root: Some(tree.root()),
            })
        } else {
            Err(Error::NotInstalled {
                version: tree.version,
                detail: format!(
                    "{} is missing or incomplete; run `dqlite-testkit install --server {version}`",
                    tree.dir().display()
                ),
            })
        }
    }

    /// A command that runs `program` (a path) against this installation's libraries:
    /// directly for 1.11, through the unpacked tree's dynamic loader with its library
    /// directory for the others.
    pub fn command(&self, program: &Path) -> Command {
        match &self.root {
            None => Command::new(program),
            Some(root) => debian::command_in(root, program),
        }
    }

    /// A command that runs this installation's `dqlite-demo`.
    pub fn demo_command(&self) -> Command {
        self.command(&self.demo)
    }

    /// The Debian package versions of `libdqlite0` and `go-dqlite`, e.g.
    /// `libdqlite0 1.18.7-1, go-dqlite 3.0.4-1+b1` (from dpkg for 1.11).
    pub fn package_versions(&self) -> String {
        let version_of = |package: &str| match self.version.tree() {
            Some(tree) => tree.package_version(package),
            None => {
                run_command(Command::new("dpkg-query").args(["-W", "-f=${Version}", package])).ok()
            }
        };
        ["libdqlite0", "go-dqlite"]
            .iter()
            .map(|p| format!("{p} {}", version_of(p).unwrap_or_else(|| "?".into())))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const DEMO_1_11: &str = "/usr/bin/dqlite-demo";
const HEADER_1_11: &str = "/usr/include/dqlite.h";

fn missing_1_11() -> Vec<&'static str> {
    [DEMO_1_11, HEADER_1_11]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect()
}

/// Installs `version` if needed (instant when already installed) and returns it.
pub fn install(version: ServerVersion) -> Result<Installation> {
    match version.tree() {
        None => install_1_11()?,
        Some(tree) => tree.ensure()?,
    }
    Installation::find(version)
}

/// Installs every version.
pub fn install_all() -> Result<Vec<Installation>> {
    ServerVersion::ALL.into_iter().map(install).collect()
}

fn install_1_11() -> Result<()> {
    let missing = missing_1_11();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(Error::NotRoot(format!(
            "dqlite 1.11 is not installed (missing {}): it needs `apt-get install go-dqlite libdqlite-dev`, which needs root",
            missing.join(", ")
        )));
    }
    eprintln!("dqlite-testkit: installing go-dqlite and libdqlite-dev with apt-get");
    run_command(
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    run_command(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "go-dqlite", "libdqlite-dev"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    let still = missing_1_11();
    if still.is_empty() {
        Ok(())
    } else {
        Err(Error::NotInstalled {
            version: "1.11",
            detail: format!(
                "apt-get install succeeded but {} is missing",
                still.join(", ")
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            "1.11".parse::<ServerVersion>().unwrap(),
            ServerVersion::V1_11
        );
        assert_eq!(
            " 1.18 ".parse::<ServerVersion>().unwrap(),
            ServerVersion::V1_18
        );
        assert_eq!(
            "latest".parse::<ServerVersion>().unwrap(),
            ServerVersion::Latest
        );
        assert_eq!(
            "sid".parse::<ServerVersion>().unwrap(),
            ServerVersion::Latest
        );
        assert!("1.12".parse::<ServerVersion>().is_err());
        for version in ServerVersion::ALL {
            assert_eq!(version.as_str().parse::<ServerVersion>().unwrap(), version);
        }
    }

    #[test]
    fn versions_are_ordered_oldest_first() {
        assert!(ServerVersion::V1_11 < ServerVersion::V1_18);
        assert!(ServerVersion::V1_18 < ServerVersion::Latest);
        assert!(!ServerVersion::V1_11.supports_tls());
        assert!(ServerVersion::V1_18.supports_tls() && ServerVersion::Latest.supports_tls());
        assert!(ServerVersion::Latest.min_library() >= (1, 18, 2));
        assert!(ServerVersion::V1_18.min_library() < (1, 18, 2));
    }

    #[test]
    fn cache_dir_is_under_the_workspace() {
        if std::env::var_os(CACHE_ENV).is_none() {
            assert!(cache_dir().ends_with(".cache/dqlite-testkit"));
        }
    }
}
