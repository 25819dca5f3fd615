//! Byte streams to a node: TCP (with `TCP_NODELAY` and keepalive), Unix sockets, abstract
//! Unix sockets, and TLS over TCP.

use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, UnixStream};

use crate::config::{Address, Config};
use crate::error::{Error, Result};

/// A byte stream driven by the caller's own I/O loop, in place of the connection's socket
/// (see [`Connection::replace_socket`](crate::Connection::replace_socket)).
pub trait CustomStream: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + std::fmt::Debug + 'static> CustomStream for T {}

/// What [`Dialer::dial`] returns: a connected stream socket (TCP or Unix).
pub type DialFuture = Pin<Box<dyn std::future::Future<Output = io::Result<OwnedFd>> + Send>>;

/// Opens the connections to the nodes in place of the client (see
/// [`Config::dialer`](crate::Config::dialer)).
pub trait Dialer: Send + Sync + std::fmt::Debug {
    /// A connected TCP or Unix stream socket to `address` (as given in the seeds or named
    /// by a node). An error fails this dial like a refused connection.
    fn dial(&self, address: &str) -> DialFuture;
}

/// An open byte stream to one node.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// TLS over TCP, with a second descriptor of the TCP socket (`dup`): the TLS state
    /// is reachable only through the connection, the socket this way also from the
    /// [`AbortHandle`]s, which hold it weakly (it closes with the connection).
    #[cfg(feature = "tls")]
    Tls(
        Box<tokio_rustls::client::TlsStream<TcpStream>>,
        std::sync::Arc<socket2::Socket>,
    ),
    Custom(Box<dyn CustomStream>),
    /// A plain socket read and written with blocking system calls on the polling thread.
    Blocking(BlockingSocket),
    /// The socket was handed over and nothing replaced it.
    Detached,
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the socket was handed over")
}

impl Stream {
    /// A handle that shuts this stream's socket down from another thread: for a blocking
    /// socket, and for TLS (whose socket's readiness then wakes the call wherever it is
    /// polled). `None` for the others.
    pub(crate) fn abort_handle(&self) -> Option<AbortHandle> {
        match self {
            Stream::Blocking(s) => Some(AbortHandle::new(&s.socket)),
            #[cfg(feature = "tls")]
            Stream::Tls(_, socket) => Some(AbortHandle::new(socket)),
            _ => None,
        }
    }

    /// Takes the socket out (TCP or Unix, in non-blocking mode), leaving `Detached`.
    /// TLS and custom streams stay in place and are refused.
    pub(crate) fn take_socket(&mut self) -> io::Result<std::os::fd::OwnedFd> {
        match std::mem::replace(self, Stream::Detached) {
            Stream::Tcp(s) => s.into_std().map(Into::into),
            Stream::Unix(s) => s.into_std().map(Into::into),
            Stream::Blocking(s) => s.into_nonblocking(),
            other => {
                *self = other;
                Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "only a plain TCP or Unix socket can be handed over (not TLS)",
                ))
            }
        }
    }
}

/// Opens a stream to `address` within the configured dial timeout.
pub(crate) async fn dial(address: &Address, config: &Config) -> Result<Stream> {
    let timeout = config.timeouts.dial;
    let connecting = dial_inner(address, config);
    match tokio::time::timeout(timeout, connecting).await {
        Ok(result) => result.map_err(|source| Error::Io {
            address: address.to_string(),
            source,
        }),
        Err(_) => Err(Error::Timeout {
            operation: format!("connect to {address}"),
            after: timeout,
        }),
    }
}

async fn dial_inner(address: &Address, config: &Config) -> io::Result<Stream> {
    if let Some(dialer) = &config.dialer {
        let stream = stream_from_socket(dialer.dial(&address.to_string()).await?)?;
        return match stream {
            Stream::Tcp(tcp) => over_tls(tcp, address, config).await,
            unix => {
                #[cfg(feature = "tls")]
                if config.tls.is_some() {
                    return Err(io::Error::new(
                        io::ErrorKind::Unsupported,
                        "TLS needs a TCP socket; the dialer returned a Unix socket",
                    ));
                }
                Ok(unix)
            }
        };
    }
    match address {
        Address::Tcp(hostport) => {
            let tcp = TcpStream::connect(hostport.as_str()).await?;
            tcp.set_nodelay(true)?;
            if let Some(idle) = config.tcp_keepalive {
                set_keepalive(&tcp, idle)?;
            }
            over_tls(tcp, address, config).await
        }
        Address::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path).await?)),
        Address::Abstract(name) => connect_abstract(name),
    }
}

