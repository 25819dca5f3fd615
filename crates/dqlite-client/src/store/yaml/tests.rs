use super::*;

fn node(id: u64, address: &str, role: Option<Role>) -> NodeInfo {
    NodeInfo {
        id,
        address: address.into(),
        role,
    }
}

#[test]
fn reads_what_go_dqlite_1_11_writes() {
    // dqlite-demo 1.11.5 (go-dqlite through ghodss/yaml: keys sorted).
    let text = "- Address: 127.0.0.1:38161\n  ID: 3297041220608546238\n  Role: 0\n\
                    - Address: 127.0.0.1:42825\n  ID: 5094752306481225478\n  Role: 2\n";
    assert_eq!(
        parse(text).unwrap(),
        vec![
            node(3297041220608546238, "127.0.0.1:38161", Some(Role::Voter)),
            node(5094752306481225478, "127.0.0.1:42825", Some(Role::Spare)),
        ]
    );
}

#[test]
fn writes_what_go_dqlite_2_writes() {
    // dqlite-demo 2.0.0's cluster.yaml, with an id above i64::MAX.
    let text = "- ID: 3297041220608546238\n  Address: 127.0.0.1:38075\n  Role: 0\n\
                    - ID: 17487065021036315201\n  Address: 127.0.0.1:35265\n  Role: 2\n";
    let nodes = parse(text).unwrap();
    assert_eq!(nodes[1].id, 17487065021036315201);
    assert_eq!(encode(&nodes).unwrap(), text);
    assert_eq!(encode(&[]).unwrap(), "[]\n");
    assert!(parse("[]\n").unwrap().is_empty());
    assert!(parse("").unwrap().is_empty());
    assert!(parse("null\n").unwrap().is_empty());
    assert!(parse("---\n# nothing\n").unwrap().is_empty());
}

#[test]
fn quotes_as_go_yaml_does() {
    // Expected forms are what go's YAML encoder (and libyaml) emit for each string.
    for (address, written) in [
        ("127.0.0.1:9001", "127.0.0.1:9001"),
        ("node-1.example:9001", "node-1.example:9001"),
        ("/run/dqlite.sock", "/run/dqlite.sock"),
        ("[::1]:9001", "'[::1]:9001'"),
        ("@dqlite-1", "'@dqlite-1'"),
        ("it's:1", "it's:1"),
        ("'quoted'", "'''quoted'''"),
        ("9001", "\"9001\""),
        ("1:20", "\"1:20\""),
        ("0x1f", "\"0x1f\""),
        ("1.5e3", "\"1.5e3\""),
        ("yes", "\"yes\""),
        ("~", "\"~\""),
        ("2001-12-14", "\"2001-12-14\""),
        ("- x", "'- x'"),
        ("a: b", "'a: b'"),
        ("a #b", "'a #b'"),
        ("a#b", "a#b"),
        ("x:", "'x:'"),
        ("? x", "'? x'"),
        ("---x", "'---x'"),
        (" lead", "' lead'"),
        ("höst:1", "höst:1"),
    ] {
        let text = encode(&[node(1, address, None)]).unwrap();
        assert_eq!(
            text,
            format!("- ID: 1\n  Address: {written}\n  Role: 0\n"),
            "{address:?}"
        );
        let back = parse(&text).unwrap();
        assert_eq!(back[0].address, address, "{address:?} reads back");
    }
    assert!(encode(&[node(1, "a\nb", None)]).is_err());
    assert!(encode(&[node(1, "a\tb", None)]).is_err());
}

#[test]
fn reads_hand_edited_stores() {
    let text = "\u{feff}--- # nodes\n# a comment\n-   id: 0x10\n    address: \"h\\x41:1\"  # c\n    role: Stand-By\n-\n  Address: 'x:2'\n  Extra: ignored\n- {ignored: 1}\n";
    let err = parse(text).unwrap_err();
    assert!(err.contains("line 9"), "{err}");
    let text = text.replace("- {ignored: 1}\n", "");
    assert_eq!(
        parse(&text).unwrap(),
        vec![node(16, "hA:1", Some(Role::Standby)), node(0, "x:2", None)]
    );
}

#[test]
fn refuses_what_it_cannot_read_with_the_line() {
    for (text, line) in [
        ("- ID: 1\n", "line 1"),                                    // no address
        ("- Address: a:1\n  ID: -1\n", "line 2"),                   // negative id
        ("- Address: a:1\n  ID: 18446744073709551616\n", "line 2"), // too big
        ("- Address: a:1\n  Role: 3\n", "line 2"),
        ("- Address: a:1\n    ID: 1\n", "line 2"), // keys not aligned
        ("- Address: a:1\n  Address: b:1\n", "line 2"),
        ("- Address: &a x:1\n", "line 1"),
        ("- Address: [::1]:1\n", "line 1"),
        ("- Address: 'x:1\n", "line 1"),
        ("- Address: \"x\\q\"\n", "line 1"),
        ("- Address: \"x\\u12\"\n", "line 1"),
        ("Address: a:1\n", "line 1"),
        ("- Address: a:1\n- ID\n", "line 2"),
        ("- Address: a:1\n\t- x\n", "line 2"),
        ("- Address: a: 1\n", "line 1"),
        ("-\n", "line 1"),
        ("- Address: \n", "line 1"),
        ("- Address: a:1\n  foo\n", "line 2"),
        ("- Address: a:1\n x: 1\n", "line 2"),
        ("[x]\n", "line 1"),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.starts_with(line), "{text:?}: {err}");
    }
}

#[test]
fn hostile_input_ends_in_an_error_not_a_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let alphabet = b"- :'\"\\#\nIDAddressRole0129x@[]{}&*!|>~\t\xc3\xa9";
    for _ in 0..20_000 {
        let mut bytes = Vec::new();
        for _ in 0..(seed % 60) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(alphabet[usize::try_from(seed % alphabet.len() as u64).unwrap()]);
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(mut nodes) = parse(&text) {
            // Whatever was accepted writes back and reads the same (an unknown role
            // is written as go-dqlite's zero value, voter).
            if let Ok(again) = encode(&nodes) {
                for n in &mut nodes {
                    n.role.get_or_insert(Role::Voter);
                }
                assert_eq!(parse(&again).unwrap(), nodes, "{text:?}");
            }
        }
    }
}
