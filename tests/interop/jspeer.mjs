// jspeer.mjs - a minimal js-libp2p peer for peerlock's interop tests.
//
// It speaks exactly what peerlock speaks on a raw TCP socket: one round of
// multistream-select 1.0.0 for the security protocol, then /noise
// (@chainsafe/libp2p-noise) or /tls/1.0.0 (@libp2p/tls), then the raw byte
// stream inside the secure channel.  No muxer, no libp2p node.
//
//   node jspeer.mjs keygen --type ed25519|secp256k1|rsa --out FILE
//   node jspeer.mjs id --key FILE
//   node jspeer.mjs listen --key FILE --port N [--port-file F]
//                          [--security noise|tls] [--expect-peer ID]
//                          [--muxers ID,ID...]
//   node jspeer.mjs dial --key FILE --host H --port N --peer ID
//                        [--security noise|tls] --bytes N [--seed S]
//                        [--half-close] [--timeout SECONDS]
//                        [--muxers ID,ID...]
// --muxers makes the encrypter advertise those stream muxers (Noise
// extensions, TLS ALPN: inlined muxer negotiation) as a libp2p node with
// them configured does; the muxer the handshake agreed on is reported
// ("muxer ID" or "muxer none" on stderr), and the channel still carries
// raw bytes: jspeer runs no muxer.
// dial exits 0 when the echo matched, 3 when the remote authenticated as
// another peer than --peer, 1 on any other error.

import './polyfill.mjs' // must stay the first import

import { createCipheriv, createHash } from 'node:crypto'
import {
  chmodSync, readFileSync, realpathSync, renameSync, writeFileSync
} from 'node:fs'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import {
  generateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf
} from '@libp2p/crypto/keys'
import { defaultLogger, logger } from '@libp2p/logger'
import { handle as mssHandle, select as mssSelect } from '@libp2p/multistream-select'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { tls } from '@libp2p/tls'
import { AbstractMessageStream } from '@libp2p/utils'

const HANDSHAKE_MS = 10_000
const CHUNK = 64 * 1024
const KEY_TYPES = { ed25519: 'Ed25519', secp256k1: 'secp256k1', rsa: 'RSA' }

function say (msg) {
  process.stderr.write(`jspeer[${process.pid}]: ${msg}\n`)
}

function die (msg, code = 1) {
  say(msg)
  process.exit(code)
}

// Exit status of `dial` when the remote proved a different identity.
const EXIT_PEER_MISMATCH = 3

// A readable message for anything thrown or rejected (some libp2p code
// paths reject with a bare Event).
function errText (err) {
  if (typeof Event !== 'undefined' && err instanceof Event) {
    const inner = err.error?.message
    return `stream ${err.type} event${inner != null ? `: ${inner}` : ''}`
  }
  return err?.message ?? String(err)
}

// The remote authenticated fine, but as another peer than expected:
// jspeer's own check, @libp2p/tls's UnexpectedPeerError, or noise's
// identity-key comparison (noise also wraps bad signatures in
// UnexpectedPeerError, so look at the message there).
function isPeerMismatch (err) {
  if (err?.code === 'PEER_MISMATCH') return true
  if (err?.name !== 'UnexpectedPeerError') return false
  return err.message === 'Unexpected Peer' ||
    /does not match expected remote identity key/.test(err.message)
}

// The final verdict for an error that ends the command.
function fatal (err) {
  const code = isPeerMismatch(err) ? EXIT_PEER_MISMATCH : 1
  die(`error${code === EXIT_PEER_MISMATCH ? ' (peer mismatch)' : ''}: ${errText(err)}`, code)
}

// --name value pairs; names in `flags` take no value.
function parseArgs (argv, flags = []) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('--')) die(`unexpected argument: ${a}`)
    const name = a.slice(2)
    if (flags.includes(name)) {
      out[name] = true
      continue
    }
    if (i + 1 >= argv.length) die(`missing value for ${a}`)
    out[name] = argv[++i]
  }
  return out
}

function need (args, name) {
  if (args[name] == null) die(`--${name} is required`)
  return args[name]
}

// The --muxers list (comma-separated), or [].
function muxerArg (args) {
  return args.muxers != null ? args.muxers.split(',').filter(m => m !== '') : []
}

// Secure options: negotiate a muxer only when we advertise some.
function secureOpts (remotePeer, signal, muxers) {
  return { remotePeer, signal, skipStreamMuxerNegotiation: muxers.length === 0 }
}

function intArg (args, name, dflt) {
  const v = args[name] ?? dflt
  if (v == null) die(`--${name} is required`)
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n < 0) die(`--${name}: bad number ${v}`)
  return n
}

