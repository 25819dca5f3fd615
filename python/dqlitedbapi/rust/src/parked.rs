//! What a result holds once the connection moved on to another statement: the rest of
//! its rows, read into memory ("parked"), or the error that ended it.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use dqlite_wire::RowsFrame;

use crate::errors::DbError;

/// What a result holds once the connection moved on to another statement.
#[derive(Debug, Default)]
struct Parked {
    frames: VecDeque<RowsFrame>,
    error: Option<DbError>,
    /// No more frames will come from the connection for this result.
    complete: bool,
}

/// The part of a result the session can reach (the rest is the Python object's).
#[derive(Debug, Default)]
pub struct ResultShared {
    parked: Mutex<Parked>,
    /// The result was closed: its remaining rows are not wanted.
    abandoned: AtomicBool,
}

/// Most bytes of frames `Session::park` buffers for one result.
pub const PARK_LIMIT: usize = 64 * 1024 * 1024;

/// Ends a parked result: with the error given to [`settle`](CutOff::settle), or, if
/// dropped unsettled (the parking future was dropped), with an error saying the rest was
/// lost. Either way the owner reads the frames already parked first.
pub struct CutOff<'a> {
    owner: &'a ResultShared,
    armed: bool,
}

impl<'a> CutOff<'a> {
    /// Guards the parking of `owner`'s result.
    pub fn new(owner: &'a ResultShared) -> Self {
        CutOff { owner, armed: true }
    }

    /// Ends the result after the frames parked, with `error` if any.
    pub fn settle(&mut self, error: Option<DbError>) {
        self.armed = false;
        self.owner.with_parked(|p| {
            p.error = error;
            p.complete = true;
        });
    }
}

impl Drop for CutOff<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.settle(Some(lost_rest("reading it was interrupted")));
        }
    }
}

/// The error of a result whose remaining rows were lost.
pub fn lost_rest(why: &str) -> DbError {
    DbError::operational(format!(
        "the rest of this result was lost: {why} (while another statement was starting on the \
         connection); run the query again"
    ))
}

impl ResultShared {
    fn with_parked<R>(&self, f: impl FnOnce(&mut Parked) -> R) -> R {
        match self.parked.lock() {
            Ok(mut p) => f(&mut p),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// True once its owner closed the result: its remaining rows are not wanted.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Acquire)
    }

    /// Keeps a frame for the owner.
    pub fn park(&self, frame: RowsFrame) {
        self.with_parked(|p| p.frames.push_back(frame));
    }

    /// No more frames will come from the connection for this result.
    pub fn finish(&self) {
        self.with_parked(|p| p.complete = true);
    }

    /// Ends the result with `error` after the frames parked.
    pub fn fail(&self, error: DbError) {
        self.with_parked(|p| {
            p.error = Some(error);
            p.complete = true;
        });
    }

    /// The next answer for the owner if the connection is no longer needed for it: a
    /// parked frame, the error that ended the result, or its end (`Ok(None)`).
    pub fn take_parked(&self) -> Option<Result<Option<RowsFrame>, DbError>> {
        self.with_parked(|p| {
            if let Some(frame) = p.frames.pop_front() {
                return Some(Ok(Some(frame)));
            }
            if let Some(e) = p.error.take() {
                p.complete = true;
                return Some(Err(e));
            }
            p.complete.then_some(Ok(None))
        })
    }

    /// Marks the result closed by its owner.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Release);
        self.with_parked(|p| {
            p.frames.clear();
            p.complete = true;
        });
    }
}
