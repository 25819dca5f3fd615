//! Debian 13's Python 3.13 beside the system, unpacked like the dqlite trees (see
//! [`super::debian`]): for the test suites that need Python >= 3.12 (the reference
//! `dqlite-dbapi` suite) and to test our wheel on a second Python version.
//!
//! Unlike `dqlite-demo`, Python starts further programs of its own (`venv`, `pip`, test
//! subprocesses run `sys.executable`), so running it through the loader by hand is not
//! enough. The unpacked `python3.13` is relocated instead:
//! * `patchelf` points its ELF interpreter at the tree's loader and its `DT_RPATH` (which,
//!   unlike `DT_RUNPATH`, also applies to the extension modules it loads) at the tree's
//!   library directory, so it runs directly, and so does every venv made from it;
//! * Debian builds `ensurepip` to take pip from `/usr/share/python-wheels`; the tree's
//!   `sysconfig` data is pointed at the tree's copy of that directory, so `python3.13 -m
//!   venv` installs Debian 13's pip and not whatever the host has there.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::debian::{Tree, command_in, lib_dir, loader};
use crate::error::{Error, Result};
use crate::util::run_command;

/// Debian 13 packages unpacked for Python 3.13: the interpreter, its standard library,
/// `venv`/`ensurepip` with Debian's pip wheel, and every library its extension modules
/// load (checked at install: nothing may resolve to the host's libraries).
pub const PYTHON_PACKAGES: &[&str] = &[
    "python3.13-minimal",
    "libpython3.13-minimal",
    "libpython3.13-stdlib",
    "python3.13",
    "python3.13-venv",
    "python3-pip-whl",
    "libc6",
    "libgcc-s1",
    "libssl3t64",
    "libzstd1",
    "libexpat1",
    "zlib1g",
    "libbz2-1.0",
    "liblzma5",
    "libffi8",
    "libsqlite3-0",
    "libmpdec4",
    "libuuid1",
    "libdb5.3t64",
    "libncursesw6",
    "libtinfo6",
    "libreadline8t64",
];

/// The Python tree.
pub(crate) const PYTHON_TREE: Tree = Tree {
    name: "python3.13",
    suite: "trixie",
    what: "Python 3.13 (Debian 13)",
    version: "python3.13",
    packages: PYTHON_PACKAGES,
    program: "usr/bin/python3.13",
    check_args: &["-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
    stamp_extra: "relocated by patchelf (interpreter, rpath) and sysconfig WHEEL_PKG_DIR",
    relocate: Some(relocate),
    check: Some(check_modules),
};

/// Path of the unpacked `python3.13` if its tree is complete; never installs anything.
pub fn find_python() -> Result<PathBuf> {
    if PYTHON_TREE.complete() {
        Ok(PYTHON_TREE.program_path())
    } else {
        Err(Error::NotInstalled {
            version: PYTHON_TREE.version,
            detail: format!(
                "{} is missing or incomplete; run `dqlite-testkit install --python`",
                PYTHON_TREE.dir().display()
            ),
        })
    }
}

/// Unpacks Debian 13's Python 3.13 if needed (instant when present); returns the path of
/// `python3.13`, which runs directly (no loader, no environment) and makes venvs.
pub fn install_python() -> Result<PathBuf> {
    PYTHON_TREE.ensure()?;
    find_python()
}

/// The Debian package version of the unpacked Python (e.g. `3.13.5-2+deb13u5`).
pub fn python_package_version() -> Option<String> {
    PYTHON_TREE.package_version("python3.13-minimal")
}

fn relocate(unpacked: &Path, final_root: &Path) -> Result<()> {
    let python = unpacked.join(PYTHON_TREE.program);
    let patched = run_command(
        Command::new("patchelf")
            .arg("--set-interpreter")
            .arg(loader(final_root))
            .arg("--force-rpath")
            .arg("--set-rpath")
            .arg(lib_dir(final_root))
            .arg(&python),
    );
    if let Err(e) = patched {
        return Err(match e {
            Error::Io { .. } => Error::NotInstalled {
                version: PYTHON_TREE.version,
                detail:
                    "patchelf is not installed (apt-get install patchelf; scripts/setup.sh does it)"
                        .into(),
            },
            other => other,
        });
    }
    let stdlib = unpacked.join("usr/lib/python3.13");
    let entries = std::fs::read_dir(&stdlib)
        .map_err(|e| Error::io(format!("list {}", stdlib.display()), e))?;
    let wheels = final_root.join("usr/share/python-wheels/");
    let from = "'WHEEL_PKG_DIR': '/usr/share/python-wheels/'";
    let to = format!("'WHEEL_PKG_DIR': '{}'", wheels.display());
    let mut rewritten = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("_sysconfigdata_") && name.ends_with(".py")) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        if text.contains(from) {
            super::debian::write(&path, &text.replace(from, &to))?;
            rewritten += 1;
        }
    }
    if rewritten == 0 {
        return Err(Error::NotInstalled {
            version: PYTHON_TREE.version,
            detail: format!(
                "no _sysconfigdata_*.py in {} sets {from}: Debian's layout changed",
                stdlib.display()
            ),
        });
    }
    Ok(())
}

/// Imports every extension module of the standard library plus `venv`, `ensurepip`,
/// `ssl` and `sqlite3`, then fails if any shared object mapped into the process lies
/// outside the tree (a library missing from [`PYTHON_PACKAGES`] that the host happened to
/// provide), or if Debian's pip wheel is missing.
const CHECK_SCRIPT: &str = r#"
import glob, importlib, os, sys
root = sys.argv[1]
failed = []
dynload = os.path.join(sys.prefix, "lib", "python3.13", "lib-dynload", "*.so")
for path in sorted(glob.glob(dynload)):
    name = os.path.basename(path).split(".")[0]
    try:
        importlib.import_module(name)
    except Exception as e:
        failed.append(f"import {name}: {e!r}")
import ensurepip, sqlite3, ssl, venv
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and ".so" in fields[5] and not fields[5].startswith(root):
            failed.append(f"loaded from outside the tree: {fields[5].strip()}")
if not glob.glob(os.path.join(root, "usr/share/python-wheels/pip-*.whl")):
    failed.append("no pip wheel in usr/share/python-wheels")
if failed:
    sys.exit("\n".join(sorted(set(failed))))
"#;

fn check_modules(unpacked: &Path) -> Result<()> {
    let python = unpacked.join(PYTHON_TREE.program);
    run_command(
        command_in(unpacked, &python)
            .args(["-I", "-c", CHECK_SCRIPT])
            .arg(unpacked),
    )
    .map(|_| ())
}
