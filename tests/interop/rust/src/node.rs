//! Node mode: a full rust-libp2p Swarm (tcp, the chosen security upgrade,
//! yamux, identify, ping) with one application protocol, /x/echo, served
//! and opened through libp2p-stream.  For peerlock's node mode; raw-mode
//! peerlock cannot answer it.
//!
//!   rspeer node-dial --key FILE [--host H] --port N --peer ID
//!                    [--security noise|tls] --bytes N [--seed S]
//!                    [--no-half-close] [--timeout SEC]
//!   rspeer node-listen --key FILE [--port N] [--port-file F]
//!                      [--security noise|tls] [--max-time SEC]
//!
//! node-dial dials /ip4/H/tcp/N/p2p/ID, waits for identify (the remote's
//! answer to our /ipfs/id/1.0.0 request) and one successful ping, then
//! opens /x/echo, sends N bytes, closes its write side (yamux FIN) and
//! reads the echo to EOF (`--no-half-close`: reads exactly N bytes).  It
//! prints one line on stdout,
//!   ok bytes=N sha256=HEX remote=ID proto=P muxer=/yamux/1.0.0
//!      agent=A protocols=P1,P2,... ping_us=N
//! and exits 0; 3 when the remote proved another peer ID (the swarm's
//! DialError::WrongPeerId), 2 when the TCP connect failed, 1 otherwise.
//!
//! node-listen prints `listening peer=ID addr=MULTIADDR`, then one line per
//! event: `connected`, `identify` (what the remote sent us), `ping`,
//! `stream` (one per echoed /x/echo stream, `ok` or `error`) and `closed`.
//! It runs until killed or until --max-time (default 900 s) has passed.

use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::StreamExt;
use libp2p::identify;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::ping;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{DialError, NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, tls, yamux, Multiaddr, PeerId, Stream, StreamProtocol, Swarm};
use sha2::{Digest, Sha256};

use crate::{
    die, fail, hex, load_key, proto_name, runtime, say, test_data, transfer, Args, BoxIo, Fail,
    CHUNK, EXIT_CONNECT, EXIT_FAIL, EXIT_PEER_MISMATCH,
};

const ECHO: StreamProtocol = StreamProtocol::new("/x/echo");
const MUXER: &str = "/yamux/1.0.0";
const AGENT: &str = concat!("peerlock-interop-rspeer/", env!("CARGO_PKG_VERSION"));

#[derive(NetworkBehaviour)]
struct Node {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    stream: libp2p_stream::Behaviour,
}

/// A swarm with only what node mode needs.  One security protocol and one
/// muxer are configured, so an established connection used exactly those.
fn build_swarm(key: Keypair, security: &str) -> Swarm<Node> {
    let behaviour = |k: &Keypair| Node {
        identify: identify::Behaviour::new(
            identify::Config::new("ipfs/0.1.0".into(), k.public()).with_agent_version(AGENT.into()),
        ),
        ping: ping::Behaviour::new(ping::Config::new()),
        stream: libp2p_stream::Behaviour::new(),
    };
    // A peerlock forward keeps its session to us while it has streams;
    // in between, do not drop the connection on our own too soon.
    let idle = Duration::from_secs(120);
    let b = libp2p::SwarmBuilder::with_existing_identity(key).with_tokio();
    let r = match security {
        "noise" => b
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_behaviour(behaviour).map_err(|e| e.to_string()))
            .map(|b| {
                b.with_swarm_config(|c| c.with_idle_connection_timeout(idle))
                    .build()
            }),
        "tls" => b
            .with_tcp(
                tcp::Config::default().nodelay(true),
                tls::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_behaviour(behaviour).map_err(|e| e.to_string()))
            .map(|b| {
                b.with_swarm_config(|c| c.with_idle_connection_timeout(idle))
                    .build()
            }),
        s => die(&format!("unknown --security {s} (noise|tls)"), 64),
    };
    r.unwrap_or_else(|e| die(&format!("swarm: {e}"), EXIT_FAIL))
}

/// Watchdog: whatever the runtime does, the process ends after `d`.
fn watchdog(d: Duration, what: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(d);
        die(
            &format!("error: {what}: hard timeout after {}s", d.as_secs()),
            EXIT_FAIL,
        );
    });
}

