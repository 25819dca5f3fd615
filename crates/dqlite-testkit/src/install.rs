//! Installing and locating the two dqlite servers the project tests against.
//!
//! * **1.11**: Debian 12's `go-dqlite` 1.11.5 (`/usr/bin/dqlite-demo`) on `libdqlite0`
//!   1.11.1, plus `libdqlite-dev` for the C node. Installed with apt-get (root only).
//! * **1.18**: Debian 13's `go-dqlite` 2.0.0 on `libdqlite0` 1.18.1, never installed: the
//!   `.deb`s are fetched with a private apt configuration pointed at the `trixie` suite of
//!   the system's own mirror and unpacked (with Debian 13's C library and dynamic loader)
//!   into `<cache>/trixie/root`. Programs run through the unpacked loader, see
//!   [`Installation::command`].

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::util::{is_root, run_command};

/// Environment variable selecting the server version for tests (`1.11` or `1.18`).
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

/// Bumped when the layout of the unpacked tree changes, to force a fresh install.
const TRIXIE_LAYOUT: &str = "layout 1";

/// A dqlite server version the test kit can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerVersion {
    /// Debian 12: libdqlite 1.11.1 with go-dqlite 1.11.5's dqlite-demo (no TLS flags).
    #[default]
    V1_11,
    /// Debian 13: libdqlite 1.18.1 with go-dqlite 2.0.0's dqlite-demo (supports TLS).
    V1_18,
}

impl ServerVersion {
    /// Both versions, oldest first.
    pub const ALL: [ServerVersion; 2] = [ServerVersion::V1_11, ServerVersion::V1_18];

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

    /// "1.11" or "1.18".
    pub fn as_str(self) -> &'static str {
        match self {
            ServerVersion::V1_11 => "1.11",
            ServerVersion::V1_18 => "1.18",
        }
    }

    /// Whether this version's dqlite-demo accepts `--cert`/`--key`.
    pub fn supports_tls(self) -> bool {
        self == ServerVersion::V1_18
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
    /// For 1.18: the unpacked Debian 13 tree (`<cache>/trixie/root`); `None` for 1.11.
    pub root: Option<PathBuf>,
}

impl Installation {
    /// The installation of `version` if it is complete; never installs anything.
    pub fn find(version: ServerVersion) -> Result<Self> {
        match version {
            ServerVersion::V1_11 => {
                let missing = missing_1_11();
                if missing.is_empty() {
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
                }
            }
            ServerVersion::V1_18 => {
                let dir = trixie_dir();
                if trixie_complete(&dir) {
                    let root = dir.join("root");
                    Ok(Installation {
                        version,
                        demo: root.join("usr/bin/dqlite-demo"),
                        root: Some(root),
                    })
                } else {
                    Err(Error::NotInstalled {
                        version: "1.18",
                        detail: format!(
                            "{} is missing or incomplete; run `dqlite-testkit install --server 1.18`",
                            dir.display()
                        ),
                    })
                }
            }
        }
    }

    /// A command that runs `program` (a path) against this installation's libraries:
    /// directly for 1.11, through Debian 13's unpacked dynamic loader with its library
    /// directory for 1.18.
    pub fn command(&self, program: &Path) -> Command {
        match &self.root {
            None => Command::new(program),
            Some(root) => {
                let mut cmd = Command::new(loader(root));
                cmd.arg("--library-path").arg(lib_dir(root)).arg(program);
                cmd
            }
        }
    }

