//! The repository README's benchmark summary, rewritten by every full run between two
//! markers, so that it always shows the last full run's clients and figures.

use std::path::Path;

/// The repository README, from the workspace root (where the suite runs).
pub const README: &str = "README.md";
const BEGIN: &str = "<!-- dqlite-bench summary: rewritten by a full run of dqlite-bench -->";
const END: &str = "<!-- end of the dqlite-bench summary -->";

/// The output a full run writes; only it rewrites the README.
pub const FULL_RUN_OUT: &str = "docs/benchmarks";

/// Replaces the text between the markers of the file at `path` with `summary`. Does
/// nothing (and says so) when the file has no markers.
pub fn update(path: &Path, summary: &str) -> Result<(), String> {
    let name = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let (Some(start), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        eprintln!("note: {name} has no dqlite-bench summary markers; not updated");
        return Ok(());
    };
    let head_end = start + BEGIN.len();
    let (true, Some(head), Some(tail)) = (end >= head_end, text.get(..head_end), text.get(end..))
    else {
        return Err(format!("{name}: the summary markers are out of order"));
    };
    std::fs::write(path, format!("{head}\n{}\n{tail}", summary.trim_end()))
        .map_err(|e| format!("{name}: {e}"))?;
    eprintln!("rewrote the benchmark summary in {name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("README.md");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn replaces_only_the_text_between_the_markers() {
        let (_dir, path) = file(&format!("intro\n{BEGIN}\nold\nlines\n{END}\n\nafter\n"));
        update(&path, "new summary\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("intro\n{BEGIN}\nnew summary\n{END}\n\nafter\n")
        );
        // Twice gives the same file.
        update(&path, "new summary").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn leaves_a_file_without_markers_alone() {
        let (_dir, path) = file("no markers here\n");
        update(&path, "summary").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "no markers here\n");
    }

    #[test]
    fn refuses_markers_out_of_order() {
        let (_dir, path) = file(&format!("{END}\nx\n{BEGIN}\n"));
        assert!(update(&path, "summary").is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{END}\nx\n{BEGIN}\n")
        );
    }
}
