//! rspeer - a minimal rust-libp2p peer for peerlock's interop tests.
//!
//! It speaks exactly what peerlock speaks on a raw TCP socket: one round of
//! multistream-select 1.0.0 for the security protocol (crate
//! multistream-select), then /noise (libp2p_noise::Config) or /tls/1.0.0
//! (libp2p_tls::Config), used as the connection upgrades a swarm would use,
//! then raw bytes inside the secure channel.  No muxer, no swarm.
//! node-dial and node-listen (node.rs) are node mode instead: a full Swarm
//! with yamux, identify, ping and /x/echo.
//!
//!   rspeer keygen --type ed25519|secp256k1|ecdsa|rsa --out FILE [--pkcs1 DER]
//!   rspeer id --key FILE
//!   rspeer listen --key FILE [--port N] [--port-file F]
//!                 [--security noise|tls] [--expect-peer ID]
//!   rspeer dial --key FILE [--host H] --port N --peer ID
//!               [--security noise|tls] --bytes N [--seed S]
//!               [--half-close] [--timeout SEC]
//!   rspeer node-dial / node-listen   (node mode, see node.rs)
//!
//! Key files hold the libp2p PrivateKey protobuf.  rust-libp2p cannot
//! generate RSA keys, so `keygen --type rsa` wraps a PKCS#1 RSAPrivateKey
//! DER made elsewhere (openssl) given with --pkcs1.
//!
//! dial prints `ok bytes=N sha256=HEX remote=ID proto=P` on stdout and exits
//! 0 when the echo matched; it exits 3 when the remote authenticated as
//! another peer than --peer, 2 when the TCP connect failed, 1 on any other
//! error (handshake, mismatch, early close, timeout).  Diagnostics go to
//! stderr as `rspeer[PID]: ...`.

use std::process::exit;
use std::time::Duration;

use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::core::upgrade::{InboundConnectionUpgrade, OutboundConnectionUpgrade};
use libp2p::identity::Keypair;
use libp2p::PeerId;
use multistream_select::{dialer_select_proto, listener_select_proto, Version};
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::TokioAsyncReadCompatExt;

mod node;
mod perf;

const HANDSHAKE: Duration = Duration::from_secs(10);
const CHUNK: usize = 64 * 1024;

const EXIT_FAIL: i32 = 1;
const EXIT_CONNECT: i32 = 2;
const EXIT_PEER_MISMATCH: i32 = 3;

/// The secure channel, whichever protocol produced it.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}
type BoxIo = Box<dyn Io>;

/// An error with the exit status it maps to.
struct Fail {
    code: i32,
    msg: String,
}

fn fail<T>(code: i32, msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail {
        code,
        msg: msg.into(),
    })
}

fn say(msg: &str) {
    eprintln!("rspeer[{}]: {}", std::process::id(), msg);
}

fn die(msg: &str, code: i32) -> ! {
    say(msg);
    exit(code);
}

/// `--name value` pairs; names in `flags` take no value.
struct Args {
    pairs: Vec<(String, Option<String>)>,
}

impl Args {
    fn parse(argv: &[String], flags: &[&str]) -> Args {
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < argv.len() {
            let a = &argv[i];
            let Some(name) = a.strip_prefix("--") else {
                die(&format!("unexpected argument: {a}"), 64);
            };
            if flags.contains(&name) {
                pairs.push((name.to_string(), None));
            } else {
                if i + 1 >= argv.len() {
                    die(&format!("missing value for {a}"), 64);
                }
                i += 1;
                pairs.push((name.to_string(), Some(argv[i].clone())));
            }
            i += 1;
        }
        Args { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    fn need(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| die(&format!("--{name} is required"), 64))
    }

    fn num(&self, name: &str, dflt: Option<u64>) -> u64 {
        match self.get(name) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(&format!("--{name}: bad number {v}"), 64)),
            None => dflt.unwrap_or_else(|| die(&format!("--{name} is required"), 64)),
        }
    }
}

/// Protobuf PrivateKey { Type = RSA (0), Data = PKCS#1 DER }, encoded by
/// hand: rust-libp2p refuses to encode RSA keys (it can decode them).
fn rsa_protobuf(pkcs1: &[u8]) -> Vec<u8> {
    let mut out = vec![0x08, 0x00, 0x12];
    let mut n = pkcs1.len();
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(pkcs1);
    out
}

