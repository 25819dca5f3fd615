//! Caps on what one query may return: `connect()`'s `max_total_rows` and
//! `max_continuation_frames`, applied as the pure-Python dqlite-dbapi applies them (its
//! messages too), as each frame of a result arrives.

use crate::errors::DbError;

/// Caps on one result; `None` is no cap.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResultLimits {
    /// Most rows one result may have.
    pub rows: Option<usize>,
    /// Most frames one result may come in.
    pub frames: Option<usize>,
}

impl ResultLimits {
    /// Fails when a result of `rows` rows so far, received in `frames` frames, is over a
    /// cap.
    pub fn check(&self, rows: usize, frames: usize) -> Result<(), DbError> {
        if let Some(max) = self.rows
            && rows > max
        {
            return Err(DbError::operational(format!(
                "Query exceeded max_total_rows cap ({max}); reduce the result size or raise \
                 the cap (connect(max_total_rows=...), None for no cap)"
            )));
        }
        if let Some(max) = self.frames
            && frames > max
        {
            return Err(DbError::operational(format!(
                "Query exceeded max_continuation_frames cap ({max}); reduce the result size \
                 or raise the cap (connect(max_continuation_frames=...), None for no cap)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps() {
        let none = ResultLimits::default();
        assert!(none.check(usize::MAX, usize::MAX).is_ok());
        let capped = ResultLimits {
            rows: Some(10),
            frames: Some(2),
        };
        assert!(capped.check(10, 2).is_ok());
        let rows = capped.check(11, 1).unwrap_err();
        assert!(rows.message.contains("max_total_rows cap (10)"), "{rows:?}");
        let frames = capped.check(3, 3).unwrap_err();
        assert!(frames.message.contains("max_continuation_frames cap (2)"));
    }
}
