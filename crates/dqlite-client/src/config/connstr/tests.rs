use super::*;
use std::collections::HashMap;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn config(text: &str) -> Result<Config> {
    ConnectionSettings::parse(text)?.into_config()
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("10s").unwrap(), Duration::from_secs(10));
    assert_eq!(parse_duration(" 3 ").unwrap(), Duration::from_secs(3));
    assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
    assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
    assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
    for bad in [
        "",
        "ten",
        "5 parsecs",
        "-1",
        "1e3",
        ".",
        "1..2",
        "NaN",
        "inf",
        "99999h",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn url_form() {
    let c = config(
        "dqlite://127.0.0.1:9001,[::1]:9002,%2Frun%2Fd.sock,%40abs/my%20db?timeout=3&\
             connect_timeout=1m&dial_timeout=250ms&busy_timeout=0",
    )
    .unwrap();
    assert_eq!(
        c.seeds(),
        [
            Address::Tcp("127.0.0.1:9001".into()),
            Address::Tcp("[::1]:9002".into()),
            Address::Unix("/run/d.sock".into()),
            Address::Abstract("abs".into()),
        ]
    );
    assert_eq!(c.database_name(), "my db");
    let t = c.timeouts();
    assert_eq!(t.request, Duration::from_secs(3));
    assert_eq!(t.connect, Duration::from_secs(60));
    assert_eq!(t.dial, Duration::from_millis(250));
    assert_eq!(t.busy, Duration::ZERO);
    // Defaults, the scheme in any case, libpq's names, an empty query.
    let c = config("DQLITE://h:1/?").unwrap();
    assert_eq!(c.database_name(), "default");
    assert_eq!(c.timeouts(), super::super::Timeouts::default());
    assert_eq!(
        config("dqlite://h:1?dbname=x").unwrap().database_name(),
        "x"
    );
}

#[test]
fn plain_form_is_unchanged() {
    let c = config(" a:1, b:2,, ").unwrap();
    assert_eq!(c.seeds().len(), 2);
    assert_eq!(c.database_name(), "default");
}

#[test]
fn hostile_strings_get_clear_errors() {
    let long = format!("dqlite://h:1/{}", "x".repeat(MAX_LEN));
    for bad in [
        "",
        "   ",
        "dqlite://",
        "dqlite:///db",
        "dqlite://h:1,,h:2/db",
        "dqlite://h:99999/db",
        "dqlite://host/db",
        "dqlite://h:1/db?timeout",
        "dqlite://h:1/db?timeout=0",
        "dqlite://h:1/db?timeout=-5",
        "dqlite://h:1/db?timeout=1e999",
        "dqlite://h:1/db?timeout=3&timeout=4",
        "dqlite://h:1/db?database=x",
        "dqlite://h:1/db?unknown=1",
        "dqlite://h:1/db?TIMEOUT=1",
        "dqlite://h:1/d%00b",
        "dqlite://h:1/d%0ab",
        "dqlite://h:1/d%zzb",
        "dqlite://h:1/d%e9b",
        "dqlite://h:1/d%",
        "dqlite://h:1/db#frag",
        "dqlite://h:1/db?tls_key=k.pem",
        "dqlite://h:1/db?tls_cert=",
        "dqlite://h:1/db?tls_server_name=",
        "dqlite://h:1/db?tls_server_name=db.example",
        "postgres://h:1/db",
        "file://",
        "file:///no/such/dir/cluster.yaml",
        "h:1,nonsense",
        long.as_str(),
    ] {
        match config(bad) {
            Err(Error::Config(message)) => assert!(!message.is_empty(), "{bad:?}"),
            other => panic!("{bad:?}: expected a configuration error, got {other:?}"),
        }
    }
}

#[test]
fn go_dqlite_node_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cluster.yaml");
    std::fs::write(
        &path,
        "- ID: 1\n  Address: 127.0.0.1:9001\n  Role: 0\n- ID: 2\n  Address: '@n2'\n  Role: 2\n",
    )
    .unwrap();
    let c = config(&format!("file://{}", path.display())).unwrap();
    assert_eq!(
        c.seeds(),
        [
            Address::Tcp("127.0.0.1:9001".into()),
            Address::Abstract("n2".into())
        ]
    );
    std::fs::write(&path, "[]\n").unwrap();
    let err = config(&format!("file://{}", path.display())).unwrap_err();
    assert!(err.to_string().contains("lists no node"), "{err}");
    std::fs::write(&path, "- Address: nonsense\n").unwrap();
    let err = config(&format!("file://{}", path.display())).unwrap_err();
    assert!(err.to_string().contains("cluster.yaml"), "{err}");
}

