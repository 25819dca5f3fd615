//! `.backup`: turns a DUMP (the database file and its write-ahead log, as the leader holds
//! them) into one self-contained SQLite file.
//!
//! dqlite keeps recent commits in the WAL, so the main file alone may miss them. The WAL
//! is applied here the way SQLite checkpoints it: frames are checked against the WAL
//! header's salts and the running checksum, the pages of every complete transaction are
//! written over the main file's, and the file is cut to the size the last commit records.
//! The result is marked as a rollback-journal database, so no `-wal` file is needed next
//! to it.

use std::collections::BTreeMap;

/// The first 16 bytes of every SQLite database file.
pub const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

const WAL_HEADER_LEN: usize = 32;
const FRAME_HEADER_LEN: usize = 24;
const WAL_MAGIC_LE: u32 = 0x377f_0682;
const WAL_MAGIC_BE: u32 = 0x377f_0683;

/// The database `main` with the committed transactions of `wal` applied. Fails when the
/// result is not a SQLite database (no `SQLite format 3` header).
pub fn database_image(main: &[u8], wal: &[u8]) -> Result<Vec<u8>, String> {
    let mut image = main.to_vec();
    if !wal.is_empty() {
        apply_wal(&mut image, wal)?;
    }
    if !image.starts_with(SQLITE_HEADER) {
        return Err(if image.is_empty() {
            "the dump is empty: the database does not exist or holds nothing yet".into()
        } else {
            "the dump does not start with \"SQLite format 3\": not a SQLite database".into()
        });
    }
    // File format write and read versions: 1 = rollback journal, 2 = WAL.
    if let Some(versions) = image.get_mut(18..20) {
        versions.copy_from_slice(&[1, 1]);
    }
    Ok(image)
}

fn be32(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, u32::from_be_bytes)
}

/// SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from `sum`.
fn checksum(big_endian: bool, data: &[u8], sum: (u32, u32)) -> (u32, u32) {
    let (mut s0, mut s1) = sum;
    for pair in data.chunks_exact(8) {
        let word = |at: usize| {
            let bytes = pair
                .get(at..at + 4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .unwrap_or_default();
            if big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        s0 = s0.wrapping_add(word(0)).wrapping_add(s1);
        s1 = s1.wrapping_add(word(4)).wrapping_add(s0);
    }
    (s0, s1)
}

fn apply_wal(image: &mut Vec<u8>, wal: &[u8]) -> Result<(), String> {
    let Some(header) = wal.get(..WAL_HEADER_LEN) else {
        return Ok(()); // Too short to hold a frame: nothing committed.
    };
    let big_endian = match be32(header, 0) {
        WAL_MAGIC_LE => false,
        WAL_MAGIC_BE => true,
        other => return Err(format!("the WAL has a bad magic number {other:#x}")),
    };
    let page_size = usize::try_from(be32(header, 8)).unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("the WAL has a bad page size {page_size}"));
    }
    if image.len() >= 18 {
        let main_size = match u16::from_be_bytes([
            image.get(16).copied().unwrap_or(0),
            image.get(17).copied().unwrap_or(0),
        ]) {
            1 => 65536,
            n => usize::from(n),
        };
        if main_size != page_size {
            return Err(format!(
                "the database has pages of {main_size} bytes, its WAL of {page_size}"
            ));
        }
    }
    let salts = (be32(header, 16), be32(header, 20));
    let mut sum = checksum(big_endian, header.get(..24).unwrap_or_default(), (0, 0));
    if sum != (be32(header, 24), be32(header, 28)) {
        return Ok(()); // An invalid header means an empty WAL, as SQLite reads it.
    }
    let mut committed: BTreeMap<u32, &[u8]> = BTreeMap::new();
    let mut pending: Vec<(u32, &[u8])> = Vec::new();
    let mut db_pages: Option<u32> = None;
    let mut offset = WAL_HEADER_LEN;
    while let Some(frame) = wal.get(offset..offset + FRAME_HEADER_LEN + page_size) {
        let (head, page) = frame.split_at(FRAME_HEADER_LEN);
        if (be32(head, 8), be32(head, 12)) != salts {
            break;
        }
        sum = checksum(big_endian, head.get(..8).unwrap_or_default(), sum);
        sum = checksum(big_endian, page, sum);
        if sum != (be32(head, 16), be32(head, 20)) {
            break;
        }
        pending.push((be32(head, 0), page));
        let commit = be32(head, 4);
        if commit != 0 {
            committed.extend(pending.drain(..));
            db_pages = Some(commit);
        }
        offset += FRAME_HEADER_LEN + page_size;
    }
    let Some(db_pages) = db_pages else {
        return Ok(());
    };
    let pages = usize::try_from(db_pages).map_err(|e| e.to_string())?;
    image.resize(pages.saturating_mul(page_size), 0);
    for (number, page) in committed {
        let Ok(index) = usize::try_from(number) else {
            continue;
        };
        let Some(start) = index.checked_sub(1).map(|i| i * page_size) else {
            continue;
        };
        if let Some(target) = image.get_mut(start..start + page_size) {
            target.copy_from_slice(page);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a WAL database with rusqlite, copies its files while commits are still in
    /// the WAL, and checks that the image holds them.
    #[test]
    fn applies_committed_wal_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch(
            "CREATE TABLE t (a INTEGER, b TEXT);
             INSERT INTO t VALUES (1, 'one');
             PRAGMA wal_checkpoint(TRUNCATE);
             INSERT INTO t VALUES (2, 'two');
             INSERT INTO t SELECT a + 2, b || '+' FROM t;",
        )
        .unwrap();
        let main = std::fs::read(&path).unwrap();
        let wal = std::fs::read(dir.path().join("db-wal")).unwrap();
        assert!(
            wal.len() > WAL_HEADER_LEN,
            "the test needs frames in the WAL"
        );

        let image = database_image(&main, &wal).unwrap();
        let copy = dir.path().join("copy");
        std::fs::write(&copy, &image).unwrap();
        let copy = rusqlite::Connection::open(&copy).unwrap();
        let rows: Vec<(i64, String)> = copy
            .prepare("SELECT a, b FROM t ORDER BY a")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (1, "one".into()),
                (2, "two".into()),
                (3, "one+".into()),
                (4, "two+".into())
            ]
        );
        let check: String = copy
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let mode: String = copy
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
    }

    #[test]
    fn a_torn_frame_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "wal").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (a); PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let main = std::fs::read(&path).unwrap();
        let mut wal = std::fs::read(dir.path().join("db-wal")).unwrap();
        // Corrupt the last byte of the only commit's page: the commit is dropped.
        if let Some(last) = wal.last_mut() {
            *last ^= 0xff;
        }
        let image = database_image(&main, &wal).unwrap();
        assert_eq!(image.len(), main.len());
        assert_eq!(image.get(20..), main.get(20..));
    }

    #[test]
    fn rejects_what_is_not_a_database() {
        assert!(database_image(b"", b"").unwrap_err().contains("empty"));
        assert!(database_image(b"hello world, not sqlite", b"").is_err());
        assert!(database_image(SQLITE_HEADER, &[0u8; 40]).is_err());
    }
}