/*
 * A net.Socket as a libp2p MessageStream, with TCP half-close: close() only
 * shuts down our write side (FIN) and a FIN from the remote is reported as
 * remoteCloseWrite.  @libp2p/tcp's own adapter cannot be used here: it is
 * not exported, and it turns a remote FIN into a full close.
 */
class SocketStream extends AbstractMessageStream {
  constructor (socket, direction) {
    super({ log: logger(`jspeer:${direction}`), direction })
    this.socket = socket
    socket.on('data', buf => this.onData(buf))
    socket.on('end', () => this.onRemoteCloseWrite())
    socket.on('drain', () => this.safeDispatchEvent('drain'))
    socket.on('error', err => this.abort(err))
    socket.on('close', hadError => {
      if (hadError) this.abort(new Error('TCP connection failed'))
      else this.onTransportClosed()
    })
  }

  sendData (data) {
    let sentBytes = 0
    let canSendMore = true
    for (const buf of data) {
      sentBytes += buf.byteLength
      canSendMore = this.socket.write(buf)
      if (!canSendMore) break
    }
    return { sentBytes, canSendMore }
  }

  sendReset () {
    if (this.socket.writableEnded) this.socket.destroy()
    else this.socket.resetAndDestroy()
  }

  sendPause () {
    this.socket.pause()
  }

  sendResume () {
    this.socket.resume()
  }

  // Half-close: flush what is queued, then send FIN.
  async close () {
    if (this.writeStatus !== 'writable') return
    this.writeStatus = 'closing'
    await flush(this)
    await new Promise(resolve => this.socket.end(resolve))
    this.writeStatus = 'closed'
    if (this.remoteWriteStatus === 'closed') this.onTransportClosed()
  }
}

// Wait until a MessageStream has handed all queued bytes to its transport.
async function flush (stream) {
  while (stream.writeBufferLength > 0 || stream.writableNeedsDrain) {
    if (stream.status !== 'open') throw new Error(`stream ${stream.status}`)
    if (stream.writableNeedsDrain) await stream.onDrain()
    await new Promise(resolve => setImmediate(resolve))
  }
}

// Resolve once `raw` (the TCP stream) has delivered everything it will ever
// deliver, so every decrypted byte has been dispatched above it.
function rawDrained (raw) {
  if (raw.readableEnded || raw.status !== 'open') return Promise.resolve()
  return new Promise(resolve => {
    raw.addEventListener('end', resolve, { once: true })
    raw.addEventListener('close', resolve, { once: true })
  })
}

/*
 * Call cb once when the remote has closed its sending side of the secure
 * channel and all its data has been dispatched as 'message' events.
 * Noise reports the TCP FIN as remoteCloseWrite (possibly before bytes still
 * queued in `raw` are decrypted, hence rawDrained).  @libp2p/tls reports
 * nothing: its TLSSocket (reachable only as the undocumented `.socket`)
 * emits 'end' on the peer's close_notify, after all data.
 */
function onRemoteEof (conn, raw, cb) {
  let fired = false
  const once = () => {
    if (!fired) {
      fired = true
      setImmediate(cb)
    }
  }
  if (conn.socket != null) {
    conn.socket.once('end', once)
    // A TCP FIN without close_notify never reaches the TLSSocket (the
    // adapter ignores it) and, half-open, we would wait forever: give TLS
    // a moment to deliver what it has, then treat the FIN as the EOF.
    raw.addEventListener('remoteCloseWrite', () => setTimeout(once, 500))
  } else {
    conn.addEventListener('remoteCloseWrite', () => {
      rawDrained(raw).then(once)
    })
  }
}

/*
 * Half-close the secure channel: flush, then end our sending side while
 * keeping the receiving side open.  For noise, close() does that (it ends
 * the TCP write side via SocketStream.close).  For tls, close() calls
 * destroySoon() on the TLSSocket, which also tears down reading, so end()
 * the (half-open) TLSSocket directly: close_notify, then TCP FIN.
 */
async function closeWrite (conn) {
  await flush(conn)
  if (conn.socket != null) {
    await new Promise(resolve => conn.socket.end(resolve))
  } else {
    await conn.close()
  }
}

function loadKey (file) {
  try {
    return privateKeyFromProtobuf(readFileSync(file))
  } catch (err) {
    die(`cannot load key ${file}: ${err.message}`)
  }
}

// The connection encrypter, built from the pieces a libp2p node would give
// it.  The upgrader stub lists the muxer ids of --muxers (none by default)
// as stream muxer factories that are never used.
function makeEncrypter (security, privateKey, muxers = []) {
  const components = {
    peerId: peerIdFromPrivateKey(privateKey),
    privateKey,
    logger: defaultLogger(),
    upgrader: {
      getStreamMuxers: () => new Map(muxers.map(id => [id, { protocol: id }]))
    }
  }
  if (security === 'noise') return noise()(components)
  if (security === 'tls') return tls()(components)
  die(`unknown --security ${security} (noise|tls)`)
}

