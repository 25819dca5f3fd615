//! Connection strings and `DQLITE_*` environment variables: what they may say, read into
//! [`ConnectionSettings`] and turned into a [`Config`]. The grammar is written out in the crate's
//! README ("Connection strings").

use std::path::Path;
use std::time::Duration;

use super::{Address, Config};
use crate::error::{Error, Result};

/// The longest connection string read (hostile input gets an error, not an allocation).
const MAX_LEN: usize = 64 * 1024;

/// The longest deadline accepted: 30 days. Deadlines are added to the current time.
const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The URL scheme of the long form.
const SCHEME: &str = "dqlite://";

/// The prefix of a go-dqlite node store, as its shell's `-s file://PATH` takes it.
const STORE_SCHEME: &str = "file://";

/// `text` after `scheme` (compared without regard to case), if it starts with it.
fn strip_scheme<'a>(text: &'a str, scheme: &str) -> Option<&'a str> {
    text.get(..scheme.len())
        .filter(|s| s.eq_ignore_ascii_case(scheme))
        .and_then(|_| text.get(scheme.len()..))
}

/// A setting a connection string or the environment may give, besides the servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Database,
    Timeout,
    ConnectTimeout,
    DialTimeout,
    BusyTimeout,
    TlsCert,
    TlsKey,
    TlsCa,
    TlsServerName,
}

impl Param {
    const ALL: [Param; 9] = [
        Param::Database,
        Param::Timeout,
        Param::ConnectTimeout,
        Param::DialTimeout,
        Param::BusyTimeout,
        Param::TlsCert,
        Param::TlsKey,
        Param::TlsCa,
        Param::TlsServerName,
    ];

    /// The name in a URL query (the environment variable is `DQLITE_` + it, upper-case).
    fn name(self) -> &'static str {
        match self {
            Param::Database => "database",
            Param::Timeout => "timeout",
            Param::ConnectTimeout => "connect_timeout",
            Param::DialTimeout => "dial_timeout",
            Param::BusyTimeout => "busy_timeout",
            Param::TlsCert => "tls_cert",
            Param::TlsKey => "tls_key",
            Param::TlsCa => "tls_ca",
            Param::TlsServerName => "tls_server_name",
        }
    }

    /// The parameter a query name stands for; libpq's names are taken as aliases.
    fn from_name(name: &str) -> Option<Param> {
        let alias = match name {
            "dbname" => Some(Param::Database),
            "sslcert" => Some(Param::TlsCert),
            "sslkey" => Some(Param::TlsKey),
            "sslrootcert" => Some(Param::TlsCa),
            _ => None,
        };
        alias.or_else(|| Param::ALL.into_iter().find(|p| p.name() == name))
    }

    fn env_var(self) -> String {
        format!("DQLITE_{}", self.name().to_ascii_uppercase())
    }

    fn index(self) -> usize {
        Param::ALL.iter().position(|&p| p == self).unwrap_or(0)
    }

    /// Checks a value before it is stored, so that errors name where it came from.
    fn check(self, value: &str) -> Result<(), String> {
        match self {
            Param::Database => Ok(()),
            Param::BusyTimeout => parse_duration(value).map(drop).map_err(|e| e.to_string()),
            Param::Timeout | Param::ConnectTimeout | Param::DialTimeout => {
                match parse_duration(value) {
                    Ok(d) if d.is_zero() => Err("must be more than zero".into()),
                    Ok(_) => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Param::TlsCert | Param::TlsKey | Param::TlsCa if value.is_empty() => {
                Err("an empty file name".into())
            }
            Param::TlsCert | Param::TlsKey | Param::TlsCa => Ok(()),
            Param::TlsServerName if value.is_empty() => Err("an empty name".into()),
            Param::TlsServerName => Ok(()),
        }
    }
}

/// What a connection string (and the `DQLITE_*` environment variables) said, before any
/// default applies: for front ends that merge it with settings of their own (the Python
/// driver's keyword arguments win over the string, the string over the environment).
/// [`Config`]'s `FromStr` and [`Config::parse_with_env`] are this, then
/// [`into_config`](Self::into_config).
///
/// ```
/// use dqlite_client::ConnectionSettings;
/// use std::time::Duration;
///
/// let s = ConnectionSettings::parse("dqlite://10.0.0.1:9001/app?busy_timeout=250ms")?;
/// assert_eq!(s.servers(), ["10.0.0.1:9001"]);
/// assert_eq!(s.database(), Some("app"));
/// assert_eq!(s.busy_timeout(), Some(Duration::from_millis(250)));
/// assert_eq!(s.timeout(), None); // not given: the front end's default applies
/// # Ok::<(), dqlite_client::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSettings {
    servers: Vec<String>,
    values: [Option<String>; Param::ALL.len()],
}