/// `tcp` as it is, or wrapped in TLS when the configuration asks for it.
#[cfg_attr(not(feature = "tls"), allow(clippy::unused_async))]
async fn over_tls(tcp: TcpStream, address: &Address, config: &Config) -> io::Result<Stream> {
    #[cfg(feature = "tls")]
    if let Some(tls) = &config.tls {
        let socket = std::sync::Arc::new(socket2::SockRef::from(&tcp).try_clone()?);
        return tls
            .wrap(tcp, &address.to_string())
            .await
            .map(|s| Stream::Tls(Box::new(s), socket));
    }
    #[cfg(not(feature = "tls"))]
    let _ = (address, config);
    Ok(Stream::Tcp(tcp))
}

/// A connected stream socket from a [`Dialer`], as a TCP or Unix stream (non-blocking).
fn stream_from_socket(fd: OwnedFd) -> io::Result<Stream> {
    let socket = socket2::Socket::from(fd);
    if socket.r#type()? != socket2::Type::STREAM {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the dialer returned a socket that is not a stream socket",
        ));
    }
    socket.set_nonblocking(true)?;
    let local = socket.local_addr()?;
    if local.is_ipv4() || local.is_ipv6() {
        let tcp = std::net::TcpStream::from(OwnedFd::from(socket));
        Ok(Stream::Tcp(TcpStream::from_std(tcp)?))
    } else if local.is_unix() {
        let unix = std::os::unix::net::UnixStream::from(OwnedFd::from(socket));
        Ok(Stream::Unix(UnixStream::from_std(unix)?))
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the dialer returned a socket that is neither TCP nor Unix",
        ))
    }
}

fn set_keepalive(tcp: &TcpStream, idle: Duration) -> io::Result<()> {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(idle)
        .with_interval(Duration::from_secs(5))
        .with_retries(3);
    socket2::SockRef::from(tcp).set_tcp_keepalive(&keepalive)
}

#[cfg(target_os = "linux")]
fn connect_abstract(name: &str) -> io::Result<Stream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    // Connecting to a local socket completes at once; it does not block on the network.
    let std_stream = std::os::unix::net::UnixStream::connect_addr(&addr)?;
    std_stream.set_nonblocking(true)?;
    Ok(Stream::Unix(UnixStream::from_std(std_stream)?))
}

#[cfg(not(target_os = "linux"))]
fn connect_abstract(_name: &str) -> io::Result<Stream> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract Unix sockets exist only on Linux",
    ))
}

