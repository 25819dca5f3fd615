//! A fake dqlite node for what a real one cannot do on demand: malformed frames,
//! truncation, hostile sizes, stalls. Each accepted connection runs a script (a closure)
//! on its own thread; the script reads requests and writes whatever bytes it likes.
//!
//! Such tests sit beside the real-cluster tests, never instead of them.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// One client connection as the fake node sees it.
#[derive(Debug)]
pub struct FakeConn {
    stream: TcpStream,
    /// Requests read so far on this connection: (type, schema, body).
    pub requests: Vec<(u8, u8, Vec<u8>)>,
}

impl FakeConn {
    /// Reads the client's protocol version word.
    pub fn read_handshake(&mut self) -> io::Result<u64> {
        let mut word = [0u8; 8];
        self.stream.read_exact(&mut word)?;
        Ok(u64::from_le_bytes(word))
    }

    /// Reads one request frame; returns its type code.
    pub fn read_request(&mut self) -> io::Result<u8> {
        let mut header = [0u8; 8];
        self.stream.read_exact(&mut header)?;
        let [w0, w1, w2, w3, kind, schema, _, _] = header;
        let words = u32::from_le_bytes([w0, w1, w2, w3]);
        let len = usize::try_from(u64::from(words) * 8)
            .map_err(|_| io::Error::other("request too large"))?;
        if len > 64 * 1024 * 1024 {
            return Err(io::Error::other("request too large"));
        }
        let mut body = vec![0u8; len];
        self.stream.read_exact(&mut body)?;
        self.requests.push((kind, schema, body));
        Ok(kind)
    }

    /// Writes raw bytes.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Writes a frame: header for `body` (padded to words by the caller) and the body.
    pub fn write_frame(&mut self, kind: u8, schema: u8, body: &[u8]) -> io::Result<()> {
        let words = u32::try_from(body.len() / 8).map_err(|_| io::Error::other("too large"))?;
        let mut frame = Vec::with_capacity(8 + body.len());
        frame.extend_from_slice(&words.to_le_bytes());
        frame.extend_from_slice(&[kind, schema, 0, 0]);
        frame.extend_from_slice(body);
        self.write(&frame)
    }

    /// Keeps the connection open without answering until the client goes away.
    pub fn stall(&mut self) {
        let mut sink = [0u8; 1024];
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(60)));
        while matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {}
    }
}

type Script = dyn Fn(&mut FakeConn, &str) -> io::Result<()> + Send + Sync;

/// A fake node listening on 127.0.0.1; stops (and joins its threads) when dropped.
pub struct FakeNode {
    address: String,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for FakeNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeNode")
            .field("address", &self.address)
            .finish()
    }
}

impl FakeNode {
    /// Starts a fake node that runs `script` for every connection it accepts. The script
    /// gets the connection and the node's own address (what a leader reports).
    pub fn start(
        script: impl Fn(&mut FakeConn, &str) -> io::Result<()> + Send + Sync + 'static,
    ) -> io::Result<FakeNode> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let thread = {
            let (stop, accepted, conns) =
                (Arc::clone(&stop), Arc::clone(&accepted), Arc::clone(&conns));
            let own = address.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::AcqRel);
                            let _ = stream.set_nonblocking(false);
                            let script = Arc::clone(&script);
                            let own = own.clone();
                            let handle = std::thread::spawn(move || {
                                let mut conn = FakeConn {
                                    stream,
                                    requests: Vec::new(),
                                };
                                let _ = script(&mut conn, &own);
                            });
                            if let Ok(mut c) = conns.lock() {
                                c.push(handle);
                            }
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Ok(FakeNode {
            address,
            stop,
            accepted,
            thread: Some(thread),
            conns,
        })
    }

    /// The `127.0.0.1:port` address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Acquire)
    }
}

impl Drop for FakeNode {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        // Connection threads end when their client hangs up; do not wait for stalls.
        if let Ok(mut c) = self.conns.lock() {
            c.clear();
        }
    }
}
