//! Unpacked Debian trees: packages of another Debian release, fetched with a private apt
//! configuration from the system's own mirror and unpacked (with that release's C library
//! and dynamic loader) under the cache directory, never installed.
//!
//! A tree lives in `<cache>/<name>/`: `root/` is the unpacked file system, `stamp` marks it
//! complete (it names the layout and the package list, so changing either reinstalls), and
//! `versions` lists the package versions that were fetched. Programs in a tree run through
//! its own loader: [`Tree::command`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::install::cache_dir;
use crate::util::{is_root, run_command};

/// Bumped when the layout of every unpacked tree changes, to force fresh installs.
const LAYOUT: &str = "layout 1";

/// One unpacked Debian tree: which suite, which packages, which program proves it works.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Directory name under the cache directory.
    pub name: &'static str,
    /// Debian suite to fetch from (`trixie`, `sid`).
    pub suite: &'static str,
    /// What the tree is, for messages ("dqlite 1.18 (Debian 13)").
    pub what: &'static str,
    /// The server version name errors report.
    pub version: &'static str,
    /// Packages to download and unpack (each exactly once: no dependency resolution).
    pub packages: &'static [&'static str],
    /// The tree's main program, relative to the root; it must start with `check_args`.
    pub program: &'static str,
    /// Arguments that make `program` exit successfully.
    pub check_args: &'static [&'static str],
    /// Extra text in the stamp (bump it when `relocate` changes).
    pub stamp_extra: &'static str,
    /// Rewrites what the packages hard-code about living in `/` so the tree works where it
    /// will be published: called with the unpacked root and the final root, before
    /// publishing. Then `check` runs (through the loader, on the unpacked root).
    pub relocate: Option<fn(unpacked: &Path, final_root: &Path) -> Result<()>>,
    /// A further check of the unpacked root after `relocate` (through [`command_in`]).
    pub check: Option<fn(unpacked: &Path) -> Result<()>>,
}

impl Tree {
    /// `<cache>/<name>`.
    pub fn dir(&self) -> PathBuf {
        cache_dir().join(self.name)
    }

    /// `<cache>/<name>/root`: the unpacked file system.
    pub fn root(&self) -> PathBuf {
        self.dir().join("root")
    }

    /// The main program's path inside the published tree.
    pub fn program_path(&self) -> PathBuf {
        self.root().join(self.program)
    }

    fn stamp_contents(&self) -> String {
        format!(
            "{LAYOUT}\n{} {}\n{}\n{}\n",
            self.name,
            self.suite,
            self.packages.join(" "),
            self.stamp_extra
        )
    }

    /// Whether the published tree is complete.
    pub fn complete(&self) -> bool {
        let dir = self.dir();
        std::fs::read_to_string(dir.join("stamp")).is_ok_and(|s| s == self.stamp_contents())
            && loader(&dir.join("root")).exists()
            && self.program_path().exists()
    }

    /// The `package version` lines of the published tree (empty if unknown).
    pub fn versions(&self) -> String {
        std::fs::read_to_string(self.dir().join("versions")).unwrap_or_default()
    }

    /// The version of one package of the published tree, if recorded.
    pub fn package_version(&self, package: &str) -> Option<String> {
        self.versions().lines().find_map(|line| {
            let (name, version) = line.split_once(' ')?;
            (name == package).then(|| version.to_owned())
        })
    }

