//! A TCP fault proxy to put between a client and a node: it forwards bytes both ways and
//! injects, on demand and at run time, the faults a network and a dying peer produce.
//!
//! * [`Fault::Latency`]: every chunk waits before it is forwarded, in both directions.
//! * [`Fault::ResetAfterClientBytes`] / [`Fault::ResetAfterServerBytes`]: forward `n` more
//!   bytes in that direction, then reset both sides (RST, `SO_LINGER` 0): a connection cut
//!   in the middle of a request, or of a result.
//! * [`Fault::CloseAfterServerBytes`]: forward `n` more bytes from the server, then close
//!   both sides cleanly (FIN): a frame truncated by an orderly close.
//! * [`Fault::Blackhole`]: forward nothing more; new connections are accepted and never
//!   answered. A connection that was blackholed stays silent after the fault is cleared
//!   (bytes were dropped, so its stream is corrupt); only new connections work again.
//! * [`FaultProxy::reset_all`] resets every open connection now.
//!
//! A fault set with [`FaultProxy::set_fault`] applies to the open connections (byte counts
//! start from that moment, per connection) and to every later one, until the next call.
//!
//! # Leader discovery through a proxy
//!
//! A dqlite client accepts a node as leader only when the address the node reports for the
//! leader equals the address it dialed; the node reports its own address, not the proxy's,
//! so a client given the proxy's address would follow the redirect straight to the node
//! and bypass the proxy. [`FaultProxy::advertise_self`] makes the proxy rewrite its
//! target's address into its own in SERVER frames (the answer to LEADER), so that leader
//! discovery, and a pool built on it, stays behind the proxy. CLUSTER answers are not
//! rewritten, nor is a connection whose client opened with TLS (ciphertext can look like
//! a frame). Without it, tests open connections through the proxy directly (handshake,
//! then OPEN).
//!
//! Plain threads, no runtime: two per connection, each polling its socket every 10 ms so
//! that faults take effect within that time.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often a pumping thread wakes up to look at the fault in force.
const POLL: Duration = Duration::from_millis(10);
/// Dial timeout towards the target.
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);
/// The first byte of a TLS connection (a handshake record); a dqlite client starts with
/// its protocol version instead (`0xe5`, or `0x01` for the legacy one).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A fault the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Forward everything as it comes.
    #[default]
    None,
    /// Hold every chunk this long before forwarding it, in both directions.
    Latency(Duration),
    /// Forward this many more bytes from client to server, then reset both sides.
    ResetAfterClientBytes(u64),
    /// Forward this many more bytes from server to client, then reset both sides.
    ResetAfterServerBytes(u64),
    /// Forward this many more bytes from server to client, then close both sides (FIN).
    CloseAfterServerBytes(u64),
    /// Forward nothing; accept new connections but never connect them to the target.
    Blackhole,
}

/// How a connection ends when a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// RST to both sides.
    Reset,
    /// FIN to both sides.
    Close,
}

/// Counters of a proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyStats {
    /// Connections accepted from clients.
    pub accepted: usize,
    /// Connections open now.
    pub open: usize,
    /// Bytes forwarded from clients to the target.
    pub bytes_to_server: u64,
    /// Bytes forwarded from the target to clients.
    pub bytes_to_client: u64,
    /// Connections the proxy reset.
    pub resets: usize,
    /// Connections the proxy closed because of a fault (not because a peer closed).
    pub closes: usize,
}

/// Per-connection state, shared by its two pumping threads and the proxy.
#[derive(Debug, Default)]
struct LinkState {
    latency: Duration,
    /// Client-to-server bytes left before a reset.
    client_budget: Option<u64>,
    /// Server-to-client bytes left before the connection ends, and how it ends.
    server_budget: Option<(u64, End)>,
    /// Forwarding stopped for good.
    blackholed: bool,
    /// Set when the connection must end (or has ended).
    end: Option<End>,
    /// The client opened with a TLS record: the bytes are ciphertext, never rewritten.
    tls: bool,
}

