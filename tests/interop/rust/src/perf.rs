//! Perf: rust-libp2p's own /perf/1.0.0 implementation, the `libp2p-perf`
//! crate (0.3.0, the newest on crates.io), run in the libp2p 0.53 swarm it
//! was written for (renamed `libp2p053` here; the rest of rspeer uses
//! 0.57): tcp, noise or tls, yamux.  For peerlock's perf server and
//! `peerlock perf` client.
//!
//!   rspeer perf-client --key FILE [--host H] --port N --peer ID
//!                      [--security noise|tls] --upload N --download N
//!                      [--timeout SEC]
//!   rspeer perf-server --key FILE [--port N] [--port-file F]
//!                      [--security noise|tls] [--max-time SEC]
//!
//! perf-client dials /ip4/H/tcp/N/p2p/ID, runs one perf run through
//! libp2p-perf's client behaviour and prints one JSON line,
//!   {"type":"final","timeSeconds":T,"uploadBytes":U,"downloadBytes":D,
//!    "uploadSeconds":T1,"downloadSeconds":T2}
//! (its client reads exactly D bytes, and fails or hangs otherwise), exit
//! 0; 1 on any failure.
//!
//! perf-server prints `listening peer=ID port=N`, then one line per event:
//! `connected peer=ID`, `run peer=ID sent=N received=N` (libp2p-perf's
//! server statistics: bytes it sent, upload bytes it read after the
//! 8-byte request), `closed peer=ID`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p053 as p2p;
use libp2p_perf::{client, server, RunParams, RunUpdate};
use p2p::identity::Keypair;
use p2p::multiaddr::Protocol;
use p2p::swarm::{NetworkBehaviour, SwarmEvent};
use p2p::{Multiaddr, PeerId, Swarm};

use crate::{die, fail, runtime, say, Args, Fail, EXIT_FAIL};

/// The key file (libp2p PrivateKey protobuf) as a libp2p 0.53 keypair.
fn load_key053(file: &str) -> Keypair {
    let bytes = std::fs::read(file)
        .unwrap_or_else(|e| die(&format!("cannot read key {file}: {e}"), EXIT_FAIL));
    Keypair::from_protobuf_encoding(&bytes)
        .unwrap_or_else(|e| die(&format!("cannot load key {file}: {e}"), EXIT_FAIL))
}

/// A 0.53 swarm running behaviour B over tcp, one security, yamux.
fn build<B: NetworkBehaviour + Default>(key: Keypair, security: &str) -> Swarm<B> {
    let idle = Duration::from_secs(120);
    let b = p2p::SwarmBuilder::with_existing_identity(key).with_tokio();
    let r = match security {
        "noise" => b
            .with_tcp(
                p2p::tcp::Config::default().nodelay(true),
                p2p::noise::Config::new,
                p2p::yamux::Config::default,
            )
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_behaviour(|_| B::default()).map_err(|e| e.to_string()))
            .map(|b| {
                b.with_swarm_config(|c| c.with_idle_connection_timeout(idle))
                    .build()
            }),
        "tls" => b
            .with_tcp(
                p2p::tcp::Config::default().nodelay(true),
                p2p::tls::Config::new,
                p2p::yamux::Config::default,
            )
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_behaviour(|_| B::default()).map_err(|e| e.to_string()))
            .map(|b| {
                b.with_swarm_config(|c| c.with_idle_connection_timeout(idle))
                    .build()
            }),
        s => die(&format!("unknown --security {s} (noise|tls)"), 64),
    };
    r.unwrap_or_else(|e| die(&format!("swarm: {e}"), EXIT_FAIL))
}