impl ConnectionSettings {
    /// Reads a connection string (`host:port,...`, `dqlite://...` or `file://STORE`; the
    /// grammar is in the crate's README). The servers may be missing (`dqlite:///db`).
    /// The environment is not read; see [`with_env`](Self::with_env).
    pub fn parse(text: &str) -> Result<ConnectionSettings> {
        if text.len() > MAX_LEN {
            return Err(config_error(format!(
                "connection string longer than {MAX_LEN} bytes"
            )));
        }
        let text = text.trim();
        if let Some(rest) = strip_scheme(text, SCHEME) {
            return ConnectionSettings::parse_url(rest);
        }
        if let Some(path) = strip_scheme(text, STORE_SCHEME) {
            return ConnectionSettings::from_store(path);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(config_error(format!(
                "unknown scheme {scheme:?}: write host:port,..., \
                 dqlite://host:port,.../database?... or file://NODE-STORE"
            )));
        }
        let mut settings = ConnectionSettings::default();
        for address in text.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            settings.add_server(address)?;
        }
        Ok(settings)
    }

    fn parse_url(rest: &str) -> Result<ConnectionSettings> {
        if rest.contains('#') {
            return Err(config_error(
                "a connection string has no #fragment: percent-encode '#' as %23",
            ));
        }
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, path) = location.split_once('/').unwrap_or((location, ""));
        let mut settings = ConnectionSettings::default();
        if !hosts.is_empty() {
            for host in hosts.split(',') {
                let address = decode(host, "address")?;
                if address.trim().is_empty() {
                    return Err(config_error(format!("empty address in {hosts:?}")));
                }
                settings.add_server(&address)?;
            }
        }
        if !path.is_empty() {
            settings.set(Param::Database, &decode(path, "database name")?, "the path")?;
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| config_error(format!("query parameter {pair:?} has no '=value'")))?;
            let name = decode(name, "parameter name")?;
            let param = Param::from_name(&name).ok_or_else(|| {
                let known: Vec<&str> = Param::ALL.iter().map(|p| p.name()).collect();
                config_error(format!(
                    "unknown parameter {name:?}; known: {}",
                    known.join(", ")
                ))
            })?;
            settings.set(param, &decode(value, param.name())?, "the query")?;
        }
        Ok(settings)
    }

    /// The servers listed in go-dqlite's node store at `path` (which must exist, as
    /// go-dqlite's shell requires).
    fn from_store(path: &str) -> Result<ConnectionSettings> {
        let path = Path::new(path);
        if path.as_os_str().is_empty() {
            return Err(config_error("file:// names no node store"));
        }
        std::fs::metadata(path)
            .map_err(|e| config_error(format!("node store {}: {e}", path.display())))?;
        let mut settings = ConnectionSettings::default();
        for node in crate::store::open_go_store(path)?.get()? {
            settings.add_server(&node.address).map_err(|e| {
                config_error(format!("node store {}: {}", path.display(), bare(&e)))
            })?;
        }
        if settings.servers.is_empty() {
            return Err(config_error(format!(
                "node store {} lists no node",
                path.display()
            )));
        }
        Ok(settings)
    }

    /// Fills what these settings leave unset from the `DQLITE_*` variables, read through
    /// `lookup`: the servers (and that string's own parameters) from `DQLITE_SERVERS` when
    /// none are given, then each parameter's variable. Variables that are not needed are
    /// not read, so a bad one only matters when it would be used.
    fn fill_from_env(mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        if self.servers.is_empty()
            && let Some(servers) = lookup("DQLITE_SERVERS").filter(|s| !s.trim().is_empty())
        {
            let from_env = ConnectionSettings::parse(&servers)
                .map_err(|e| config_error(format!("DQLITE_SERVERS: {}", bare(&e))))?;
            self.servers = from_env.servers;
            for (mine, theirs) in self.values.iter_mut().zip(from_env.values) {
                if mine.is_none() {
                    *mine = theirs;
                }
            }
        }
        for param in Param::ALL {
            if self.get(param).is_some() {
                continue;
            }
            let var = param.env_var();
            if let Some(value) = lookup(&var).filter(|v| !v.is_empty()) {
                self.set(param, &value, &var)?;
            }
        }
        Ok(self)
    }

    /// Takes what these settings leave unset from the `DQLITE_*` environment variables
    /// (see [`Config::from_env`]), as [`Config::parse_with_env`] does.
    pub fn with_env(self) -> Result<Self> {
        self.fill_from_env(super::env_var)
    }

    /// The server addresses given (empty when none was).
    pub fn servers(&self) -> &[String] {
        &self.servers
    }

    /// The database name, if given.
    pub fn database(&self) -> Option<&str> {
        self.get(Param::Database)
    }

    /// `timeout`: the deadline of each request, if given.
    pub fn timeout(&self) -> Option<Duration> {
        self.duration(Param::Timeout)
    }

    /// `connect_timeout`: finding the leader and opening the database, if given.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.duration(Param::ConnectTimeout)
    }

    /// `dial_timeout`: one TCP/Unix/TLS connect, if given.
    pub fn dial_timeout(&self) -> Option<Duration> {
        self.duration(Param::DialTimeout)
    }

    /// `busy_timeout`: how long "database is locked" is retried, if given.
    pub fn busy_timeout(&self) -> Option<Duration> {
        self.duration(Param::BusyTimeout)
    }

    /// `tls_cert`: the client certificate's PEM file, if given.
    pub fn tls_cert(&self) -> Option<&Path> {
        self.get(Param::TlsCert).map(Path::new)
    }

    /// `tls_key`: its private key's PEM file, if given.
    pub fn tls_key(&self) -> Option<&Path> {
        self.get(Param::TlsKey).map(Path::new)
    }

    /// `tls_ca`: the PEM file of the certificates to trust, if given (when not, TLS
    /// trusts `tls_cert`: go-dqlite's clusters share one self-signed certificate).
    pub fn tls_ca(&self) -> Option<&Path> {
        self.get(Param::TlsCa).map(Path::new)
    }

    /// `tls_server_name`: the name checked against the nodes' certificates instead of
    /// each address's host, if given.
    pub fn tls_server_name(&self) -> Option<&str> {
        self.get(Param::TlsServerName)
    }

    fn duration(&self, param: Param) -> Option<Duration> {
        // Checked when stored.
        self.get(param).and_then(|v| parse_duration(v).ok())
    }

    /// The configuration these settings describe, defaults where they say nothing (TLS
    /// files are read now).
    pub fn into_config(self) -> Result<Config> {
        if self.servers.is_empty() {
            return Err(config_error(
                "no node address given: write host:port,... or dqlite://host:port,.../db, \
                 or set DQLITE_SERVERS",
            ));
        }
        let mut config = Config::new(&self.servers)?;
        if let Some(name) = self.get(Param::Database) {
            config = config.database(name);
        }
        if let Some(d) = self.timeout() {
            config = config.request_timeout(d);
        }
        if let Some(d) = self.connect_timeout() {
            config = config.connect_timeout(d);
        }
        if let Some(d) = self.dial_timeout() {
            config = config.dial_timeout(d);
        }
        if let Some(d) = self.busy_timeout() {
            config = config.busy_timeout(d);
        }
        let (cert, key) = (self.tls_cert(), self.tls_key());
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(config_error(
                    "tls_cert and tls_key go together: give both or neither",
                ));
            }
        };
        // go-dqlite's clusters share one certificate: it is also the CA by default.
        match (self.tls_ca().or(cert), self.tls_server_name()) {
            (Some(ca), name) => with_tls(config, ca, identity, name),
            (None, Some(_)) => Err(config_error(
                "tls_server_name needs TLS: give tls_ca or tls_cert too",
            )),
            (None, None) => Ok(config),
        }
    }

    fn add_server(&mut self, address: &str) -> Result<()> {
        address.parse::<Address>()?;
        self.servers.push(address.to_owned());
        Ok(())
    }

    fn get(&self, param: Param) -> Option<&str> {
        self.values.get(param.index()).and_then(|v| v.as_deref())
    }

    /// Stores a value; `source` names where it came from in errors.
    fn set(&mut self, param: Param, value: &str, source: &str) -> Result<()> {
        param.check(value).map_err(|e| {
            config_error(format!("{} {value:?} (from {source}): {e}", param.name()))
        })?;
        let slot = self
            .values
            .get_mut(param.index())
            .ok_or_else(|| config_error("internal: parameter slot"))?;
        if slot.is_some() {
            return Err(config_error(format!("{} given twice", param.name())));
        }
        *slot = Some(value.to_owned());
        Ok(())
    }
}