impl Stream {
    /// Tells the stream that at least `bytes` more bytes are on their way (the rest of the
    /// frame being read), so that a blocking socket can read them without a bounce buffer.
    pub(crate) fn expect(&mut self, bytes: usize) {
        if let Stream::Blocking(s) = self {
            s.expected = bytes;
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s, _) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Custom(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Blocking(s) => s.poll_read(cx, buf),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s, _) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Custom(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Blocking(s) => s.poll_write(cx, buf),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Unix(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s, _) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Custom(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Blocking(_) => Poll::Ready(Ok(())),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Unix(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s, _) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Custom(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Blocking(s) => Poll::Ready(s.socket.shutdown(std::net::Shutdown::Write)),
            Stream::Detached => Poll::Ready(Err(detached())),
        }
    }
}

/// Ends the I/O of a [`Connection`](crate::Connection) from another thread, while a call
/// may be running on it (see
/// [`Connection::abort_handle`](crate::Connection::abort_handle)).
///
/// [`abort`](Self::abort) shuts the connection's socket down both ways: a call waiting on
/// it fails at once (its wait ends within a system call, or its reactor reports the socket
/// ready, not at its deadline; over TLS too, the socket under the TLS layer), as does
/// every later one, and the connection is broken. A write it cuts off after the request
/// left is reported in doubt ([`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown)), as
/// for any connection lost mid-request. The handle does not keep the socket open: once
/// the connection is dropped, `abort` does nothing.
#[derive(Debug, Clone)]
pub struct AbortHandle {
    socket: std::sync::Weak<socket2::Socket>,
}

impl AbortHandle {
    fn new(socket: &std::sync::Arc<socket2::Socket>) -> Self {
        AbortHandle {
            socket: std::sync::Arc::downgrade(socket),
        }
    }

    /// Shuts the connection's socket down (reading and writing); idempotent, never fails
    /// (a socket already closed or shut down is left as it is).
    pub fn abort(&self) {
        if let Some(socket) = self.socket.upgrade() {
            // An error only says the socket was not connected any more: nothing to end.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }
}

/// How long one blocking system call of a [`BlockingSocket`] may wait before it gives
/// control back to its poller (which then checks its deadlines and polls again).
pub(crate) const BLOCKING_SLICE: Duration = Duration::from_millis(50);

/// Largest read of one `recv` on a [`BlockingSocket`] through its bounce buffer.
const BLOCKING_READ: usize = 64 * 1024;
/// A [`BlockingSocket`] reads straight into the caller's buffer (zeroing it first, which
/// costs less than copying it after) when at least this many bytes are expected and the
/// last `recv` returned at least half as many: zeroing what no `recv` fills is wasted, and
/// on a slow link, where each `recv` returns a few kilobytes, it would cost more than the
/// copy.
const DIRECT_READ_MIN: usize = 128 * 1024;
/// Largest read of one `recv` straight into the caller's buffer.
const DIRECT_READ: usize = 1024 * 1024;

/// A plain TCP or Unix socket in blocking mode, read and written by the thread that polls
/// it: one system call per send and per receive, with no readiness wait through a reactor.
///
/// Each call waits at most [`BLOCKING_SLICE`] (`SO_RCVTIMEO`/`SO_SNDTIMEO`); when the
/// slice ends, or a signal interrupts the call, the poll wakes its own task and returns
/// `Pending`, so timeouts and other branches of the polling future still run (late by at
/// most one slice). Meant for a connection that has its thread to itself (the blocking
/// API); on a shared runtime it would stall every other task.
#[derive(Debug)]
pub(crate) struct BlockingSocket {
    /// Shared only with the [`AbortHandle`]s handed out, which hold it weakly: the socket
    /// closes when the connection drops it.
    socket: std::sync::Arc<socket2::Socket>,
    /// Where `recv` writes before the bytes are copied into the caller's buffer (whose
    /// spare capacity is uninitialised, and filling it directly would need `unsafe`).
    scratch: Vec<u8>,
    /// Bytes the reader said are on their way (see [`Stream::expect`]), set before each
    /// read.
    expected: usize,
    /// What the last `recv` returned: a direct read zeroes at most twice that.
    last_read: usize,
}

impl BlockingSocket {
    /// Puts `fd` (a connected TCP or Unix socket) in blocking mode with sliced waits.
    pub(crate) fn new(fd: std::os::fd::OwnedFd) -> io::Result<Self> {
        let socket = socket2::Socket::from(fd);
        socket.set_nonblocking(false)?;
        socket.set_read_timeout(Some(BLOCKING_SLICE))?;
        socket.set_write_timeout(Some(BLOCKING_SLICE))?;
        Ok(BlockingSocket {
            socket: std::sync::Arc::new(socket),
            scratch: Vec::new(),
            expected: 0,
            last_read: 0,
        })
    }

    /// The socket back in non-blocking mode, without timeouts.
    fn into_nonblocking(self) -> io::Result<std::os::fd::OwnedFd> {
        // Shared only for the instant an abort takes to shut the socket down.
        let socket = std::sync::Arc::try_unwrap(self.socket).map_err(|_| {
            io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "the connection was aborted",
            )
        })?;
        socket.set_read_timeout(None)?;
        socket.set_write_timeout(None)?;
        socket.set_nonblocking(true)?;
        Ok(socket.into())
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let direct = buf
            .remaining()
            .min(self.expected)
            .min(self.last_read.saturating_mul(2))
            .min(DIRECT_READ);
        if direct >= DIRECT_READ_MIN {
            let dst = buf.initialize_unfilled_to(direct);
            return match io::Read::read(&mut &*self.socket, dst) {
                Ok(n) => {
                    buf.advance(n);
                    self.last_read = n;
                    Poll::Ready(Ok(()))
                }
                Err(e) => slice_over(cx, e),
            };
        }
        let want = buf.remaining().min(BLOCKING_READ);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.scratch.len() < want {
            self.scratch.resize(want, 0);
        }
        let scratch = self.scratch.get_mut(..want).unwrap_or_default();
        match io::Read::read(&mut &*self.socket, scratch) {
            Ok(n) => {
                buf.put_slice(scratch.get(..n).unwrap_or_default());
                self.last_read = n;
                Poll::Ready(Ok(()))
            }
            Err(e) => slice_over(cx, e),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match io::Write::write(&mut &*self.socket, buf) {
            Ok(n) => Poll::Ready(Ok(n)),
            Err(e) => slice_over(cx, e),
        }
    }
}

/// A blocking call that ended without data: at the end of its slice (`WouldBlock`) or by
/// a signal (`Interrupted`), the task is woken to poll again; anything else is an error.
fn slice_over<T>(cx: &mut Context<'_>, e: io::Error) -> Poll<io::Result<T>> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        _ => Poll::Ready(Err(e)),
    }
}
