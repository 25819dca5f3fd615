#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::rewrite::SERVER_FRAME;
use super::*;

fn server_frame(id: u64, address: &str) -> Vec<u8> {
    let mut body = id.to_le_bytes().to_vec();
    body.extend_from_slice(address.as_bytes());
    body.push(0);
    body.resize(body.len().next_multiple_of(8), 0);
    let mut frame = u32::try_from(body.len() / 8)
        .unwrap()
        .to_le_bytes()
        .to_vec();
    frame.extend_from_slice(&[SERVER_FRAME, 0, 0, 0]);
    frame.extend_from_slice(&body);
    frame
}

#[test]
fn the_leader_address_is_rewritten_across_chunk_boundaries() {
    let other = [1u8, 0, 0, 0, 7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8].repeat(2);
    let mut stream = other.clone();
    stream.extend(server_frame(1, "127.0.0.1:9001"));
    stream.extend(&other);
    stream.extend(server_frame(2, "127.0.0.1:9002"));
    let mut expected = other.clone();
    expected.extend(server_frame(1, "127.0.0.1:40000"));
    expected.extend(&other);
    expected.extend(server_frame(2, "127.0.0.1:9002"));
    for chunk in [1, 3, 8, 13, stream.len()] {
        let mut rewriter = Rewriter::default();
        let mut out = Vec::new();
        for piece in stream.chunks(chunk) {
            rewriter.feed(piece, "127.0.0.1:9001", "127.0.0.1:40000", &mut out);
        }
        assert_eq!(out, expected, "chunks of {chunk}");
    }
}

fn echo_server() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

#[test]
fn forwards_then_resets_after_the_budget() {
    let (listener, address) = echo_server();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 || s.write_all(&buf[..n]).is_err() {
                break;
            }
        }
    });
    let proxy = FaultProxy::start(address).unwrap();
    let mut c = TcpStream::connect(proxy.address()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    proxy.set_fault(Fault::ResetAfterServerBytes(3));
    c.write_all(b"world").unwrap();
    let mut got = Vec::new();
    let err = loop {
        let mut b = [0u8; 16];
        match c.read(&mut b) {
            Ok(0) => break None,
            Ok(n) => got.extend_from_slice(&b[..n]),
            Err(e) => break Some(e),
        }
    };
    assert_eq!(got, b"wor");
    assert_eq!(
        err.map(|e| e.kind()),
        Some(io::ErrorKind::ConnectionReset),
        "a reset, not a clean close"
    );
    let stats = proxy.stats();
    assert_eq!(stats.resets, 1);
    assert_eq!(stats.bytes_to_client, 8);
}

#[test]
fn a_blackhole_accepts_and_never_answers() {
    let (_listener, address) = echo_server();
    let proxy = FaultProxy::start(address).unwrap();
    proxy.set_fault(Fault::Blackhole);
    let mut c = TcpStream::connect(proxy.address()).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    c.write_all(b"anyone?").unwrap();
    let err = c.read(&mut [0u8; 8]).unwrap_err();
    assert!(is_timeout(&err), "{err}");
    assert_eq!(proxy.stats().bytes_to_server, 0);
}

/// A node that reads the client's first 8 bytes, then answers a frame of another type and
/// a SERVER frame naming itself as leader, through a proxy that advertises itself. Returns
/// the answer the client received and the one it would if the proxy rewrote it.
fn leader_answer_through_proxy(client_start: [u8; 8]) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (listener, node) = echo_server();
    let mut other = [2u8, 0, 0, 0, 7, 0, 0, 0].to_vec();
    other.extend([9u8; 16]);
    let answer = [other.clone(), server_frame(1, &node)].concat();
    let sent = answer.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.read_exact(&mut [0u8; 8]).unwrap();
        s.write_all(&sent).unwrap();
        // Open until the client is done.
        let _ = s.read(&mut [0u8; 1]);
    });
    let proxy = FaultProxy::start(node).unwrap();
    proxy.advertise_self(true);
    let rewritten = [other, server_frame(1, proxy.address())].concat();
    let mut c = TcpStream::connect(proxy.address()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(&client_start).unwrap();
    let mut got = vec![0u8; answer.len().min(rewritten.len())];
    c.read_exact(&mut got).unwrap();
    (got, answer, rewritten)
}

#[test]
fn a_plain_client_sees_the_proxy_as_leader() {
    let version = 0x8610_4dd7_6043_3fe5u64.to_le_bytes();
    let (got, _, rewritten) = leader_answer_through_proxy(version);
    assert_eq!(got, rewritten);
}

#[test]
fn a_tls_connection_is_never_rewritten() {
    // The start of a ClientHello: the bytes that follow are ciphertext, which can look like
    // a SERVER frame.
    let client_hello = [TLS_HANDSHAKE_RECORD, 3, 1, 0, 0xc8, 1, 0, 0];
    let (got, answer, _) = leader_answer_through_proxy(client_hello);
    assert_eq!(got, answer);
}