fn protocols_list(p: &[StreamProtocol]) -> String {
    let v: Vec<String> = p.iter().map(|s| s.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

/// Words in our output lines carry no blanks.
fn word(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.replace(char::is_whitespace, "_")
    }
}

struct Connected {
    identify: Option<identify::Info>,
    ping: Option<Duration>,
}

async fn node_dial(args: &Args, key: Keypair, want: PeerId) -> Result<String, Fail> {
    let host = args.get("host").unwrap_or("127.0.0.1");
    let port = args.num("port", None);
    let n = args.num("bytes", None) as usize;
    let seed = args.get("seed").unwrap_or("1");
    let security = args.get("security").unwrap_or("noise");
    let proto = proto_name(security);
    let data = test_data(n, seed);
    let addr: Multiaddr = format!("/ip4/{host}/tcp/{port}")
        .parse()
        .unwrap_or_else(|e| die(&format!("bad --host/--port: {e}"), 64));
    let addr = addr.with(Protocol::P2p(want));

    let mut swarm = build_swarm(key, security);
    let opts = DialOpts::peer_id(want)
        .addresses(vec![addr.clone()])
        .build();
    if let Err(e) = swarm.dial(opts) {
        return fail(EXIT_FAIL, format!("dial {addr}: {e}"));
    }
    let t0 = Instant::now();
    let mut st = Connected {
        identify: None,
        ping: None,
    };
    let mut connected = false;
    // Connect, then wait for identify and one outbound ping.
    while !(connected && st.identify.is_some() && st.ping.is_some()) {
        match swarm.select_next_some().await {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                say(&format!(
                    "connected to {peer_id} over {proto} + {MUXER} in {} ms",
                    t0.elapsed().as_millis()
                ));
                connected = true;
            }
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                return Err(dial_failure(&addr, error));
            }
            SwarmEvent::ConnectionClosed { peer_id, cause, .. } => {
                return fail(
                    EXIT_FAIL,
                    format!("connection to {peer_id} closed before the echo: {cause:?}"),
                );
            }
            SwarmEvent::Behaviour(NodeEvent::Identify(ev)) => match ev {
                identify::Event::Received { peer_id, info, .. } if peer_id == want => {
                    say(&format!(
                        "identify from {peer_id}: agent {} protocol {} protocols {} observed {}",
                        info.agent_version,
                        info.protocol_version,
                        protocols_list(&info.protocols),
                        info.observed_addr
                    ));
                    st.identify = Some(info);
                }
                identify::Event::Error { peer_id, error, .. } if peer_id == want => {
                    return fail(EXIT_FAIL, format!("identify with {peer_id}: {error}"));
                }
                other => say(&format!("identify: {other:?}")),
            },
            SwarmEvent::Behaviour(NodeEvent::Ping(ev)) if ev.peer == want => match ev.result {
                Ok(rtt) => {
                    say(&format!("ping {want}: {} us", rtt.as_micros()));
                    st.ping.get_or_insert(rtt);
                }
                Err(e) => return fail(EXIT_FAIL, format!("ping {want}: {e}")),
            },
            other => say(&format!("event: {other:?}")),
        }
    }
    let info = st.identify.take().unwrap_or_else(|| unreachable!());
    let rtt = st.ping.unwrap_or_default();

    let mut control = swarm.behaviour().stream.new_control();
    // From here on the swarm runs in its own task.
    let driver = tokio::spawn(async move {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(NodeEvent::Ping(ev)) if ev.result.is_ok() => {}
                ev => say(&format!("event: {ev:?}")),
            }
        }
    });
    let stream = match control.open_stream(want, ECHO).await {
        Ok(s) => s,
        Err(e) => return fail(EXIT_FAIL, format!("open {ECHO}: {e}")),
    };
    let half_close = !args.flag("no-half-close");
    let r = transfer(Box::new(stream) as BoxIo, &data, half_close).await;
    driver.abort();
    r?;
    Ok(format!(
        "ok bytes={n} sha256={} remote={want} proto={proto} muxer={MUXER} agent={} protocols={} ping_us={} ms={}",
        hex(&Sha256::digest(&data)),
        word(&info.agent_version),
        protocols_list(&info.protocols),
        rtt.as_micros(),
        t0.elapsed().as_millis()
    ))
}

fn dial_failure(addr: &Multiaddr, e: DialError) -> Fail {
    match e {
        DialError::WrongPeerId { obtained, .. } => Fail {
            code: EXIT_PEER_MISMATCH,
            msg: format!("unexpected remote peer {obtained} at {addr}"),
        },
        DialError::Transport(errs) => {
            let refused = errs
                .iter()
                .any(|(_, te)| format!("{te:?}").contains("ConnectionRefused"));
            let msg = errs
                .iter()
                .map(|(a, te)| format!("{a}: {te}: {te:?}"))
                .collect::<Vec<_>>()
                .join("; ");
            Fail {
                code: if refused { EXIT_CONNECT } else { EXIT_FAIL },
                msg: format!("dial: {msg}"),
            }
        }
        e => Fail {
            code: EXIT_FAIL,
            msg: format!("dial {addr}: {e}"),
        },
    }
}

pub fn cmd_node_dial(argv: &[String]) {
    let args = Args::parse(argv, &["no-half-close"]);
    let key = load_key(args.need("key"));
    let want: PeerId = args
        .need("peer")
        .parse()
        .unwrap_or_else(|e| die(&format!("bad --peer: {e}"), 64));
    let limit = Duration::from_secs(args.num("timeout", Some(60)));
    watchdog(limit + Duration::from_secs(5), "node-dial");
    let rt = runtime();
    let r = rt.block_on(async { tokio::time::timeout(limit, node_dial(&args, key, want)).await });
    match r {
        Ok(Ok(line)) => {
            println!("{line}");
            std::process::exit(0);
        }
        Ok(Err(f)) => {
            let tag = if f.code == EXIT_PEER_MISMATCH {
                " (peer mismatch)"
            } else {
                ""
            };
            die(&format!("error{tag}: {}", f.msg), f.code);
        }
        Err(_) => die(
            &format!("error: timeout after {}s", limit.as_secs()),
            EXIT_FAIL,
        ),
    }
}

