//! Client configuration: seed addresses, database name, deadlines, limits, and the
//! connection strings and `DQLITE_*` environment variables that give them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

mod connstr;

pub use connstr::{ConnectionSettings, parse_duration};

/// Where a dqlite node listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// `host:port` (IPv6 hosts in brackets: `[::1]:9001`).
    Tcp(String),
    /// A Unix socket path (text that starts with `/` or `.`).
    Unix(PathBuf),
    /// A Linux abstract Unix socket (text that starts with `@`; the name follows it).
    Abstract(String),
}

impl Address {
    /// The address as dqlite writes it in its replies (what LEADER and CLUSTER report), so
    /// the two can be compared.
    pub fn as_node_address(&self) -> String {
        self.to_string()
    }
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix('@') {
            if name.is_empty() {
                return Err(Error::Config("empty abstract socket name '@'".into()));
            }
            return Ok(Address::Abstract(name.to_owned()));
        }
        if s.starts_with('/') || s.starts_with('.') {
            return Ok(Address::Unix(PathBuf::from(s)));
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(|| {
            Error::Config(format!(
                "address {s:?} has no port: write host:port, [ipv6]:port, /unix/path or @abstract"
            ))
        })?;
        if host.is_empty()
            || (host.contains(':') && !(host.starts_with('[') && host.ends_with(']')))
        {
            return Err(Error::Config(format!(
                "address {s:?}: the host is empty, or an IPv6 host is not in brackets"
            )));
        }
        port.parse::<u16>().map_err(|_| {
            Error::Config(format!(
                "address {s:?}: port {port:?} is not a number 0-65535"
            ))
        })?;
        Ok(Address::Tcp(s.to_owned()))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => f.write_str(a),
            Address::Unix(p) => write!(f, "{}", p.display()),
            Address::Abstract(n) => write!(f, "@{n}"),
        }
    }
}

/// Deadlines for each stage of talking to a cluster. Every network wait has one; nothing
/// can block forever. A timeout longer than a century (say `Duration::MAX`, for no limit
/// in practice) counts as a century.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing a TCP (or Unix, or TLS) connection to one node. Default 5 s.
    pub dial: Duration,
    /// One call on a connection, as a whole (see [`Connection`](crate::Connection)'s
    /// deadlines: what runs before the request shares it; each read of a streamed result
    /// is a call of its own). Default 10 s.
    pub request: Duration,
    /// Finding the leader and opening the database, all retries included. Default 30 s.
    pub connect: Duration,
    /// How long a statement answered "database is locked" (`SQLITE_BUSY`: another
    /// connection's write holds the lock; nothing ran) is retried before the error is
    /// returned, like SQLite's busy timeout. The server itself never waits. Default 5 s;
    /// zero disables the retries.
    pub busy: Duration,
}

/// The longest wait a deadline is made for: a century, which no clock overflows when
/// added to the time now.
const LONGEST_WAIT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `timeout`, at most a century: a duration that can be added to the time now.
pub(crate) fn bounded_wait(timeout: Duration) -> Duration {
    timeout.min(LONGEST_WAIT)
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            dial: Duration::from_secs(5),
            request: Duration::from_secs(10),
            connect: Duration::from_secs(30),
            busy: Duration::from_secs(5),
        }
    }
}

/// How to reach a cluster and which database to open.
///
/// Built with methods, or parsed from `host:port[,host:port...]`:
///
/// ```
/// use dqlite_client::Config;
/// use std::time::Duration;
///
/// let config: Config = "127.0.0.1:9001,127.0.0.1:9002".parse()?;
/// let config = config.database("app").request_timeout(Duration::from_secs(3));
/// assert_eq!(config.seeds().len(), 2);
/// # Ok::<(), dqlite_client::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) seeds: Vec<Address>,
    pub(crate) database: String,
    pub(crate) timeouts: Timeouts,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    pub(crate) concurrent_probes: usize,
    pub(crate) max_frame_len: usize,
    pub(crate) tcp_keepalive: Option<Duration>,
    pub(crate) redirect_policy: Option<crate::redirect::RedirectPolicy>,
    pub(crate) dialer: Option<std::sync::Arc<dyn crate::transport::Dialer>>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsConfig>,
}

pub use crate::limits::DEFAULT_MAX_FRAME_LEN;

impl Config {
    /// A configuration with these seed addresses, database `"default"` and default
    /// timeouts. Errors when the list is empty.
    pub fn new<I, A>(seeds: I) -> Result<Self>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<str>,
    {
        let seeds = seeds
            .into_iter()
            .filter(|s| !s.as_ref().trim().is_empty())
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<Address>>>()?;
        if seeds.is_empty() {
            return Err(Error::Config("no node address given".into()));
        }
        Ok(Config {
            seeds,
            database: "default".into(),
            timeouts: Timeouts::default(),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(1),
            concurrent_probes: 10,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            tcp_keepalive: Some(Duration::from_secs(30)),
            redirect_policy: None,
            dialer: None,
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// The database to open (created on first use). Default `"default"`.
    pub fn database(mut self, name: impl Into<String>) -> Self {
        self.database = name.into();
        self
    }

    /// Deadline for each request (each network wait). Default 10 s.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.request = timeout;
        self
    }

    /// How long "database is locked" answers are retried; see [`Timeouts::busy`].
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.busy = timeout;
        self
    }

    /// Deadline for dialing one node. Default 5 s.
    pub fn dial_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.dial = timeout;
        self
    }