impl LinkState {
    fn apply(&mut self, fault: Fault) {
        self.latency = Duration::ZERO;
        self.client_budget = None;
        self.server_budget = None;
        match fault {
            Fault::None => {}
            Fault::Latency(d) => self.latency = d,
            Fault::ResetAfterClientBytes(n) => self.client_budget = Some(n),
            Fault::ResetAfterServerBytes(n) => self.server_budget = Some((n, End::Reset)),
            Fault::CloseAfterServerBytes(n) => self.server_budget = Some((n, End::Close)),
            Fault::Blackhole => self.blackholed = true,
        }
    }
}

#[derive(Debug, Default)]
struct Link {
    state: Mutex<LinkState>,
}

impl Link {
    fn state(&self) -> MutexGuard<'_, LinkState> {
        // A panicking pump cannot leave the state half-updated in a way that matters.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Shared {
    own_address: String,
    target: Mutex<String>,
    fault: Mutex<Fault>,
    advertise: AtomicBool,
    links: Mutex<Vec<Weak<Link>>>,
    stop: AtomicBool,
    accepted: AtomicUsize,
    bytes_to_server: AtomicU64,
    bytes_to_client: AtomicU64,
    resets: AtomicUsize,
    closes: AtomicUsize,
}

impl Shared {
    fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The live connections (pruning the ended ones).
    fn live_links(&self) -> Vec<Arc<Link>> {
        let mut links = Self::lock(&self.links);
        links.retain(|l| l.strong_count() > 0);
        links.iter().filter_map(Weak::upgrade).collect()
    }
}

/// A fault proxy listening on `127.0.0.1`; stops, closing every connection, when dropped.
pub struct FaultProxy {
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("address", &self.shared.own_address)
            .field("target", &self.target())
            .field("fault", &self.fault())
            .finish()
    }
}

