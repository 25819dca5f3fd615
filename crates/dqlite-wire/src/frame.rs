//! Splitting a byte stream into frames, with a cap on what a header may make us buffer.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::header::Header;

/// Default cap on a frame body: 64 MiB, as dqlite-client uses. DUMP replies of larger
/// databases need a larger cap, set per request.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024 * 1024;

/// Cuts complete frames off the front of a receive buffer.
///
/// It never asks for more memory than the cap: a header declaring a larger body is an
/// error as soon as its 8 bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameDecoder {
    max_body_len: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(DEFAULT_MAX_FRAME_LEN)
    }
}

impl FrameDecoder {
    /// A decoder refusing bodies longer than `max_body_len` bytes.
    pub fn new(max_body_len: usize) -> FrameDecoder {
        FrameDecoder { max_body_len }
    }

    /// The cap in force.
    pub fn max_body_len(&self) -> usize {
        self.max_body_len
    }

    /// Changes the cap (for example around a DUMP).
    pub fn set_max_body_len(&mut self, max_body_len: usize) {
        self.max_body_len = max_body_len;
    }

    /// Removes and returns the first complete frame of `buf`, or `Ok(None)` if more bytes
    /// are needed. The body shares `buf`'s allocation.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<(Header, Bytes)>, DecodeError> {
        let Some(header) = self.peek_header(buf)? else {
            return Ok(None);
        };
        let total = Header::SIZE + header.body_len();
        if buf.len() < total {
            return Ok(None);
        }
        buf.advance(Header::SIZE);
        Ok(Some((header, buf.split_to(total - Header::SIZE).freeze())))
    }

    /// The header at the front of `buf`, checked against the cap, if 8 bytes are there.
    pub fn peek_header(&self, buf: &[u8]) -> Result<Option<Header>, DecodeError> {
        if buf.len() < Header::SIZE {
            return Ok(None);
        }
        let header = Header::decode(buf)?;
        let len = u64::from(header.words) * 8;
        if usize::try_from(len).map_or(true, |l| l > self.max_body_len) {
            return Err(DecodeError::FrameTooLarge {
                len,
                max: self.max_body_len,
            });
        }
        Ok(Some(header))
    }

    /// Bytes `buf` must hold before [`decode`](Self::decode) can return the next frame
    /// (at least a header).
    pub fn needed(&self, buf: &[u8]) -> Result<usize, DecodeError> {
        Ok(match self.peek_header(buf)? {
            Some(header) => Header::SIZE + header.body_len(),
            None => Header::SIZE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_cut_as_bytes_arrive() {
        let stream = [
            &[1u8, 0, 0, 0, 8, 0, 0, 0][..],
            &[0; 8],
            &[1, 0, 0, 0, 2, 0, 0, 0],
            &[0x98, 0x3a, 0, 0, 0, 0, 0, 0],
        ]
        .concat();
        let decoder = FrameDecoder::default();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in stream {
            buf.extend_from_slice(&[byte]);
            if let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].0.kind, 2);
        assert_eq!(&frames[1].1[..2], &[0x98, 0x3a]);
        assert!(buf.is_empty());
    }

    #[test]
    fn oversized_header_is_refused_before_buffering() {
        let decoder = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0][..]);
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(DecodeError::FrameTooLarge { .. })
        ));
    }
}
