// jsnode.mjs - a full js-libp2p node for peerlock's node-mode interop tests:
// libp2p with @libp2p/tcp, @chainsafe/libp2p-noise or @libp2p/tls,
// @chainsafe/libp2p-yamux, @libp2p/identify and @libp2p/ping, exactly as a
// js-libp2p application would run it.
//
//   node jsnode.mjs serve --key FILE --port-file F [--security noise|tls]
//       serves /x/echo (echo, then close when the remote closes) until killed
//   node jsnode.mjs dial --key FILE --addr MULTIADDR [--security noise|tls]
//       [--protocol /x/echo] [--streams N] [--bytes N] [--ping]
//       [--identify] [--refused /x/nope] [--timeout SECONDS]
//       opens N concurrent streams of the protocol, sends N bytes on each,
//       half-closes and checks the echo; --ping pings the peer with
//       /ipfs/ping/1.0.0; --identify waits for identify and reports the
//       peer's agent and protocols; --refused checks that a stream of that
//       protocol is refused.  Prints one JSON line; exit 0 only if every
//       check held.
// Keys are libp2p PrivateKey protobuf files (jspeer.mjs keygen writes them).

import './polyfill.mjs' // must stay the first import

import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const CHUNK = 64 * 1024

function say (msg) {
  process.stderr.write(`jsnode[${process.pid}]: ${msg}\n`)
}

function parseArgs (argv, flags) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) throw new Error(`unexpected argument: ${a}`)
    const name = a.slice(2)
    if (flags.includes(name)) out[name] = true
    else out[name] = argv[++i]
  }
  return out
}

function bytesOf (chunk) {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray()
}

async function newNode (args, listen) {
  const key = privateKeyFromProtobuf(readFileSync(args.key))
  const sec = args.security ?? 'noise'
  return createLibp2p({
    privateKey: key,
    addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] },
    transports: [tcp()],
    connectionEncrypters: [sec === 'tls' ? tls() : noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
    connectionManager: { maxConnections: 100 },
    // its periodic pings would race the test's own ping (js allows one
    // outbound ping stream per connection)
    connectionMonitor: { enabled: false }
  })
}

// Echo every byte back; close our side once the remote closed its own.
async function echo (stream) {
  try {
    for await (const chunk of stream) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  } catch (err) {
    say(`echo stream: ${err.message}`)
    stream.abort(err)
  }
}

async function serve (args) {
  const node = await newNode(args, true)
  await node.handle('/x/echo', echo, { maxInboundStreams: 1024 })
  const addr = node.getMultiaddrs()[0]
  const port = /\/tcp\/(\d+)/.exec(addr.toString())[1]
  writeFileSync(args['port-file'] + '.tmp', `${port}\n`)
  renameSync(args['port-file'] + '.tmp', args['port-file'])
  say(`serving /x/echo on ${addr.toString()} as ${node.peerId.toString()}`)
  process.on('SIGTERM', async () => {
    await node.stop()
    process.exit(0)
  })
}

// One stream: send n seeded bytes, half-close, check the echo.
async function oneStream (node, ma, proto, n, seed) {
  const stream = await node.dialProtocol(ma, proto)
  const out = createHash('sha256')
  const back = createHash('sha256')
  let got = 0
  const sender = (async () => {
    let left = n
    let ctr = seed
    while (left > 0) {
      const len = Math.min(left, CHUNK)
      const buf = Buffer.alloc(len)
      for (let i = 0; i < len; i++) buf[i] = (ctr + i * 7) & 0xff
      ctr++
      out.update(buf)
      left -= len
      if (!stream.send(buf)) await stream.onDrain()
    }
    await stream.close()
  })()
  for await (const chunk of stream) {
    const b = bytesOf(chunk)
    back.update(b)
    got += b.byteLength
  }
  await sender
  if (got !== n) throw new Error(`stream ${seed}: echoed ${got} of ${n} bytes`)
  if (out.digest('hex') !== back.digest('hex')) {
    throw new Error(`stream ${seed}: echo differs from what was sent`)
  }
}

async function dial (args) {
  const node = await newNode(args, false)
  const ma = multiaddr(args.addr)
  const proto = args.protocol ?? '/x/echo'
  const streams = Number(args.streams ?? 1)
  const n = Number(args.bytes ?? 1024)
  const res = { ok: true }
  const fail = (what, err) => {
    res.ok = false
    res[what] = `error: ${err?.message ?? err}`
  }
  const conn = await node.dial(ma)
  res.peer = conn.remotePeer.toString()
  res.muxer = conn.multiplexer ?? null
  res.encryption = conn.encryption ?? null
  if (streams > 0) {
    const t0 = Date.now()
    const results = await Promise.allSettled(
      Array.from({ length: streams }, (_, i) => oneStream(node, ma, proto, n, i + 1)))
    const bad = results.filter(r => r.status === 'rejected')
    res.streams_ok = streams - bad.length
    res.streams_ms = Date.now() - t0
    if (bad.length > 0) fail('streams', bad[0].reason)
  }
  if (args.ping) {
    try {
      res.ping_ms = await node.services.ping.ping(ma)
    } catch (err) { fail('ping', err) }
  }
  if (args.identify) {
    try {
      // identify runs when the connection opens; give it a moment
      let peer
      for (let i = 0; i < 50; i++) {
        peer = await node.peerStore.get(conn.remotePeer)
        if (peer.metadata.get('AgentVersion') != null) break
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      const agent = peer.metadata.get('AgentVersion')
      res.agent = agent != null ? new TextDecoder().decode(agent) : null
      res.protocols = peer.protocols
      if (res.agent == null) fail('identify', 'no agent version learned')
    } catch (err) { fail('identify', err) }
  }
  if (args.refused != null) {
    try {
      const s = await node.dialProtocol(ma, args.refused)
      s.abort(new Error('unexpected'))
      fail('refused', `${args.refused} was accepted`)
    } catch (err) {
      res.refused = `refused: ${err.message}`
    }
  }
  res.connections = node.getConnections(conn.remotePeer).length
  await node.stop()
  process.stdout.write(JSON.stringify(res) + '\n')
  process.exit(res.ok ? 0 : 1)
}

const cmd = process.argv[2]
const args = parseArgs(process.argv.slice(3), ['ping', 'identify'])
const timer = setTimeout(() => {
  say(`timeout after ${args.timeout ?? 60} s`)
  process.exit(2)
}, 1000 * Number(args.timeout ?? 60))
if (cmd === 'serve') clearTimeout(timer)
try {
  if (cmd === 'serve') await serve(args)
  else if (cmd === 'dial') await dial(args)
  else throw new Error('usage: jsnode.mjs serve|dial ...')
} catch (err) {
  say(`error: ${err.message}`)
  process.exit(1)
}