// Noise only compares the identity key when the expected peer ID embeds it
// (ed25519, secp256k1); an RSA peer ID is a hash, so compare the IDs here.
function checkPeer (got, want) {
  if (want != null && !got.equals(want)) {
    const err = new Error(`unexpected remote peer ${got} (expected ${want})`)
    err.code = 'PEER_MISMATCH'
    throw err
  }
}

function toBytes (data) {
  return data instanceof Uint8Array ? Uint8Array.from(data) : data.slice()
}

function chunksOf (data) {
  return data instanceof Uint8Array ? [data] : [...data]
}

// N deterministic pseudo-random bytes: AES-256-CTR keystream, key from seed.
function testData (n, seed) {
  const key = createHash('sha256').update(`jspeer:${seed}`).digest()
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return Buffer.concat([c.update(Buffer.alloc(n)), c.final()])
}

async function cmdKeygen (argv) {
  const args = parseArgs(argv)
  const type = KEY_TYPES[need(args, 'type')]
  if (type == null) die(`unknown --type ${args.type} (ed25519|secp256k1|rsa)`)
  const out = need(args, 'out')
  const key = type === 'RSA'
    ? await generateKeyPair('RSA', 2048)
    : await generateKeyPair(type)
  writeFileSync(out, privateKeyToProtobuf(key), { mode: 0o600 })
  chmodSync(out, 0o600)
  process.stdout.write(`${peerIdFromPrivateKey(key).toString()}\n`)
}

// Print the peer ID of a protobuf private key file (e.g. one peerlock wrote).
async function cmdId (argv) {
  const args = parseArgs(argv)
  const key = loadKey(need(args, 'key'))
  process.stdout.write(`${peerIdFromPrivateKey(key).toString()}\n`)
}

// One inbound connection: negotiate, authenticate, echo until EOF.
async function serveConn (socket, enc, expect, muxers) {
  const who = `${socket.remoteAddress}:${socket.remotePort}`
  const raw = new SocketStream(socket, 'inbound')
  let conn
  try {
    const signal = AbortSignal.timeout(HANDSHAKE_MS)
    const proto = await mssHandle(raw, [enc.protocol], { signal })
    const sec = await enc.secureInbound(raw, secureOpts(expect, signal,
      muxers))
    checkPeer(sec.remotePeer, expect)
    say(`${who}: ${proto} remote peer ${sec.remotePeer}`)
    if (muxers.length > 0) say(`${who}: muxer ${sec.streamMuxer?.protocol ?? 'none'}`)
    conn = sec.connection
    const n = await echo(conn, raw)
    say(`${who}: echoed ${n} bytes, closed`)
  } catch (err) {
    say(`${who}: error: ${errText(err)}`)
    if (conn != null) conn.abort(err)
    raw.abort(err)
    socket.destroy()
  }
}

// Echo every decrypted byte; on the remote's EOF finish and close our side.
async function echo (conn, raw) {
  let total = 0
  await new Promise((resolve, reject) => {
    conn.addEventListener('message', evt => {
      total += evt.data.byteLength
      try {
        conn.send(toBytes(evt.data))
      } catch (err) {
        reject(err)
      }
    })
    onRemoteEof(conn, raw, resolve)
    conn.addEventListener('close', evt => {
      if (evt.error != null) reject(evt.error)
      else resolve()
    })
  })
  if (conn.status === 'open') await closeWrite(conn)
  return total
}

async function cmdListen (argv) {
  const args = parseArgs(argv)
  const key = loadKey(need(args, 'key'))
  const port = intArg(args, 'port', 0)
  const muxers = muxerArg(args)
  const enc = makeEncrypter(args.security ?? 'noise', key, muxers)
  const expect = args['expect-peer'] != null
    ? peerIdFromString(args['expect-peer'])
    : undefined
  const server = net.createServer({ allowHalfOpen: true }, socket => {
    serveConn(socket, enc, expect, muxers)
  })
  server.on('error', err => die(`listen: ${err.message}`))
  server.listen(port, '127.0.0.1', () => {
    const bound = server.address().port
    say(`listening on 127.0.0.1:${bound} as ${peerIdFromPrivateKey(key)} (${enc.protocol})`)
    if (args['port-file'] != null) {
      const tmp = `${args['port-file']}.tmp`
      writeFileSync(tmp, `${bound}\n`)
      renameSync(tmp, args['port-file'])
    }
  })
}