    /// Fetches and unpacks the tree unless it is already complete. Safe to run from
    /// several processes at once: each builds in its own directory and the first to
    /// finish publishes with an atomic rename.
    pub fn ensure(&self) -> Result<()> {
        if self.complete() {
            return Ok(());
        }
        let parent = cache_dir();
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io(format!("create {}", parent.display()), e))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let work = parent.join(format!("{}.tmp-{}-{nanos}", self.name, std::process::id()));
        if let Err(e) = self.build(&work) {
            let _ = std::fs::remove_dir_all(&work);
            return Err(e);
        }
        // Publish atomically. Another process may have finished first: then keep its tree.
        let dir = self.dir();
        if dir.exists() && !self.complete() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        if let Err(e) = std::fs::rename(&work, &dir) {
            let _ = std::fs::remove_dir_all(&work);
            if !self.complete() {
                return Err(Error::io(
                    format!("rename {} to {}", work.display(), dir.display()),
                    e,
                ));
            }
        }
        Ok(())
    }

    /// Downloads and unpacks the packages into `work/root`, relocates and checks the
    /// tree, and writes `versions` and the stamp.
    fn build(&self, work: &Path) -> Result<()> {
        let not_installed = |detail: String| Error::NotInstalled {
            version: self.version,
            detail,
        };
        let debs = work.join("debs");
        let root = work.join("root");
        let apt = PrivateApt::new(work, self.suite)?;
        mkdir(&debs)?;
        mkdir(&root)?;
        eprintln!(
            "dqlite-testkit: fetching {} from {} ({})",
            self.what, apt.mirror, self.suite
        );
        run_command(&mut apt.command(&["update"], &debs))?;
        let mut download = vec!["download"];
        download.extend_from_slice(self.packages);
        run_command(&mut apt.command(&download, &debs))?;

        let mut files: Vec<PathBuf> = std::fs::read_dir(&debs)
            .map_err(|e| Error::io(format!("list {}", debs.display()), e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "deb"))
            .collect();
        files.sort();
        if files.len() != self.packages.len() {
            return Err(not_installed(format!(
                "apt-get download fetched {} .debs for {} packages",
                files.len(),
                self.packages.len()
            )));
        }
        let mut versions = String::new();
        for deb in &files {
            run_command(Command::new("dpkg").arg("-x").arg(deb).arg(&root))?;
            if let Some((name, version)) = deb_name_version(deb) {
                versions.push_str(&format!("{name} {version}\n"));
            }
        }

        if let Some(relocate) = self.relocate {
            relocate(&root, &self.root())?;
        }
        // Every library the program loads must resolve inside the unpacked tree.
        let program = root.join(self.program);
        let listing = run_command(&mut loader_list(&root, &program))?;
        let outside = libraries_outside(&listing, &root);
        if !outside.is_empty() {
            return Err(not_installed(format!(
                "{} needs libraries that are not in {:?}: {}",
                self.program,
                self.packages,
                outside.join("; ")
            )));
        }
        // And the program must actually start.
        run_command(command_in(&root, &program).args(self.check_args))?;
        if let Some(check) = self.check {
            check(&root)?;
        }

        // The packages and the downloaded indexes are large and no longer needed.
        for scratch in [&debs, &work.join("lists"), &work.join("apt-cache")] {
            let _ = std::fs::remove_dir_all(scratch);
        }
        write(&work.join("versions"), &versions)?;
        write(&work.join("stamp"), &self.stamp_contents())
    }
}

/// `ld.so --list PROGRAM` through the tree's loader (dependencies and where they resolve).
fn loader_list(root: &Path, program: &Path) -> Command {
    let mut cmd = Command::new(loader(root));
    cmd.arg("--library-path")
        .arg(lib_dir(root))
        .arg("--list")
        .arg(program);
    cmd
}

/// The lines of an `ld.so --list` output that resolve outside `root` (or not at all).
fn libraries_outside(listing: &str, root: &Path) -> Vec<String> {
    let root_text = root.to_string_lossy().into_owned();
    listing
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("not found") || (l.contains("=> /") && !l.contains(&root_text)))
        .map(str::to_owned)
        .collect()
}

/// A command that runs `program` through the dynamic loader of the tree at `root`, with
/// the tree's library directory first.
pub(crate) fn command_in(root: &Path, program: &Path) -> Command {
    let mut cmd = Command::new(loader(root));
    cmd.arg("--library-path").arg(lib_dir(root)).arg(program);
    cmd
}

/// The tree's dynamic loader.
pub(crate) fn loader(root: &Path) -> PathBuf {
    root.join("usr/lib64/ld-linux-x86-64.so.2")
}

/// The tree's library directory.
pub(crate) fn lib_dir(root: &Path) -> PathBuf {
    root.join("usr/lib/x86_64-linux-gnu")
}