impl FaultProxy {
    /// Starts a proxy on a free port of 127.0.0.1 that forwards to `target`
    /// (`host:port`), with no fault.
    pub fn start(target: impl Into<String>) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            own_address: listener.local_addr()?.to_string(),
            target: Mutex::new(target.into()),
            fault: Mutex::new(Fault::None),
            advertise: AtomicBool::new(false),
            links: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            bytes_to_server: AtomicU64::new(0),
            bytes_to_client: AtomicU64::new(0),
            resets: AtomicUsize::new(0),
            closes: AtomicUsize::new(0),
        });
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || accept_loop(&listener, &shared))?
        };
        Ok(FaultProxy {
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The proxy's `127.0.0.1:port` address: give it to the client.
    pub fn address(&self) -> &str {
        &self.shared.own_address
    }

    /// Where new connections are forwarded.
    pub fn target(&self) -> String {
        Shared::lock(&self.shared.target).clone()
    }

    /// Forwards later connections to `target` instead; open ones keep their node.
    pub fn set_target(&self, target: impl Into<String>) {
        *Shared::lock(&self.shared.target) = target.into();
    }

    /// Rewrites the target's address into the proxy's own in SERVER frames (LEADER
    /// answers), so that a client's leader discovery accepts the proxy as the leader.
    pub fn advertise_self(&self, yes: bool) {
        self.shared.advertise.store(yes, Ordering::Release);
    }

    /// The fault in force for new connections.
    pub fn fault(&self) -> Fault {
        *Shared::lock(&self.shared.fault)
    }

    /// Injects `fault` into every open connection (byte counts start now) and every later
    /// one. [`Fault::None`] clears the previous fault (blackholed connections stay silent).
    pub fn set_fault(&self, fault: Fault) {
        let mut current = Shared::lock(&self.shared.fault);
        *current = fault;
        for link in self.shared.live_links() {
            link.state().apply(fault);
        }
    }

    /// Clears the fault: the same as `set_fault(Fault::None)`.
    pub fn clear(&self) {
        self.set_fault(Fault::None);
    }

    /// Resets (RST) every open connection now; later connections are not affected.
    pub fn reset_all(&self) {
        for link in self.shared.live_links() {
            let mut state = link.state();
            if state.end.is_none() {
                state.end = Some(End::Reset);
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ProxyStats {
        let s = &self.shared;
        ProxyStats {
            accepted: s.accepted.load(Ordering::Acquire),
            open: s
                .live_links()
                .iter()
                .filter(|l| l.state().end.is_none())
                .count(),
            bytes_to_server: s.bytes_to_server.load(Ordering::Acquire),
            bytes_to_client: s.bytes_to_client.load(Ordering::Acquire),
            resets: s.resets.load(Ordering::Acquire),
            closes: s.closes.load(Ordering::Acquire),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        for link in self.shared.live_links() {
            let mut state = link.state();
            if state.end.is_none() {
                state.end = Some(End::Close);
            }
        }
        // The pumping threads see the end within one poll and close their sockets.
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::Acquire) {
        match listener.accept() {
            Ok((client, _)) => {
                shared.accepted.fetch_add(1, Ordering::AcqRel);
                let shared = Arc::clone(shared);
                let spawned = std::thread::Builder::new()
                    .name("fault-proxy-conn".into())
                    .spawn(move || serve(client, &shared));
                // Out of threads: the connection is dropped, as by a dying node.
                drop(spawned);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Sets up one proxied connection and pumps its client-to-server half on this thread.
fn serve(client: TcpStream, shared: &Arc<Shared>) {
    let link = Arc::new(Link::default());
    let fault = {
        // Registered under the fault lock, so a concurrent `set_fault` reaches it.
        let fault = Shared::lock(&shared.fault);
        link.state().apply(*fault);
        Shared::lock(&shared.links).push(Arc::downgrade(&link));
        *fault
    };
    if client.set_nonblocking(false).is_err() || set_timeouts(&client).is_err() {
        return;
    }
    if fault == Fault::Blackhole {
        swallow(&link, client);
        return;
    }
    let target = Shared::lock(&shared.target).clone();
    let Some(server) = dial(&target) else {
        // The target is down: refuse the way a closed port would, with a reset.
        let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
        link.state().end = Some(End::Reset);
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = client.set_nodelay(true);
    let (Ok(client2), Ok(server2)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    if set_timeouts(&server).is_err() {
        return;
    }
    let back = {
        let (link, shared) = (Arc::clone(&link), Arc::clone(shared));
        std::thread::Builder::new()
            .name("fault-proxy-back".into())
            .spawn(move || pump(&link, &shared, Direction::ToClient, server2, client2))
    };
    if back.is_err() {
        return;
    }
    pump(&link, shared, Direction::ToServer, client, server);
}

fn set_timeouts(stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(POLL))?;
    stream.set_write_timeout(Some(POLL))
}

fn dial(target: &str) -> Option<TcpStream> {
    let addresses: Vec<SocketAddr> = target.to_socket_addrs().ok()?.collect();
    addresses
        .iter()
        .find_map(|a| TcpStream::connect_timeout(a, DIAL_TIMEOUT).ok())
}

/// A blackholed new connection: read and drop whatever the client sends, never answer.
fn swallow(link: &Link, mut client: TcpStream) {
    let mut buf = [0u8; 4096];
    loop {
        if link.state().end.is_some() {
            break;
        }
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => break,
        }
    }
    let mut state = link.state();
    if state.end.is_none() {
        state.end = Some(End::Close);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    ToClient,
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Forwards `src` to `dst` under the link's fault until the connection ends, then ends
/// both sockets the way the fault says.
fn pump(
    link: &Link,
    shared: &Shared,
    direction: Direction,
    mut src: TcpStream,
    mut dst: TcpStream,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut rewriter = Rewriter::default();
    let mut first = direction == Direction::ToServer;
    let end = loop {
        if let Some(end) = link.state().end {
            break end;
        }
        let n = match src.read(&mut buf) {
            Ok(0) => break End::Close,
            Ok(n) => n,
            Err(e) if is_timeout(&e) => continue,
            Err(_) => break End::Reset,
        };
        // The fault in force when the bytes arrived (it may have changed during the read).
        let (latency, blackholed) = {
            let state = link.state();
            if let Some(end) = state.end {
                break end;
            }
            (state.latency, state.blackholed)
        };
        if blackholed {
            continue;
        }
        if first {
            // Seen before anything is forwarded, so before the server can answer.
            first = false;
            if buf.first() == Some(&TLS_HANDSHAKE_RECORD) {
                link.state().tls = true;
            }
        }
        if !latency.is_zero() {
            std::thread::sleep(latency);
        }
        let chunk = buf.get(..n).unwrap_or_default();
        let out: Cow<'_, [u8]> = if direction == Direction::ToClient
            && shared.advertise.load(Ordering::Acquire)
            && !link.state().tls
        {
            let target = Shared::lock(&shared.target).clone();
            let mut out = Vec::with_capacity(n);
            rewriter.feed(chunk, &target, &shared.own_address, &mut out);
            Cow::Owned(out)
        } else {
            Cow::Borrowed(chunk)
        };
        // How much of this chunk may pass, and whether the fault fires after it.
        let (allowed, fire) = {
            let mut state = link.state();
            let len = out.len() as u64;
            match direction {
                Direction::ToServer => match state.client_budget {
                    Some(left) => {
                        let pass = left.min(len);
                        state.client_budget = Some(left - pass);
                        (pass, (left - pass == 0).then_some(End::Reset))
                    }
                    None => (len, None),
                },
                Direction::ToClient => match state.server_budget {
                    Some((left, how)) => {
                        let pass = left.min(len);
                        state.server_budget = Some((left - pass, how));
                        (pass, (left - pass == 0).then_some(how))
                    }
                    None => (len, None),
                },
            }
        };
        let allowed = usize::try_from(allowed).unwrap_or(usize::MAX);
        let passed = out.get(..allowed).unwrap_or(&out);
        if write_all(link, &mut dst, passed).is_err() {
            break End::Close;
        }
        let counter = match direction {
            Direction::ToServer => &shared.bytes_to_server,
            Direction::ToClient => &shared.bytes_to_client,
        };
        counter.fetch_add(passed.len() as u64, Ordering::AcqRel);
        if let Some(end) = fire {
            let mut state = link.state();
            if state.end.is_none() {
                state.end = Some(end);
                match end {
                    End::Reset => shared.resets.fetch_add(1, Ordering::AcqRel),
                    End::Close => shared.closes.fetch_add(1, Ordering::AcqRel),
                };
            }
            break end;
        }
    };
    {
        // Tell the other half; a fault that fired elsewhere (reset_all) was counted here.
        let mut state = link.state();
        if state.end.is_none() {
            state.end = Some(end);
        }
    }
    finish(&src, &dst, link.state().end.unwrap_or(end));
}

/// Writes all of `bytes`, giving up when the connection is ended meanwhile.
fn write_all(link: &Link, dst: &mut TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match dst.write(bytes) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if is_timeout(&e) => {
                if link.state().end.is_some() {
                    return Err(io::Error::from(io::ErrorKind::ConnectionAborted));
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Ends both sockets. With [`End::Reset`], `SO_LINGER` 0 makes the last close of each
/// socket send RST; the reads are shut so that the other thread lets go at once.
fn finish(a: &TcpStream, b: &TcpStream, end: End) {
    for s in [a, b] {
        match end {
            End::Reset => {
                let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
                let _ = s.shutdown(Shutdown::Read);
            }
            End::Close => {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }
}

mod rewrite;
#[cfg(test)]
mod tests;

use rewrite::Rewriter;