async function cmdDial (argv) {
  const args = parseArgs(argv, ['half-close'])
  const key = loadKey(need(args, 'key'))
  const host = args.host ?? '127.0.0.1'
  const port = intArg(args, 'port')
  const n = intArg(args, 'bytes')
  const seed = args.seed ?? '1'
  const halfClose = args['half-close'] === true
  const timeoutMs = intArg(args, 'timeout', 60) * 1000
  const muxers = muxerArg(args)
  const enc = makeEncrypter(args.security ?? 'noise', key, muxers)
  let expect
  try {
    expect = peerIdFromString(need(args, 'peer'))
  } catch (err) {
    die(`bad --peer: ${err.message}`)
  }
  const timer = setTimeout(() => die(`timeout after ${timeoutMs / 1000}s`),
    timeoutMs)

  const data = testData(n, seed)
  const sent = createHash('sha256').update(data).digest('hex')

  const socket = net.connect({ host, port, allowHalfOpen: true })
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  const raw = new SocketStream(socket, 'outbound')
  const signal = AbortSignal.timeout(HANDSHAKE_MS)
  await mssSelect(raw, [enc.protocol], { signal })
  const sec = await enc.secureOutbound(raw, secureOpts(expect, signal, muxers))
  checkPeer(sec.remotePeer, expect)
  say(`connected to ${sec.remotePeer} with ${enc.protocol}`)
  if (muxers.length > 0) say(`muxer ${sec.streamMuxer?.protocol ?? 'none'}`)
  const conn = sec.connection

  const hash = createHash('sha256')
  let got = 0
  const received = new Promise((resolve, reject) => {
    const eof = (why) => {
      if (got === n) resolve()
      else reject(new Error(`${why} after ${got} of ${n} bytes`))
    }
    conn.addEventListener('message', evt => {
      for (const c of chunksOf(evt.data)) hash.update(c)
      got += evt.data.byteLength
      if (got > n) reject(new Error(`received ${got} bytes, sent ${n}`))
      else if (got === n && !halfClose) resolve()
    })
    onRemoteEof(conn, raw, () => eof('remote EOF'))
    conn.addEventListener('close', evt => {
      if (evt.error != null) reject(evt.error)
      else rawDrained(raw).then(() => setImmediate(eof, 'connection closed'))
    })
  })
  received.catch(() => {}) // reported below, after sending

  for (let off = 0; off < n; off += CHUNK) {
    if (conn.status !== 'open') break
    if (!conn.send(data.subarray(off, Math.min(off + CHUNK, n)))) {
      await conn.onDrain()
    }
  }
  if (halfClose) await closeWrite(conn)
  // Safety net: if every handle is gone while a promise is still pending,
  // Node would exit 0 without a verdict.
  process.once('beforeExit', () => die('event loop drained before the echo completed'))
  if (n > 0 || halfClose) await received
  clearTimeout(timer)
  const back = hash.digest('hex')
  if (back !== sent) throw new Error(`echo mismatch: sent sha256=${sent} got sha256=${back}`)
  process.stdout.write(`ok bytes=${n} sha256=${sent}\n`)
  if (!halfClose) {
    // a clean FIN rather than a reset; do not wait long for it
    const t = setTimeout(() => process.exit(0), 1000)
    await conn.close().catch(() => {})
    clearTimeout(t)
  }
  process.exit(0)
}

const usage = `usage:
  node jspeer.mjs keygen --type ed25519|secp256k1|rsa --out FILE
  node jspeer.mjs id --key FILE
  node jspeer.mjs listen --key FILE --port N [--port-file F] [--security noise|tls] [--expect-peer ID] [--muxers ID,ID...]
  node jspeer.mjs dial --key FILE --host H --port N --peer ID [--security noise|tls] --bytes N [--seed S] [--half-close] [--timeout SEC] [--muxers ID,ID...]`

// The helpers other test scripts may reuse.
export {
  SocketStream, closeWrite, checkPeer, flush, makeEncrypter, onRemoteEof,
  say, toBytes
}

function main () {
  const cmds = { keygen: cmdKeygen, id: cmdId, listen: cmdListen, dial: cmdDial }
  const cmd = cmds[process.argv[2]]
  if (cmd == null) {
    process.stderr.write(`${usage}\n`)
    process.exit(2)
  }
  process.on('unhandledRejection', err => {
    // a listener serves many connections: one failure must not stop it
    if (cmd === cmdListen) say(`unhandled: ${errText(err)}`)
    else fatal(err)
  })
  cmd(process.argv.slice(3)).catch(fatal)
}

if (process.argv[1] != null &&
    realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main()
}
