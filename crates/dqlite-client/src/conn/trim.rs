//! When a connection gives back the memory a large frame made its buffers grow to.
//!
//! A buffer that grew for one large frame (a big value sent or read, a big page of rows)
//! would otherwise keep that size for the connection's life: a pool whose connections each
//! once moved a big value would hold up to the frame cap (64 MiB by default) per
//! connection. Giving it back at once has its own cost: a connection that keeps moving
//! large frames would regrow its buffer, copying and faulting in fresh pages, every time
//! (a 16 MiB read costs about a third more that way). So a buffer is given back only once
//! [`SMALL_FRAMES`] frames in a row have stayed under [`KEEP_BUFFER`] since the last large
//! one: a connection that still moves large frames keeps its buffer, one that went back to
//! ordinary rows gives it back soon.

/// The most a buffer keeps for good; frames under this size (rows of ordinary values)
/// never make it grow past it.
pub(super) const KEEP_BUFFER: usize = 64 * 1024;
/// Frames in a row under [`KEEP_BUFFER`] after a larger one, after which a buffer is
/// given back.
pub(super) const SMALL_FRAMES: u32 = 16;

/// The frames through one buffer since the last large one (see the module docs).
#[derive(Debug, Default)]
pub(super) struct Trim {
    /// Small frames since the last large one; `None` when none was large since the buffer
    /// was last given back (or made).
    small_since_large: Option<u32>,
}

impl Trim {
    /// Records a frame of `len` bytes through the buffer; true when the buffer should be
    /// given back now (replaced by one of its usual size).
    pub(super) fn after_frame(&mut self, len: usize) -> bool {
        if len > KEEP_BUFFER {
            self.small_since_large = Some(0);
            return false;
        }
        match self.small_since_large {
            None => false,
            Some(n) if n + 1 >= SMALL_FRAMES => {
                self.small_since_large = None;
                true
            }
            Some(n) => {
                self.small_since_large = Some(n + 1);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_frames_alone_never_give_back() {
        let mut trim = Trim::default();
        assert!((0..1000).all(|_| !trim.after_frame(KEEP_BUFFER)));
    }

    #[test]
    fn a_run_of_small_frames_after_a_large_one_gives_back_once() {
        let mut trim = Trim::default();
        assert!(!trim.after_frame(KEEP_BUFFER + 1));
        let given: Vec<bool> = (0..2 * SMALL_FRAMES)
            .map(|_| trim.after_frame(10))
            .collect();
        assert_eq!(given.iter().filter(|g| **g).count(), 1);
        assert_eq!(
            given.iter().position(|g| *g),
            Some(SMALL_FRAMES as usize - 1)
        );
    }

    #[test]
    fn large_frames_keep_the_buffer() {
        let mut trim = Trim::default();
        for _ in 0..100 {
            assert!(!trim.after_frame(KEEP_BUFFER + 1));
            for _ in 0..SMALL_FRAMES - 1 {
                assert!(!trim.after_frame(10));
            }
        }
    }
}
