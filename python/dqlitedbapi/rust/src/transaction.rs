//! Whether a transaction is open, tracked from the statements that succeed (BEGIN,
//! COMMIT/END, ROLLBACK, SAVEPOINT, RELEASE).

use crate::statement::leading_words;

#[derive(Debug, Default)]
pub struct TxState {
    pub in_tx: bool,
    /// The transaction was opened by a SAVEPOINT (RELEASE of the last one commits it).
    by_savepoint: bool,
    savepoints: Vec<String>,
}

impl TxState {
    pub fn reset(&mut self) {
        *self = TxState::default();
    }

    /// Updates the state after `statement` succeeded.
    pub fn track(&mut self, statement: &str) {
        let words = leading_words(statement, 4);
        let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        match word(0) {
            "BEGIN" => {
                self.reset();
                self.in_tx = true;
            }
            "COMMIT" | "END" => self.reset(),
            // ROLLBACK TO a savepoint keeps the transaction.
            "ROLLBACK" if !(word(1) == "TO" || word(2) == "TO") => self.reset(),
            "SAVEPOINT" => {
                if !self.in_tx {
                    self.in_tx = true;
                    self.by_savepoint = true;
                }
                self.savepoints.push(word(1).to_owned());
            }
            "RELEASE" => {
                let name = if word(1) == "SAVEPOINT" {
                    word(2)
                } else {
                    word(1)
                };
                if let Some(pos) = self.savepoints.iter().rposition(|s| s == name) {
                    self.savepoints.truncate(pos);
                }
                if self.savepoints.is_empty() && self.by_savepoint {
                    self.reset();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_tracking() {
        let mut tx = TxState::default();
        tx.track("BEGIN IMMEDIATE");
        assert!(tx.in_tx);
        tx.track("SAVEPOINT a");
        tx.track("ROLLBACK TO a");
        assert!(tx.in_tx);
        tx.track("RELEASE a");
        assert!(tx.in_tx);
        tx.track("commit");
        assert!(!tx.in_tx);
        tx.track("SAVEPOINT a");
        assert!(tx.in_tx);
        tx.track("SAVEPOINT b");
        tx.track("RELEASE SAVEPOINT b");
        assert!(tx.in_tx);
        tx.track("RELEASE a");
        assert!(!tx.in_tx);
        tx.track("BEGIN");
        tx.track("ROLLBACK TRANSACTION");
        assert!(!tx.in_tx);
    }
}