#[cfg(feature = "tls")]
fn with_tls(
    config: Config,
    ca: &Path,
    identity: Option<(&Path, &Path)>,
    server_name: Option<&str>,
) -> Result<Config> {
    let mut tls = crate::tls::TlsConfig::from_pem_files(ca, identity)?;
    if let Some(name) = server_name {
        tls = tls.server_name(name)?;
    }
    Ok(config.tls(tls))
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: Config, _: &Path, _: Option<(&Path, &Path)>, _: Option<&str>) -> Result<Config> {
    Err(config_error(
        "TLS settings need dqlite-client's `tls` feature",
    ))
}

fn config_error(message: impl Into<String>) -> Error {
    Error::Config(message.into())
}

/// The message of a configuration error, without the "configuration error:" prefix.
fn bare(error: &Error) -> String {
    match error {
        Error::Config(m) => m.clone(),
        other => other.to_string(),
    }
}

/// Percent-decodes one part of a URL. The result must be UTF-8 without control characters
/// (NUL cannot travel in dqlite's text fields at all).
fn decode(part: &str, what: &str) -> Result<String> {
    let mut bytes = Vec::with_capacity(part.len());
    let mut rest = part.as_bytes();
    while let Some((&b, after)) = rest.split_first() {
        if b == b'%' {
            let hex = after
                .get(..2)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| config_error(format!("{what} {part:?}: bad %-escape")))?;
            bytes.push(hex);
            rest = after.get(2..).unwrap_or_default();
        } else {
            bytes.push(b);
            rest = after;
        }
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| config_error(format!("{what} {part:?}: not UTF-8 once decoded")))?;
    if text.chars().any(char::is_control) {
        return Err(config_error(format!(
            "{what} {part:?}: control characters are not allowed"
        )));
    }
    Ok(text)
}

/// Parses a duration as connection strings and the shell write them: a number of seconds
/// (`5`, `0.25`) or a number with a unit: `ms`, `s`, `m` (or `min`), `h`. At most 30 days.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(dqlite_client::parse_duration("500ms")?, Duration::from_millis(500));
/// assert_eq!(dqlite_client::parse_duration("2")?, Duration::from_secs(2));
/// # Ok::<(), dqlite_client::Error>(())
/// ```
pub fn parse_duration(text: &str) -> Result<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        config_error(format!(
            "{text:?} is not a duration such as 500ms, 10s, 2m or 1.5 (seconds)"
        ))
    };
    if number.is_empty() {
        return Err(bad());
    }
    let number: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit.trim() {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => {
            return Err(config_error(format!(
                "unknown time unit {other:?} in {text:?}: use ms, s, m or h"
            )));
        }
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| config_error(format!("{text:?} is longer than 30 days")))
}

#[cfg(test)]
mod tests;
