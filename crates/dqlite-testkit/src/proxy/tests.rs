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