    /// A command that runs this installation's `dqlite-demo`.
    pub fn demo_command(&self) -> Command {
        self.command(&self.demo)
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

fn trixie_dir() -> PathBuf {
    cache_dir().join("trixie")
}

fn loader(root: &Path) -> PathBuf {
    root.join("usr/lib64/ld-linux-x86-64.so.2")
}

fn lib_dir(root: &Path) -> PathBuf {
    root.join("usr/lib/x86_64-linux-gnu")
}

fn stamp_contents() -> String {
    format!("{TRIXIE_LAYOUT}\n{}\n", TRIXIE_PACKAGES.join(" "))
}

fn trixie_complete(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("stamp")).is_ok_and(|s| s == stamp_contents())
        && loader(&dir.join("root")).exists()
        && dir.join("root/usr/bin/dqlite-demo").exists()
}

/// Installs `version` if needed (instant when already installed) and returns it.
pub fn install(version: ServerVersion) -> Result<Installation> {
    match version {
        ServerVersion::V1_11 => install_1_11()?,
        ServerVersion::V1_18 => install_1_18()?,
    }
    Installation::find(version)
}

/// Installs both versions.
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

/// The Debian mirror the system uses: `$DQLITE_TESTKIT_MIRROR`, else the first non-security
/// `URIs:` of `/etc/apt/sources.list.d/*.sources`, else the first `deb` line of
/// `/etc/apt/sources.list` (and its `.d/*.list`), else `http://deb.debian.org/debian`.
pub fn debian_mirror() -> String {
    if let Ok(mirror) = std::env::var("DQLITE_TESTKIT_MIRROR")
        && !mirror.trim().is_empty()
    {
        return mirror.trim().to_owned();
    }
    let mut deb822 = Vec::new();
    let mut one_line = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths {
            match path.extension().and_then(|e| e.to_str()) {
                Some("sources") => deb822.push(path),
                Some("list") => one_line.push(path),
                _ => {}
            }
        }
    }
    let usable = |uri: &str| {
        (uri.starts_with("http://") || uri.starts_with("https://")) && !uri.contains("security")
    };
    for path in &deb822 {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("URIs:")
                && let Some(uri) = rest.split_whitespace().find(|u| usable(u))
            {
                return uri.trim_end_matches('/').to_owned();
            }
        }
    }
    for path in &one_line {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("deb") {
                continue;
            }
            // Skip an options block: `deb [arch=amd64 signed-by=...] URI suite ...`.
            if let Some(uri) = words.find(|w| usable(w)) {
                return uri.trim_end_matches('/').to_owned();
            }
        }
    }
    "http://deb.debian.org/debian".to_owned()
}

fn install_1_18() -> Result<()> {
    let dir = trixie_dir();
    if trixie_complete(&dir) {
        return Ok(());
    }
    let parent = cache_dir();
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let work = parent.join(format!("trixie.tmp-{}-{nanos}", std::process::id()));
    let result = build_trixie_tree(&work);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&work);
        return Err(e);
    }
    // Publish atomically. Another process may have finished first: then keep its tree.
    if dir.exists() && !trixie_complete(&dir) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    if let Err(e) = std::fs::rename(&work, &dir) {
        let _ = std::fs::remove_dir_all(&work);
        if !trixie_complete(&dir) {
            return Err(Error::io(
                format!("rename {} to {}", work.display(), dir.display()),
                e,
            ));
        }
    }
    Ok(())
}