/// Echo one inbound /x/echo stream until the remote closes its write side,
/// then close ours.  Returns the number of bytes echoed.
async fn echo(stream: Stream) -> Result<u64, String> {
    let (mut rd, mut wr) = stream.split();
    let mut total: u64 = 0;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let r = rd
            .read(&mut buf)
            .await
            .map_err(|e| format!("read after {total} bytes: {e}"))?;
        if r == 0 {
            break;
        }
        total += r as u64;
        wr.write_all(&buf[..r])
            .await
            .map_err(|e| format!("write after {total} bytes: {e}"))?;
        wr.flush()
            .await
            .map_err(|e| format!("flush after {total} bytes: {e}"))?;
    }
    wr.close()
        .await
        .map_err(|e| format!("close after {total} bytes: {e}"))?;
    Ok(total)
}

pub fn cmd_node_listen(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    let key = load_key(args.need("key"));
    let port = args.num("port", Some(0)) as u16;
    let security = args.get("security").unwrap_or("noise").to_string();
    let proto = proto_name(&security);
    let port_file = args.get("port-file").map(str::to_string);
    let max_time = Duration::from_secs(args.num("max-time", Some(900)));
    watchdog(max_time, "node-listen");
    let self_id = key.public().to_peer_id();
    let rt = runtime();
    rt.block_on(async move {
        let mut swarm = build_swarm(key, &security);
        let mut incoming = swarm
            .behaviour()
            .stream
            .new_control()
            .accept(ECHO)
            .unwrap_or_else(|e| die(&format!("accept {ECHO}: {e}"), EXIT_FAIL));
        let at: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}")
            .parse()
            .unwrap_or_else(|e| die(&format!("bad --port: {e}"), 64));
        if let Err(e) = swarm.listen_on(at) {
            die(&format!("listen: {e}"), EXIT_FAIL);
        }
        tokio::spawn(async move {
            while let Some((peer, stream)) = incoming.next().await {
                tokio::spawn(async move {
                    let t0 = Instant::now();
                    match echo(stream).await {
                        Ok(n) => println!(
                            "stream remote={peer} proto={ECHO} ok bytes={n} ms={}",
                            t0.elapsed().as_millis()
                        ),
                        Err(e) => println!(
                            "stream remote={peer} proto={ECHO} error {}",
                            word(&e)
                        ),
                    }
                });
            }
        });
        let mut port_file = port_file;
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    let bound = address.iter().find_map(|p| match p {
                        Protocol::Tcp(p) => Some(p),
                        _ => None,
                    });
                    println!(
                        "listening peer={self_id} addr={address}/p2p/{self_id} proto={proto} muxer={MUXER}"
                    );
                    if let (Some(pf), Some(b)) = (port_file.take(), bound) {
                        let tmp = format!("{pf}.tmp");
                        if std::fs::write(&tmp, format!("{b}\n"))
                            .and_then(|_| std::fs::rename(&tmp, &pf))
                            .is_err()
                        {
                            die(&format!("cannot write {pf}"), EXIT_FAIL);
                        }
                    }
                }
                SwarmEvent::ConnectionEstablished {
                    peer_id, endpoint, ..
                } => println!(
                    "connected remote={peer_id} from={} proto={proto} muxer={MUXER}",
                    endpoint.get_remote_address()
                ),
                SwarmEvent::ConnectionClosed { peer_id, cause, .. } => println!(
                    "closed remote={peer_id} cause={}",
                    word(&format!("{cause:?}"))
                ),
                SwarmEvent::IncomingConnectionError { error, .. } => {
                    println!("incoming-error {}", word(&error.to_string()))
                }
                SwarmEvent::Behaviour(NodeEvent::Identify(identify::Event::Received {
                    peer_id,
                    info,
                    ..
                })) => println!(
                    "identify remote={peer_id} agent={} protocol_version={} protocols={}",
                    word(&info.agent_version),
                    word(&info.protocol_version),
                    protocols_list(&info.protocols)
                ),
                SwarmEvent::Behaviour(NodeEvent::Identify(identify::Event::Sent {
                    peer_id, ..
                })) => println!("identify-sent remote={peer_id}"),
                SwarmEvent::Behaviour(NodeEvent::Identify(identify::Event::Error {
                    peer_id,
                    error,
                    ..
                })) => println!(
                    "identify-error remote={peer_id} {}",
                    word(&error.to_string())
                ),
                SwarmEvent::Behaviour(NodeEvent::Ping(ev)) => match ev.result {
                    Ok(rtt) => println!("ping remote={} ok us={}", ev.peer, rtt.as_micros()),
                    Err(e) => println!("ping remote={} error {}", ev.peer, word(&e.to_string())),
                },
                other => say(&format!("event: {other:?}")),
            }
        }
    });
}
