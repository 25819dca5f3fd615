//! [`Transaction`]: a guard over an open transaction that rolls it back when dropped
//! unfinished. One type serves the async [`Connection`] and the blocking
//! [`blocking::Connection`](crate::blocking::Connection); each adds its own `commit` and
//! `rollback`.

use crate::conn::Connection;
use crate::error::Result;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::conn::Connection {}
    #[cfg(feature = "blocking")]
    impl Sealed for crate::blocking::Connection {}
}

/// A connection a [`Transaction`] can guard: the async or the blocking one.
pub trait TransactionTarget: sealed::Sealed {
    /// Makes the connection send ROLLBACK before its next request.
    #[doc(hidden)]
    fn roll_back_before_next_request(&mut self);
}

/// An open transaction, from `transaction()` on a connection: use it as the connection (it
/// dereferences to it), then `commit` or `rollback`. Dropped unfinished (an early return,
/// `?`, a cancelled future), it rolls back before the connection's next request, since a
/// drop cannot wait for the network.
#[derive(Debug)]
pub struct Transaction<'c, C: TransactionTarget = Connection> {
    pub(crate) conn: &'c mut C,
    pub(crate) finished: bool,
}

impl<'c, C: TransactionTarget> Transaction<'c, C> {
    /// Guards the transaction just opened on `conn`.
    pub(crate) fn new(conn: &'c mut C) -> Self {
        Transaction {
            conn,
            finished: false,
        }
    }
}

impl Transaction<'_, Connection> {
    /// COMMIT. On failure the transaction is rolled back before the next request (if the
    /// connection survives), as when dropped.
    pub async fn commit(mut self) -> Result<()> {
        self.conn.execute("COMMIT", &[]).await?;
        self.finished = true;
        Ok(())
    }

    /// ROLLBACK.
    pub async fn rollback(mut self) -> Result<()> {
        self.conn.execute("ROLLBACK", &[]).await?;
        self.finished = true;
        Ok(())
    }
}

impl<C: TransactionTarget> std::ops::Deref for Transaction<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.conn
    }
}

impl<C: TransactionTarget> std::ops::DerefMut for Transaction<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
    }
}

impl<C: TransactionTarget> Drop for Transaction<'_, C> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.roll_back_before_next_request();
        }
    }
}