/// Downloads and unpacks the Debian 13 packages into `work/root`, checks that every
/// library dqlite-demo loads comes from that tree, and writes the stamp.
fn build_trixie_tree(work: &Path) -> Result<()> {
    let mkdir = |p: &Path| {
        std::fs::create_dir_all(p).map_err(|e| Error::io(format!("create {}", p.display()), e))
    };
    let write = |p: &Path, s: &str| {
        std::fs::write(p, s).map_err(|e| Error::io(format!("write {}", p.display()), e))
    };
    let etc = work.join("etc");
    let lists = work.join("lists");
    let apt_cache = work.join("apt-cache");
    let debs = work.join("debs");
    let root = work.join("root");
    for d in [
        &etc,
        &lists.join("partial"),
        &apt_cache.join("archives/partial"),
        &debs,
        &root,
    ] {
        mkdir(d)?;
    }
    let mirror = debian_mirror();
    let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    let options = if Path::new(keyring).exists() {
        format!("[signed-by={keyring}] ")
    } else {
        String::new()
    };
    let sources = etc.join("sources.list");
    write(&sources, &format!("deb {options}{mirror} trixie main\n"))?;
    let status = work.join("status");
    write(&status, "")?;
    eprintln!("dqlite-testkit: fetching dqlite 1.18 (Debian 13) from {mirror}");

    let apt = |args: &[&str]| {
        let mut cmd = Command::new("apt-get");
        let opt = |name: &str, value: &Path| {
            let mut s = OsString::from(format!("{name}="));
            s.push(value);
            s
        };
        cmd.arg("-q")
            .arg("-o")
            .arg(opt("Dir::Etc::SourceList", &sources))
            .args(["-o", "Dir::Etc::SourceParts=/dev/null"])
            .arg("-o")
            .arg(opt("Dir::State::Lists", &lists))
            .arg("-o")
            .arg(opt("Dir::Cache", &apt_cache))
            .arg("-o")
            .arg(opt("Dir::State::Status", &status))
            .args(["-o", "Debug::NoLocking=1"])
            .args(["-o", "Acquire::Languages=none"])
            .args([
                "-o",
                "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false",
            ])
            .args([
                "-o",
                "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false",
            ])
            .args([
                "-o",
                "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false",
            ])
            .args([
                "-o",
                "Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled=false",
            ])
            .args(args)
            .current_dir(&debs)
            .env("DEBIAN_FRONTEND", "noninteractive");
        if is_root() {
            // The files are ours (root's); apt's _apt sandbox user could not write them.
            cmd.args(["-o", "APT::Sandbox::User=root"]);
        }
        cmd
    };
    run_command(&mut apt(&["update"]))?;
    let mut download = vec!["download"];
    download.extend_from_slice(TRIXIE_PACKAGES);
    run_command(&mut apt(&download))?;

    let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)
        .map_err(|e| Error::io(format!("list {}", debs.display()), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    files.sort();
    if files.len() != TRIXIE_PACKAGES.len() {
        return Err(Error::NotInstalled {
            version: "1.18",
            detail: format!(
                "apt-get download fetched {} .debs for {} packages",
                files.len(),
                TRIXIE_PACKAGES.len()
            ),
        });
    }
    for deb in &files {
        run_command(Command::new("dpkg").arg("-x").arg(deb).arg(&root))?;
    }

    // Every library must resolve inside the unpacked tree, not from the host.
    let demo = root.join("usr/bin/dqlite-demo");
    let listing = run_command(
        Command::new(loader(&root))
            .arg("--library-path")
            .arg(lib_dir(&root))
            .arg("--list")
            .arg(&demo),
    )?;
    let root_text = root.to_string_lossy().into_owned();
    let outside: Vec<&str> = listing
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("not found") || (l.contains("=> /") && !l.contains(&root_text)))
        .collect();
    if !outside.is_empty() {
        return Err(Error::NotInstalled {
            version: "1.18",
            detail: format!(
                "dqlite-demo needs libraries that are not in {TRIXIE_PACKAGES:?}: {}",
                outside.join("; ")
            ),
        });
    }
    // And the binary must actually start.
    run_command(
        Command::new(loader(&root))
            .arg("--library-path")
            .arg(lib_dir(&root))
            .arg(&demo)
            .arg("--help"),
    )?;

    // The downloaded indexes are large and no longer needed.
    let _ = std::fs::remove_dir_all(&lists);
    let _ = std::fs::remove_dir_all(&apt_cache);
    write(&work.join("stamp"), &stamp_contents())
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
        assert!("1.12".parse::<ServerVersion>().is_err());
    }

    #[test]
    fn cache_dir_is_under_the_workspace() {
        if std::env::var_os(CACHE_ENV).is_none() {
            assert!(cache_dir().ends_with(".cache/dqlite-testkit"));
        }
    }
}
