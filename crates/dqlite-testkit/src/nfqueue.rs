//! Packet delay without `netem`: iptables hands the packets to delay to an NFQUEUE, and a
//! thread of the test kit holds each one for its delay before it gives the kernel an
//! ACCEPT verdict (nfnetlink_queue, spoken over a raw netlink socket, metadata only: the
//! packets' bytes never leave the kernel).
//!
//! The rules use `--queue-bypass`, so packets flow undelayed whenever no queue is bound;
//! when the queue is full the kernel accepts packets instead of dropping them
//! (`NFQA_CFG_F_FAIL_OPEN`). On drop every held packet is accepted before the queues are
//! released (a released queue drops what it holds).

use std::collections::BinaryHeap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::error::{Error, Result};
use crate::netfaults::{Delay, Queues};

const NETLINK_NETFILTER: i32 = 12;
const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_CFG_CMD_UNBIND: u8 = 2;
const NFQNL_COPY_META: u8 = 1;
const NFQA_CFG_F_FAIL_OPEN: u32 = 1;
const NFQA_CFG_F_GSO: u32 = 4;
const NF_ACCEPT: u32 = 1;
const AF_INET: u16 = 2;
/// Packets a queue holds before the kernel lets further ones through undelayed.
const QUEUE_MAXLEN: u32 = 8192;
/// Longest sleep of the serving thread while nothing is due (it checks for stop).
const IDLE: Duration = Duration::from_millis(50);

/// Two bound NFQUEUEs (node links, client links) and the thread serving them.
pub(crate) struct DelayQueue {
    queues: Queues,
    delays: Arc<Mutex<[Option<Delay>; 2]>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DelayQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayQueue")
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

impl DelayQueue {
    /// Binds two free queue numbers, searching from `hint`, and starts serving them.
    pub(crate) fn start(hint: u16) -> Result<Self> {
        let socket = Socket::new(
            Domain::from(libc::AF_NETLINK),
            Type::from(libc::SOCK_RAW),
            Some(Protocol::from(NETLINK_NETFILTER)),
        )
        .map_err(|e| Error::io("open a netfilter netlink socket", e))?;
        let _ = socket.set_recv_buffer_size(4 << 20);
        let mut link = Link { socket, seq: 0 };
        let mut bound = Vec::new();
        let mut candidate = hint.max(1024);
        while bound.len() < 2 {
            if candidate == u16::MAX {
                return Err(Error::Invalid("no free NFQUEUE number".into()));
            }
            match link.bind(candidate) {
                Ok(()) => bound.push(candidate),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                Err(e) => return Err(Error::io(format!("bind NFQUEUE {candidate}"), e)),
            }
            candidate += 1;
        }
        let queues = match bound.as_slice() {
            [nodes, clients] => Queues {
                nodes: *nodes,
                clients: *clients,
            },
            _ => return Err(Error::Invalid("NFQUEUE binding went wrong".into())),
        };
        let delays = Arc::new(Mutex::new([None, None]));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let delays = Arc::clone(&delays);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("dqlite-testkit-delay".into())
                .spawn(move || serve(link, queues, &delays, &stop))
                .map_err(|e| Error::io("spawn the delay thread", e))?
        };
        Ok(DelayQueue {
            queues,
            delays,
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn queues(&self) -> Queues {
        self.queues
    }

    /// The delays from now on (packets already held keep theirs).
    pub(crate) fn set_delays(&self, nodes: Option<Delay>, clients: Option<Delay>) {
        if let Ok(mut d) = self.delays.lock() {
            *d = [nodes, clients];
        }
    }
}

impl Drop for DelayQueue {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A packet waiting for its verdict.
#[derive(PartialEq, Eq)]
struct Held {
    due: Instant,
    queue: u16,
    id: u32,
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // BinaryHeap is a max-heap: the earliest due time on top.
        other.due.cmp(&self.due).then(other.id.cmp(&self.id))
    }
}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

fn serve(mut link: Link, queues: Queues, delays: &Mutex<[Option<Delay>; 2]>, stop: &AtomicBool) {
    let mut held = BinaryHeap::new();
    let mut rng = Jitter::new();
    let mut buf = vec![0u8; 256 * 1024];
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        while held.peek().is_some_and(|h: &Held| h.due <= now) {
            if let Some(h) = held.pop() {
                let _ = link.verdict(h.queue, h.id, NF_ACCEPT);
            }
        }
        let wait = held
            .peek()
            .map_or(IDLE, |h| h.due.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), IDLE);
        let _ = link.socket.set_read_timeout(Some(wait));
        let n = match (&link.socket).read(&mut buf) {
            Ok(n) => n,
            Err(_) => continue, // timeout, or ENOBUFS (the kernel then let packets pass)
        };
        let received = Instant::now();
        let [node_delay, client_delay] = delays.lock().map(|d| *d).unwrap_or([None, None]);
        for (queue, id) in packets(buf.get(..n).unwrap_or_default()) {
            let delay = if queue == queues.nodes {
                node_delay
            } else {
                client_delay
            };
            let pause = delay.map_or(Duration::ZERO, |d| rng.around(d));
            held.push(Held {
                due: received + pause,
                queue,
                id,
            });
        }
    }
    while let Some(h) = held.pop() {
        let _ = link.verdict(h.queue, h.id, NF_ACCEPT);
    }
    for queue in [queues.nodes, queues.clients] {
        let _ = link.config(queue, NFQNL_CFG_CMD_UNBIND, &[]);
    }
}

/// A netlink socket to nfnetlink_queue.
struct Link {
    socket: Socket,
    seq: u32,
}

impl Link {
    fn send(
        &mut self,
        kind: u16,
        flags: u16,
        queue: u16,
        attrs: &[(u16, &[u8])],
    ) -> std::io::Result<u32> {
        self.seq = self.seq.wrapping_add(1);
        let message = encode(kind, flags, self.seq, queue, attrs);
        self.socket.send(&message)?;
        Ok(self.seq)
    }