async fn perf_client(
    key: Keypair,
    addr: Multiaddr,
    want: PeerId,
    security: String,
    params: RunParams,
) -> Result<String, Fail> {
    let mut sw: Swarm<client::Behaviour> = build(key, &security);
    if let Err(e) = sw.dial(addr.clone()) {
        return fail(EXIT_FAIL, format!("dial {addr}: {e}"));
    }
    loop {
        match sw.select_next_some().await {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == want => break,
            SwarmEvent::OutgoingConnectionError { error, .. } => {
                return fail(EXIT_FAIL, format!("dial {addr}: {error}"));
            }
            _ => {}
        }
    }
    if let Err(e) = sw.behaviour_mut().perf(want, params) {
        return fail(EXIT_FAIL, format!("perf: {e}"));
    }
    let t0 = Instant::now();
    loop {
        match sw.select_next_some().await {
            SwarmEvent::Behaviour(client::Event {
                result: Ok(RunUpdate::Final(f)),
                ..
            }) => {
                return Ok(format!(
                    "{{\"type\":\"final\",\"timeSeconds\":{:.6},\"uploadBytes\":{},\
                     \"downloadBytes\":{},\"uploadSeconds\":{:.6},\"downloadSeconds\":{:.6}}}",
                    t0.elapsed().as_secs_f64(),
                    params.to_send,
                    params.to_receive,
                    f.duration.upload.as_secs_f64(),
                    f.duration.download.as_secs_f64()
                ));
            }
            SwarmEvent::Behaviour(client::Event { result: Err(e), .. }) => {
                return fail(EXIT_FAIL, format!("perf: {e}"));
            }
            SwarmEvent::ConnectionClosed { cause, .. } => {
                return fail(EXIT_FAIL, format!("connection closed: {cause:?}"));
            }
            _ => {}
        }
    }
}

pub fn cmd_perf_client(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    let key = load_key053(args.need("key"));
    let host = args.get("host").unwrap_or("127.0.0.1");
    let port = args.num("port", None);
    let peer = args.need("peer");
    let want: PeerId = peer
        .parse()
        .unwrap_or_else(|e| die(&format!("bad --peer: {e}"), 64));
    let addr: Multiaddr = format!("/ip4/{host}/tcp/{port}/p2p/{peer}")
        .parse()
        .unwrap_or_else(|e| die(&format!("bad address: {e}"), 64));
    let security = args.get("security").unwrap_or("noise").to_string();
    let params = RunParams {
        to_send: args.num("upload", None) as usize,
        to_receive: args.num("download", None) as usize,
    };
    let limit = Duration::from_secs(args.num("timeout", Some(120)));
    let rt = runtime();
    let r = rt.block_on(async move {
        tokio::time::timeout(limit, perf_client(key, addr, want, security, params)).await
    });
    match r {
        Ok(Ok(line)) => {
            println!("{line}");
            std::process::exit(0);
        }
        Ok(Err(f)) => die(&format!("error: {}", f.msg), f.code),
        Err(_) => die(&format!("error: timeout after {}s", limit.as_secs()), EXIT_FAIL),
    }
}

pub fn cmd_perf_server(argv: &[String]) {
    let args = Args::parse(argv, &[]);
    let key = load_key053(args.need("key"));
    let port = args.num("port", Some(0));
    let port_file = args.get("port-file").map(str::to_string);
    let security = args.get("security").unwrap_or("noise").to_string();
    let max = Duration::from_secs(args.num("max-time", Some(900)));
    let me = key.public().to_peer_id();
    let rt = runtime();
    let r = rt.block_on(async move {
        tokio::time::timeout(max, async move {
            let mut sw: Swarm<server::Behaviour> = build(key, &security);
            let la: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
            if let Err(e) = sw.listen_on(la) {
                die(&format!("listen: {e}"), EXIT_FAIL);
            }
            loop {
                match sw.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => {
                        let p = address
                            .iter()
                            .find_map(|c| match c {
                                Protocol::Tcp(p) => Some(p),
                                _ => None,
                            })
                            .unwrap_or(0);
                        println!("listening peer={me} port={p}");
                        if let Some(pf) = &port_file {
                            let tmp = format!("{pf}.tmp");
                            if std::fs::write(&tmp, format!("{p}\n"))
                                .and_then(|_| std::fs::rename(&tmp, pf))
                                .is_err()
                            {
                                die(&format!("cannot write {pf}"), EXIT_FAIL);
                            }
                        }
                    }
                    SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                        println!("connected peer={peer_id}");
                    }
                    SwarmEvent::Behaviour(server::Event {
                        remote_peer_id,
                        stats,
                    }) => {
                        println!(
                            "run peer={remote_peer_id} sent={} received={}",
                            stats.params.to_send, stats.params.to_receive
                        );
                    }
                    SwarmEvent::ConnectionClosed { peer_id, .. } => {
                        println!("closed peer={peer_id}");
                    }
                    _ => {}
                }
            }
        })
        .await
    });
    if r.is_err() {
        say("perf-server: --max-time reached");
    }
}