    /// Deadline for finding the leader and opening the database, retries included.
    /// Default 30 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.timeouts.connect = timeout;
        self
    }

    /// Backoff between leader-discovery rounds: doubles from `base` up to `cap`, with
    /// ±10 % jitter. Default 100 ms to 1 s.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// The largest response frame accepted, in bytes (default 64 MiB). A larger frame
    /// closes the connection with a protocol error before anything is allocated for it.
    pub fn max_frame_len(mut self, bytes: usize) -> Self {
        self.max_frame_len = bytes;
        self
    }

    /// TCP keepalive idle time, or `None` to turn keepalive off. Default 30 s.
    pub fn tcp_keepalive(mut self, idle: Option<Duration>) -> Self {
        self.tcp_keepalive = idle;
        self
    }

    /// Vet the addresses nodes send the client to (leaders they name during discovery,
    /// members they list) with `policy`; see [`RedirectPolicy`](crate::RedirectPolicy).
    /// Default: none, every address is followed.
    pub fn redirect_policy(mut self, policy: crate::redirect::RedirectPolicy) -> Self {
        self.redirect_policy = Some(policy);
        self
    }

    /// Open the connections to the nodes with `dialer` instead of connecting to their
    /// addresses here (go-dqlite's `WithDialFunc`): it gets each address as nodes and
    /// seeds give it and owns the socket's options (no `TCP_NODELAY` or keepalive is set
    /// on what it returns). TLS, when configured, runs over a TCP socket it returns. The
    /// dial timeout still bounds each dial.
    pub fn dialer(mut self, dialer: std::sync::Arc<dyn crate::transport::Dialer>) -> Self {
        self.dialer = Some(dialer);
        self
    }

    /// Talk TLS to every node (see [`TlsConfig`](crate::TlsConfig)).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The seed addresses.
    pub fn seeds(&self) -> &[Address] {
        &self.seeds
    }

    /// The database name.
    pub fn database_name(&self) -> &str {
        &self.database
    }

    /// The deadlines in force.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }
}

impl FromStr for Config {
    type Err = Error;

    /// Parses a connection string: `host:port[,host:port...]` (any address form of
    /// [`Address`]), `dqlite://host:port[,...][/database][?name=value&...]` with the
    /// parameters `timeout`, `connect_timeout`, `dial_timeout`, `busy_timeout`,
    /// `tls_cert`, `tls_key`, `tls_ca` and `tls_server_name`, or `file://PATH`, the addresses of go-dqlite's
    /// node store at PATH (see [`open_go_store`](crate::open_go_store)). The crate README
    /// has the whole grammar. Files named are read here. The environment is not read; see
    /// [`Config::parse_with_env`].
    ///
    /// ```
    /// use dqlite_client::Config;
    /// use std::time::Duration;
    ///
    /// let config: Config = "dqlite://10.0.0.1:9001,10.0.0.2:9001/app?timeout=3".parse()?;
    /// assert_eq!(config.database_name(), "app");
    /// assert_eq!(config.timeouts().request, Duration::from_secs(3));
    /// # Ok::<(), dqlite_client::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Self> {
        ConnectionSettings::parse(s)?.into_config()
    }
}

impl Config {
    /// A configuration from the `DQLITE_*` environment variables alone: `DQLITE_SERVERS`
    /// (a connection string of either form), then `DQLITE_DATABASE`, `DQLITE_TIMEOUT`,
    /// `DQLITE_CONNECT_TIMEOUT`, `DQLITE_DIAL_TIMEOUT`, `DQLITE_BUSY_TIMEOUT`,
    /// `DQLITE_TLS_CERT`, `DQLITE_TLS_KEY`, `DQLITE_TLS_CA` and `DQLITE_TLS_SERVER_NAME`
    /// for what it leaves unset.
    /// Errors when no server address is given.
    pub fn from_env() -> Result<Self> {
        ConnectionSettings::default().with_env()?.into_config()
    }

    /// Parses a connection string as [`from_str`](FromStr::from_str) does, then takes
    /// what it leaves unset (the servers too, as in `dqlite:///app`) from the `DQLITE_*`
    /// environment variables of [`from_env`](Config::from_env), the way libpq falls back
    /// on `PG*` variables.
    pub fn parse_with_env(text: &str) -> Result<Self> {
        ConnectionSettings::parse(text)?.with_env()?.into_config()
    }
}

/// An environment variable, if set to valid Unicode.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_address_forms() {
        assert_eq!(
            "127.0.0.1:9001".parse::<Address>().unwrap(),
            Address::Tcp("127.0.0.1:9001".into())
        );
        assert_eq!(
            "[::1]:9001".parse::<Address>().unwrap(),
            Address::Tcp("[::1]:9001".into())
        );
        assert_eq!(
            "/run/dqlite.sock".parse::<Address>().unwrap(),
            Address::Unix("/run/dqlite.sock".into())
        );
        assert_eq!(
            "@dqlite-1".parse::<Address>().unwrap(),
            Address::Abstract("dqlite-1".into())
        );
        assert_eq!(
            "@dqlite-1".parse::<Address>().unwrap().to_string(),
            "@dqlite-1"
        );
    }

    #[test]
    fn rejects_bad_addresses_with_a_reason() {
        for bad in [
            "localhost",
            ":9001",
            "host:port",
            "::1:9001",
            "@",
            "h:70000",
        ] {
            let err = bad.parse::<Address>().unwrap_err();
            assert!(matches!(err, Error::Config(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn config_from_list() {
        let c: Config = "a:1, b:2,,".parse().unwrap();
        assert_eq!(c.seeds().len(), 2);
        assert_eq!(c.database_name(), "default");
        assert!(Config::new(Vec::<String>::new()).is_err());
        assert!("".parse::<Config>().is_err());
    }
}