    /// Sends a CONFIG request and waits for its acknowledgement.
    fn config(&mut self, queue: u16, command: u8, extra: &[(u16, &[u8])]) -> std::io::Result<()> {
        let [pf0, pf1] = AF_INET.to_be_bytes();
        let cmd = [command, 0, pf0, pf1];
        let mut attrs: Vec<(u16, &[u8])> = vec![(NFQA_CFG_CMD, &cmd)];
        attrs.extend_from_slice(extra);
        let seq = self.send(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, queue, &attrs)?;
        self.await_ack(seq)
    }

    fn bind(&mut self, queue: u16) -> std::io::Result<()> {
        self.config(queue, NFQNL_CFG_CMD_BIND, &[])?;
        let mut params = 0u32.to_be_bytes().to_vec();
        params.push(NFQNL_COPY_META);
        let maxlen = QUEUE_MAXLEN.to_be_bytes();
        let flags = (NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO).to_be_bytes();
        let mut attrs: Vec<(u16, &[u8])> =
            vec![(NFQA_CFG_PARAMS, &params), (NFQA_CFG_QUEUE_MAXLEN, &maxlen)];
        attrs.push((NFQA_CFG_FLAGS, &flags));
        attrs.push((NFQA_CFG_MASK, &flags));
        self.seq = self.seq.wrapping_add(1);
        let message = encode(
            NFQNL_MSG_CONFIG,
            NLM_F_REQUEST | NLM_F_ACK,
            self.seq,
            queue,
            &attrs,
        );
        self.socket.send(&message)?;
        self.await_ack(self.seq)
    }

    fn verdict(&mut self, queue: u16, id: u32, verdict: u32) -> std::io::Result<()> {
        let mut hdr = verdict.to_be_bytes().to_vec();
        hdr.extend_from_slice(&id.to_be_bytes());
        self.send(
            NFQNL_MSG_VERDICT,
            NLM_F_REQUEST,
            queue,
            &[(NFQA_VERDICT_HDR, &hdr)],
        )
        .map(drop)
    }