#[test]
fn tls_files_are_read_and_named_in_errors() {
    let err = config("dqlite://h:1/db?tls_cert=/no/such/cert.pem&tls_key=/no/k.pem").unwrap_err();
    assert!(err.to_string().contains("/no/such/cert.pem"), "{err}");
    let err = config("dqlite://h:1/db?sslrootcert=/no/ca.pem").unwrap_err();
    assert!(err.to_string().contains("/no/ca.pem"), "{err}");
}

#[test]
fn settings_say_what_was_given_and_nothing_else() {
    let s = ConnectionSettings::parse(
        "dqlite://a:1,b:2/app?connect_timeout=2m&dial_timeout=1&sslcert=/c.pem&sslkey=/k.pem\
             &tls_server_name=db.example",
    )
    .unwrap();
    assert_eq!(s.servers(), ["a:1", "b:2"]);
    assert_eq!(s.database(), Some("app"));
    assert_eq!(s.timeout(), None);
    assert_eq!(s.connect_timeout(), Some(Duration::from_secs(120)));
    assert_eq!(s.dial_timeout(), Some(Duration::from_secs(1)));
    assert_eq!(s.busy_timeout(), None);
    assert_eq!(s.tls_cert(), Some(Path::new("/c.pem")));
    assert_eq!(s.tls_key(), Some(Path::new("/k.pem")));
    assert_eq!(s.tls_ca(), None);
    assert_eq!(s.tls_server_name(), Some("db.example"));
    let none = ConnectionSettings::parse("a:1").unwrap();
    assert_eq!(none.database(), None);
    assert_eq!(none.tls_server_name(), None);
    let vars = env(&[("DQLITE_TLS_SERVER_NAME", "from.env")]);
    let filled = none.fill_from_env(&vars).unwrap();
    assert_eq!(filled.tls_server_name(), Some("from.env"));
}

#[test]
fn environment_fills_what_the_string_leaves_unset() {
    let vars = env(&[
        ("DQLITE_SERVERS", "dqlite://e:1,e:2/envdb?timeout=7"),
        ("DQLITE_TIMEOUT", "8"),
        ("DQLITE_BUSY_TIMEOUT", "250ms"),
        ("DQLITE_DATABASE", "ignored"),
    ]);
    let from_env = |text: &str| {
        ConnectionSettings::parse(text)
            .unwrap()
            .fill_from_env(&vars)
            .unwrap()
            .into_config()
            .unwrap()
    };
    let c = from_env("");
    assert_eq!(c.seeds().len(), 2);
    assert_eq!(c.database_name(), "envdb", "the URL in DQLITE_SERVERS wins");
    assert_eq!(c.timeouts().request, Duration::from_secs(7));
    assert_eq!(c.timeouts().busy, Duration::from_millis(250));
    // An explicit string wins over the environment, and takes the rest from it.
    let c = from_env("dqlite:///app?timeout=2");
    assert_eq!(c.seeds()[0], Address::Tcp("e:1".into()));
    assert_eq!(c.database_name(), "app");
    assert_eq!(c.timeouts().request, Duration::from_secs(2));
    assert_eq!(c.timeouts().busy, Duration::from_millis(250));
    // Servers given: DQLITE_SERVERS and its parameters are not used.
    let c = from_env("x:9");
    assert_eq!(c.seeds(), [Address::Tcp("x:9".into())]);
    assert_eq!(c.database_name(), "ignored");
    assert_eq!(c.timeouts().request, Duration::from_secs(8));
    // Bad variables are named, when they are used.
    let fill = |vars: &[(&str, &str)], text: &str| {
        ConnectionSettings::parse(text)
            .unwrap()
            .fill_from_env(env(vars))
    };
    let err = fill(&[("DQLITE_DIAL_TIMEOUT", "soon")], "h:1").unwrap_err();
    assert!(err.to_string().contains("DQLITE_DIAL_TIMEOUT"), "{err}");
    let err = fill(&[("DQLITE_SERVERS", "h")], "").unwrap_err();
    assert!(err.to_string().contains("DQLITE_SERVERS"), "{err}");
    assert!(fill(&[("DQLITE_SERVERS", "h")], "h:1").is_ok());
    assert!(
        fill(
            &[("DQLITE_DIAL_TIMEOUT", "soon")],
            "dqlite://h:1?dial_timeout=1"
        )
        .is_ok()
    );
    let none = fill(&[], "").unwrap();
    assert!(
        none.into_config()
            .unwrap_err()
            .to_string()
            .contains("DQLITE_SERVERS")
    );
}