fn load_key(file: &str) -> Keypair {
    let bytes = std::fs::read(file)
        .unwrap_or_else(|e| die(&format!("cannot read key {file}: {e}"), EXIT_FAIL));
    Keypair::from_protobuf_encoding(&bytes)
        .unwrap_or_else(|e| die(&format!("cannot load key {file}: {e}"), EXIT_FAIL))
}

fn write_private(file: &str, data: &[u8]) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = format!("{file}.tmp");
    let r = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(data))
        .and_then(|_| std::fs::rename(&tmp, file));
    if let Err(e) = r {
        die(&format!("cannot write {file}: {e}"), EXIT_FAIL);
    }
}

fn cmd_keygen(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    let out = args.need("out");
    let (key, bytes) = match args.need("type") {
        "ed25519" => {
            let k = Keypair::generate_ed25519();
            let b = k.to_protobuf_encoding();
            (k, b)
        }
        "secp256k1" => {
            let k = Keypair::generate_secp256k1();
            let b = k.to_protobuf_encoding();
            (k, b)
        }
        "ecdsa" => {
            let k = Keypair::generate_ecdsa();
            let b = k.to_protobuf_encoding();
            (k, b)
        }
        "rsa" => {
            let file = args.need("pkcs1");
            let der = std::fs::read(file)
                .unwrap_or_else(|e| die(&format!("cannot read {file}: {e}"), EXIT_FAIL));
            let pb = rsa_protobuf(&der);
            let k = Keypair::from_protobuf_encoding(&pb).unwrap_or_else(|e| {
                die(&format!("{file} is not a PKCS#1 RSA key: {e}"), EXIT_FAIL)
            });
            (k, Ok(pb))
        }
        t => die(&format!("unknown --type {t} (ed25519|secp256k1|ecdsa|rsa)"), 64),
    };
    let bytes = bytes.unwrap_or_else(|e| die(&format!("encode key: {e}"), EXIT_FAIL));
    write_private(out, &bytes);
    println!("{}", key.public().to_peer_id());
}

fn cmd_id(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    println!("{}", load_key(args.need("key")).public().to_peer_id());
}

fn proto_name(security: &str) -> &'static str {
    match security {
        "noise" => "/noise",
        "tls" => "/tls/1.0.0",
        s => die(&format!("unknown --security {s} (noise|tls)"), 64),
    }
}

/// Negotiate the security protocol with multistream-select and run
/// rust-libp2p's own upgrade over the result.  Returns the authenticated
/// remote peer and the secure channel.
async fn secure(
    tcp: TcpStream,
    key: &Keypair,
    security: &str,
    dialer: bool,
) -> Result<(PeerId, BoxIo), Fail> {
    let io = tcp.compat();
    let proto = proto_name(security);
    let negotiated = if dialer {
        dialer_select_proto(io, [proto], Version::V1).await
    } else {
        listener_select_proto(io, [proto]).await
    };
    let (_, io) = match negotiated {
        Ok(v) => v,
        Err(e) => return fail(EXIT_FAIL, format!("multistream-select {proto}: {e}")),
    };
    let r: Result<(PeerId, BoxIo), String> = match (security, dialer) {
        ("noise", d) => {
            let cfg = match libp2p::noise::Config::new(key) {
                Ok(c) => c,
                Err(e) => return fail(EXIT_FAIL, format!("noise config: {e}")),
            };
            let up = if d {
                cfg.upgrade_outbound(io, proto).await
            } else {
                cfg.upgrade_inbound(io, proto).await
            };
            up.map(|(p, s)| (p, Box::new(s) as BoxIo))
                .map_err(|e| format!("noise handshake: {e}"))
        }
        (_, d) => {
            let cfg = match libp2p::tls::Config::new(key) {
                Ok(c) => c,
                Err(e) => return fail(EXIT_FAIL, format!("tls config: {e}")),
            };
            let up = if d {
                cfg.upgrade_outbound(io, proto).await
            } else {
                cfg.upgrade_inbound(io, proto).await
            };
            up.map(|(p, s)| (p, Box::new(s) as BoxIo))
                .map_err(|e| format!("tls handshake: {e:?}"))
        }
    };
    r.or_else(|m| fail(EXIT_FAIL, m))
}

