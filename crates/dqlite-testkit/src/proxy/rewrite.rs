//! Rewriting the leader address in SERVER frames, so that leader discovery through the
//! proxy stays behind it (see [`FaultProxy::advertise_self`](super::FaultProxy)).

/// SERVER frames larger than this are passed through without rewriting.
const MAX_HELD_FRAME: usize = 4096;
/// dqlite's SERVER response type code.
pub(super) const SERVER_FRAME: u8 = 1;

/// Rewrites the leader address in SERVER frames of a server-to-client byte stream.
#[derive(Debug, Default)]
pub(super) struct Rewriter {
    /// Bytes of an incomplete header, or of a SERVER frame being held.
    held: Vec<u8>,
    /// Body bytes still to pass through unchanged (a frame that is not SERVER).
    passing: usize,
    /// Total size of the SERVER frame being held (header included), when holding one.
    holding: Option<usize>,
}

impl Rewriter {
    pub(super) fn feed(&mut self, mut input: &[u8], from: &str, to: &str, out: &mut Vec<u8>) {
        while !input.is_empty() {
            if self.passing > 0 {
                let n = self.passing.min(input.len());
                let (pass, rest) = input.split_at(n);
                out.extend_from_slice(pass);
                self.passing -= n;
                input = rest;
                continue;
            }
            let want = self.holding.unwrap_or(8);
            let n = want.saturating_sub(self.held.len()).min(input.len());
            let (take, rest) = input.split_at(n);
            self.held.extend_from_slice(take);
            input = rest;
            if self.held.len() < want {
                continue;
            }
            match self.holding {
                Some(_) => {
                    out.extend_from_slice(&rewrite_server_frame(&self.held, from, to));
                    self.held.clear();
                    self.holding = None;
                }
                None => {
                    let Some(header) = self.held.first_chunk::<8>() else {
                        continue;
                    };
                    let [w0, w1, w2, w3, kind, ..] = *header;
                    let body = usize::try_from(u32::from_le_bytes([w0, w1, w2, w3]))
                        .unwrap_or(usize::MAX)
                        .saturating_mul(8);
                    if kind == SERVER_FRAME && body > 0 && body <= MAX_HELD_FRAME {
                        self.holding = Some(8 + body);
                    } else {
                        out.append(&mut self.held);
                        self.passing = body;
                    }
                }
            }
        }
    }
}

/// A SERVER frame (header + id + NUL-terminated address, padded) with the address `from`
/// replaced by `to`; any other frame unchanged.
fn rewrite_server_frame(frame: &[u8], from: &str, to: &str) -> Vec<u8> {
    let (Some(header), Some(id), Some(text)) = (frame.get(..8), frame.get(8..16), frame.get(16..))
    else {
        return frame.to_vec();
    };
    let address = text.split(|b| *b == 0).next().unwrap_or_default();
    if address != from.as_bytes() {
        return frame.to_vec();
    }
    let mut body = id.to_vec();
    body.extend_from_slice(to.as_bytes());
    body.push(0);
    body.resize(body.len().next_multiple_of(8), 0);
    let Ok(words) = u32::try_from(body.len() / 8) else {
        return frame.to_vec();
    };
    let mut out = words.to_le_bytes().to_vec();
    out.extend_from_slice(header.get(4..).unwrap_or_default());
    out.extend_from_slice(&body);
    out
}
