//! Replacing a file so that a crash or a full disk never leaves it cut short: the node
//! stores write through this, and so does the shell's `.backup`.

use std::io::Write as _;
use std::path::Path;

/// Replaces `path` with `bytes` atomically: they go into a new temporary file beside it
/// (a name of its own, so concurrent writers never share one), which is synced, renamed
/// over `path`, and then the directory is synced so that the rename itself survives a
/// crash. A write that fails (a full disk, a crash) leaves what was at `path` as it was,
/// and removes its temporary file.
///
/// `mode` sets the new file's permission bits (`Some(0o600)` for a file only its owner may
/// read); `None` creates it as [`File::create`](std::fs::File::create) does (`0o666` less
/// the umask). It applies on Unix only.
///
/// # Errors
///
/// The I/O error of the step that failed: creating, writing or syncing the temporary
/// file, the rename, or syncing the directory (a file system that cannot sync
/// directories is not an error).
pub fn write_atomically(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
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
    let written = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if let Some(mode) = mode {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut file = options.open(&tmp)?;
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
}