/// N deterministic pseudo-random bytes: SHA-256 in counter mode over
/// sha256("rspeer:" || seed).
fn test_data(n: usize, seed: &str) -> Vec<u8> {
    let key = Sha256::digest(format!("rspeer:{seed}").as_bytes());
    let mut out = Vec::with_capacity(n + 32);
    let mut ctr: u64 = 0;
    while out.len() < n {
        let mut h = Sha256::new();
        h.update(key);
        h.update(ctr.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        ctr += 1;
    }
    out.truncate(n);
    out
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Send `data`, read the echo concurrently, compare.  With `half_close`,
/// close our sending side after the data and read to EOF; otherwise read
/// exactly data.len() bytes, then close.
async fn transfer(io: BoxIo, data: &[u8], half_close: bool) -> Result<(), Fail> {
    let n = data.len();
    let (mut rd, mut wr) = io.split();
    let writer = async {
        for c in data.chunks(CHUNK) {
            wr.write_all(c).await?;
            wr.flush().await?;
        }
        if half_close {
            wr.close().await?;
        } else {
            wr.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let reader = async {
        let mut h = Sha256::new();
        let mut got = 0usize;
        let mut buf = vec![0u8; CHUNK];
        loop {
            if !half_close && got >= n {
                break;
            }
            let r = rd.read(&mut buf).await?;
            if r == 0 {
                break;
            }
            h.update(&buf[..r]);
            got += r;
        }
        Ok::<_, std::io::Error>((got, h.finalize()))
    };
    let (w, r) = futures::join!(writer, reader);
    if let Err(e) = w {
        return fail(EXIT_FAIL, format!("write: {e}"));
    }
    let (got, digest) = match r {
        Ok(v) => v,
        Err(e) => return fail(EXIT_FAIL, format!("read: {e}")),
    };
    if !half_close {
        // best effort: the echo is complete, the verdict is in
        let _ = wr.close().await;
    }
    if got < n {
        return fail(
            EXIT_FAIL,
            format!("closed early: EOF after {got} of {n} bytes"),
        );
    }
    let sent = Sha256::digest(data);
    if got != n || digest != sent {
        return fail(
            EXIT_FAIL,
            format!(
                "echo mismatch: sent {n} bytes sha256={}, received {got} bytes sha256={}",
                hex(&sent),
                hex(&digest)
            ),
        );
    }
    Ok(())
}

async fn dial(args: &Args, key: Keypair, expect: PeerId) -> Result<String, Fail> {
    let host = args.get("host").unwrap_or("127.0.0.1");
    let port = args.num("port", None);
    let n = args.num("bytes", None) as usize;
    let seed = args.get("seed").unwrap_or("1");
    let security = args.get("security").unwrap_or("noise");
    let proto = proto_name(security);
    let data = test_data(n, seed);

    let tcp = match TcpStream::connect((host, port as u16)).await {
        Ok(s) => s,
        Err(e) => return fail(EXIT_CONNECT, format!("connect {host}:{port}: {e}")),
    };
    let (remote, io) = match tokio::time::timeout(HANDSHAKE, secure(tcp, &key, security, true))
        .await
    {
        Ok(r) => r?,
        Err(_) => return fail(EXIT_FAIL, format!("{proto} handshake timeout")),
    };
    // Neither upgrade knows the expected peer (a swarm compares after the
    // upgrade), so compare here, before any application byte is sent.
    if remote != expect {
        return fail(
            EXIT_PEER_MISMATCH,
            format!("unexpected remote peer {remote} (expected {expect})"),
        );
    }
    say(&format!("{proto} remote peer {remote}"));
    transfer(io, &data, args.flag("half-close")).await?;
    Ok(format!(
        "ok bytes={n} sha256={} remote={remote} proto={proto}",
        hex(&Sha256::digest(&data))
    ))
}

fn cmd_dial(argv: &[String]) {
    let args = Args::parse(argv, &["half-close"]);
    let key = load_key(args.need("key"));
    let expect: PeerId = args
        .need("peer")
        .parse()
        .unwrap_or_else(|e| die(&format!("bad --peer: {e}"), 64));
    let limit = Duration::from_secs(args.num("timeout", Some(60)));
    let rt = runtime();
    let r = rt.block_on(async { tokio::time::timeout(limit, dial(&args, key, expect)).await });
    match r {
        Ok(Ok(line)) => {
            println!("{line}");
            exit(0);
        }
        Ok(Err(f)) => {
            let tag = if f.code == EXIT_PEER_MISMATCH {
                " (peer mismatch)"
            } else {
                ""
            };
            die(&format!("error{tag}: {}", f.msg), f.code);
        }
        Err(_) => die(&format!("error: timeout after {}s", limit.as_secs()), EXIT_FAIL),
    }
}

/// One inbound connection: negotiate, authenticate, echo until EOF, then
/// close our side.
async fn serve(tcp: TcpStream, key: Keypair, security: String, expect: Option<PeerId>) {
    let who = tcp
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "?".into());
    let proto = proto_name(&security);
    let sec = tokio::time::timeout(HANDSHAKE, secure(tcp, &key, &security, false)).await;
    let (remote, io) = match sec {
        Ok(Ok(v)) => v,
        Ok(Err(f)) => return say(&format!("{who}: error: {}", f.msg)),
        Err(_) => return say(&format!("{who}: error: {proto} handshake timeout")),
    };
    if let Some(want) = expect {
        if remote != want {
            return say(&format!(
                "{who}: error (peer mismatch): unexpected remote peer {remote} (expected {want})"
            ));
        }
    }
    say(&format!("{who}: {proto} remote peer {remote}"));
    let (mut rd, mut wr) = io.split();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    loop {
        match rd.read(&mut buf).await {
            Ok(0) => break,
            Ok(r) => {
                total += r as u64;
                // libp2p-noise's Output buffers writes into a frame until
                // flushed: flush each chunk or a small echo never leaves.
                let w = async {
                    wr.write_all(&buf[..r]).await?;
                    wr.flush().await
                };
                if let Err(e) = w.await {
                    return say(&format!("{who}: error: write: {e}"));
                }
            }
            Err(e) => return say(&format!("{who}: error: read after {total} bytes: {e}")),
        }
    }
    if let Err(e) = wr.close().await {
        return say(&format!("{who}: error: close: {e}"));
    }
    say(&format!("{who}: echoed {total} bytes, closed"));
}

fn cmd_listen(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    let key = load_key(args.need("key"));
    let port = args.num("port", Some(0)) as u16;
    let security = args.get("security").unwrap_or("noise").to_string();
    let proto = proto_name(&security);
    let expect: Option<PeerId> = args.get("expect-peer").map(|s| {
        s.parse()
            .unwrap_or_else(|e| die(&format!("bad --expect-peer: {e}"), 64))
    });
    let port_file = args.get("port-file").map(str::to_string);
    let rt = runtime();
    rt.block_on(async move {
        let l = TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| die(&format!("listen: {e}"), EXIT_FAIL));
        let bound = l.local_addr().map(|a| a.port()).unwrap_or(0);
        say(&format!(
            "listening on 127.0.0.1:{bound} as {} ({proto})",
            key.public().to_peer_id()
        ));
        if let Some(pf) = port_file {
            let tmp = format!("{pf}.tmp");
            if std::fs::write(&tmp, format!("{bound}\n"))
                .and_then(|_| std::fs::rename(&tmp, &pf))
                .is_err()
            {
                die(&format!("cannot write {pf}"), EXIT_FAIL);
            }
        }
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    tokio::spawn(serve(s, key.clone(), security.clone(), expect));
                }
                Err(e) => say(&format!("accept: {e}")),
            }
        }
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .unwrap_or_else(|e| die(&format!("tokio runtime: {e}"), EXIT_FAIL))
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        die(
            "usage: rspeer keygen|id|listen|dial|node-dial|node-listen|perf-client|perf-server (see the source)",
            64,
        );
    };
    let rest = &argv[1..];
    match cmd.as_str() {
        "keygen" => cmd_keygen(rest),
        "id" => cmd_id(rest),
        "listen" => cmd_listen(rest),
        "dial" => cmd_dial(rest),
        "node-dial" => node::cmd_node_dial(rest),
        "node-listen" => node::cmd_node_listen(rest),
        "perf-client" => perf::cmd_perf_client(rest),
        "perf-server" => perf::cmd_perf_server(rest),
        c => die(
            &format!(
                "unknown command {c} (keygen|id|listen|dial|node-dial|node-listen|\
                 perf-client|perf-server)"
            ),
            64,
        ),
    }
}