    /// Reads until the acknowledgement of request `seq` (an error message with code 0).
    fn await_ack(&mut self, seq: u32) -> std::io::Result<()> {
        let _ = self.socket.set_read_timeout(Some(Duration::from_secs(2)));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = (&self.socket).read(&mut buf)?;
            let received = buf.get(..n).unwrap_or_default();
            // A packet queued meanwhile passes at once: nothing may stay unanswered.
            for (queue, id) in packets(received) {
                let hdr = [NF_ACCEPT.to_be_bytes(), id.to_be_bytes()].concat();
                let message = encode(
                    NFQNL_MSG_VERDICT,
                    NLM_F_REQUEST,
                    0,
                    queue,
                    &[(NFQA_VERDICT_HDR, &hdr)],
                );
                let _ = self.socket.send(&message);
            }
            for (kind, msg_seq, payload) in messages(received) {
                if kind == NLMSG_ERROR && msg_seq == seq {
                    let code = payload
                        .get(..4)
                        .and_then(|b| b.try_into().ok())
                        .map_or(-libc::EIO, i32::from_ne_bytes);
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::from_raw_os_error(-code))
                    };
                }
            }
        }
    }
}

/// One nfnetlink message: netlink header, nfgenmsg, attributes (each padded to 4 bytes).
fn encode(kind: u16, flags: u16, seq: u32, queue: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = vec![0u8, 0u8]; // AF_UNSPEC, NFNETLINK_V0
    body.extend_from_slice(&queue.to_be_bytes());
    for (kind, payload) in attrs {
        let len = u16::try_from(4 + payload.len()).unwrap_or(u16::MAX);
        body.extend_from_slice(&len.to_ne_bytes());
        body.extend_from_slice(&kind.to_ne_bytes());
        body.extend_from_slice(payload);
        while body.len() % 4 != 0 {
            body.push(0);
        }
    }
    let total = u32::try_from(16 + body.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(&total.to_ne_bytes());
    out.extend_from_slice(&((NFNL_SUBSYS_QUEUE << 8) | kind).to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&body);
    out
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    buf.get(at..at + 2)?.try_into().ok().map(u16::from_ne_bytes)
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    buf.get(at..at + 4)?.try_into().ok().map(u32::from_ne_bytes)
}

/// The netlink messages in `buf`: (type, sequence number, payload after the header).
fn messages(buf: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let (Some(len), Some(kind), Some(seq)) =
        (u32_at(buf, at), u16_at(buf, at + 4), u32_at(buf, at + 8))
    {
        let Ok(len) = usize::try_from(len) else { break };
        if len < 16 {
            break;
        }
        let Some(payload) = buf.get(at + 16..at + len) else {
            break;
        };
        out.push((kind, seq, payload));
        at += len.div_ceil(4) * 4;
    }
    out
}

/// The (queue number, packet id) of every queued-packet message in `buf`.
fn packets(buf: &[u8]) -> Vec<(u16, u32)> {
    let packet_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
    messages(buf)
        .into_iter()
        .filter(|(kind, _, _)| *kind == packet_type)
        .filter_map(|(_, _, payload)| {
            let queue = u16::from_be_bytes(payload.get(2..4)?.try_into().ok()?);
            let mut at = 4usize;
            while let (Some(len), Some(kind)) = (u16_at(payload, at), u16_at(payload, at + 2)) {
                let len = usize::from(len);
                if len < 4 {
                    break;
                }
                if kind & 0x3fff == NFQA_PACKET_HDR {
                    let id = u32::from_be_bytes(payload.get(at + 4..at + 8)?.try_into().ok()?);
                    return Some((queue, id));
                }
                at += len.div_ceil(4) * 4;
            }
            None
        })
        .collect()
}

/// A small xorshift generator for the delays' jitter.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| {
                d.as_secs() ^ u64::from(d.subsec_nanos()) << 20
            });
        Jitter(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A duration drawn uniformly from `mean ± jitter`.
    fn around(&mut self, delay: Delay) -> Duration {
        let span = u64::try_from(delay.jitter.as_micros()).unwrap_or(u64::MAX / 4);
        let offset = if span == 0 {
            0
        } else {
            self.next() % (2 * span + 1)
        };
        let low = delay.mean.saturating_sub(delay.jitter);
        low + Duration::from_micros(offset)
    }
}
