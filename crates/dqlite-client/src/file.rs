//! Replacing a file so that a crash or a full disk never leaves it cut short: the node
//! stores write through this, and so does the shell's `.backup`.

use std::io::Write as _;
use std::path::Path;

/// Replaces `path` with `bytes` atomically: they go into a new temporary file beside it
/// (a name of its own, so concurrent writers never share one), which is synced, renamed
/// over `path`, and then the directory is synced so that the rename itself survives a
/// crash. A write that fails (a full disk, a crash) leaves what was at `path` as it was,
/// and removes its temporary file. When `path` is a symbolic link, the file it points to
/// is replaced and the link stays.
///
/// `mode` sets the new file's permission bits (`Some(0o600)` for a file only its owner may
/// read; the umask applies, as to any new file). `None` keeps those of the file replaced,
/// so that a file its owner made private stays private, and creates a new file as
/// [`File::create`](std::fs::File::create) does (`0o666` less the umask). Modes apply on
/// Unix only.
///
/// # Errors
///
/// The I/O error of the step that failed: creating, writing or syncing the temporary
/// file, the rename, or syncing the directory (a file system that cannot sync
/// directories is not an error).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    let resolved = resolve_link(path)?;
    let path = resolved.as_deref().unwrap_or(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{}.{}-{:016x}.tmp",
        name.unwrap_or_default(),
        std::process::id(),
        fastrand::u64(..)
    ));
    // The mode of the file replaced, kept when the caller gives none.
    #[cfg(unix)]
    let kept = match mode {
        Some(_) => None,
        None => std::fs::metadata(path).ok().map(|m| {
            use std::os::unix::fs::PermissionsExt as _;
            m.permissions().mode() & 0o777
        }),
    };
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            // A file whose mode is kept stays private until it has that mode.
            if let Some(mode) = mode.or(kept.map(|_| 0o600)) {
                options.mode(mode);
            }
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
        #[cfg(unix)]
        if let Some(kept) = kept {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(kept))?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    sync_dir(dir)
}

/// The file `path` points to when it is a symbolic link (`None` otherwise): the file to
/// replace. A dangling link gives the path it names, which is then created.
fn resolve_link(path: &Path) -> std::io::Result<Option<std::path::PathBuf>> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(real) => Ok(Some(real)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let target = std::fs::read_link(path)?;
                Ok(Some(match path.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                }))
            }
            Err(e) => Err(e),
        },
        _ => Ok(None),
    }
}

/// Syncs a directory, so that the names just created or renamed in it are on disk.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::File::open(dir)?.sync_all() {
        // Some file systems cannot sync a directory; there is nothing more to do there.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// Directories cannot be opened as files here; the rename is as durable as it gets.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_atomically(&path, b"first, longer", None).unwrap();
        write_atomically(&path, b"second", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_is_chosen_by_the_caller() {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private");
        write_atomically(&private, b"x", Some(0o600)).unwrap();
        assert_eq!(mode(&private), 0o600);
        // None: as File::create makes it (the umask applies).
        let plain = dir.path().join("plain");
        let created = dir.path().join("created");
        write_atomically(&plain, b"x", None).unwrap();
        std::fs::File::create(&created).unwrap();
        assert_eq!(mode(&plain), mode(&created));
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: the rename fails.
        let path = dir.path().join("d");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), b"kept").unwrap();
        assert!(write_atomically(&path, b"new", None).is_err());
        assert_eq!(std::fs::read(path.join("inside")).unwrap(), b"kept");
        assert_eq!(names(dir.path()), ["d"], "no temporary file left behind");
        // A missing directory: the error says so.
        let lost = dir.path().join("no/such/f");
        let err = write_atomically(&lost, b"x", None).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    }

    /// Writers in one process at the same moment each use a temporary file of their own:
    /// none fails, and the file holds one of their texts whole.
    #[test]
    fn concurrent_writers_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let texts: Vec<Vec<u8>> = (0..8u8).map(|i| vec![b'a' + i; 4096]).collect();
        std::thread::scope(|s| {
            for text in &texts {
                let path = &path;
                s.spawn(move || {
                    for _ in 0..50 {
                        write_atomically(path, text, None).unwrap();
                    }
                });
            }
        });
        assert!(texts.contains(&std::fs::read(&path).unwrap()));
        assert_eq!(names(dir.path()), ["f"]);
    }

    #[cfg(unix)]
    fn mode_of(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    /// A file its owner made private (a backup holds the whole database) stays private
    /// when it is replaced without a mode of the caller's.
    #[cfg(unix)]
    #[test]
    fn replacing_keeps_the_old_files_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.db");
        write_atomically(&path, b"old", None).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        write_atomically(&path, b"new", None).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode_of(&path), 0o600);
        // A mode of the caller's wins.
        write_atomically(&path, b"newer", Some(0o640)).unwrap();
        assert_eq!(mode_of(&path), 0o640);
    }

    /// A symbolic link is written through: the file it points to is replaced, and the link
    /// stays.
    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.db");
        let link = dir.path().join("latest.db");
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink("real.db", &link).unwrap();
        write_atomically(&link, b"new", None).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A link to a file not there yet creates it.
        let dangling = dir.path().join("next.db");
        std::os::unix::fs::symlink("made.db", &dangling).unwrap();
        write_atomically(&dangling, b"made", None).unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.db")).unwrap(), b"made");
        assert!(
            std::fs::symlink_metadata(&dangling)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