/// `name_version_arch.deb` -> (name, version), with the epoch's `%3a` decoded.
fn deb_name_version(deb: &Path) -> Option<(String, String)> {
    let stem = deb.file_stem()?.to_str()?;
    let mut parts = stem.split('_');
    let name = parts.next()?;
    let version = parts.next()?.replace("%3a", ":");
    Some((name.to_owned(), version))
}

fn mkdir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(format!("create {}", path.display()), e))
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("write {}", path.display()), e))
}

/// An apt configuration of its own (sources, lists, cache, empty dpkg status) in a work
/// directory: it reads nothing of the system's apt state and changes none of it.
struct PrivateApt {
    mirror: String,
    options: Vec<OsString>,
}

impl PrivateApt {
    fn new(work: &Path, suite: &str) -> Result<Self> {
        let etc = work.join("etc");
        let lists = work.join("lists");
        let cache = work.join("apt-cache");
        for d in [
            &etc,
            &lists.join("partial"),
            &cache.join("archives/partial"),
        ] {
            mkdir(d)?;
        }
        let mirror = debian_mirror();
        let keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
        let signed_by = if Path::new(keyring).exists() {
            format!("[signed-by={keyring}] ")
        } else {
            String::new()
        };
        let sources = etc.join("sources.list");
        write(&sources, &format!("deb {signed_by}{mirror} {suite} main\n"))?;
        let status = work.join("status");
        write(&status, "")?;
        let path_option = |name: &str, value: &Path| {
            let mut s = OsString::from(format!("{name}="));
            s.push(value);
            s
        };
        let mut options = vec![
            path_option("Dir::Etc::SourceList", &sources),
            "Dir::Etc::SourceParts=/dev/null".into(),
            path_option("Dir::State::Lists", &lists),
            path_option("Dir::Cache", &cache),
            path_option("Dir::State::Status", &status),
            "Debug::NoLocking=1".into(),
            "Acquire::Languages=none".into(),
            // sid's Release file can be past its Valid-Until date on a mirror that is a
            // snapshot; the signature is still checked.
            "Acquire::Check-Valid-Until=false".into(),
        ];
        for target in [
            "DEP-11",
            "DEP-11-icons",
            "DEP-11-icons-small",
            "DEP-11-icons-hidpi",
        ] {
            options
                .push(format!("Acquire::IndexTargets::deb::{target}::DefaultEnabled=false").into());
        }
        if is_root() {
            // The files are ours (root's); apt's _apt sandbox user could not write them.
            options.push("APT::Sandbox::User=root".into());
        }
        Ok(PrivateApt { mirror, options })
    }

    fn command(&self, args: &[&str], cwd: &Path) -> Command {
        let mut cmd = Command::new("apt-get");
        cmd.arg("-q");
        for option in &self.options {
            cmd.arg("-o").arg(option);
        }
        cmd.args(args)
            .current_dir(cwd)
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_file_names_give_name_and_version() {
        assert_eq!(
            deb_name_version(Path::new("/x/go-dqlite_3.0.4-1+b1_amd64.deb")),
            Some(("go-dqlite".into(), "3.0.4-1+b1".into()))
        );
        assert_eq!(
            deb_name_version(Path::new("zlib1g_1%3a1.3.dfsg-1_amd64.deb")),
            Some(("zlib1g".into(), "1:1.3.dfsg-1".into()))
        );
    }

    #[test]
    fn listing_lines_outside_the_root_are_reported() {
        let root = Path::new("/cache/sid/root");
        let listing = "\tlinux-vdso.so.1 (0x1)\n\
            \tlibc.so.6 => /cache/sid/root/usr/lib/x86_64-linux-gnu/libc.so.6 (0x2)\n\
            \tlibzstd.so.1 => /usr/lib/x86_64-linux-gnu/libzstd.so.1 (0x3)\n\
            \tlibfoo.so.1 => not found\n";
        let outside = libraries_outside(listing, root);
        assert_eq!(outside.len(), 2, "{outside:?}");
        assert!(outside[0].starts_with("libzstd"));
        assert!(outside[1].starts_with("libfoo"));
    }
}
