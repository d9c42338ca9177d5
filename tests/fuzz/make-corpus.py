#!/usr/bin/env python3
"""make-corpus.py - write the seed corpus of the libFuzzer harnesses.

Seeds come from the spec vectors (tests/vectors/*.json), the
multistream-select byte strings (multistream-select.md section 2) and
conf/peerlock.conf, laid out in each harness's input format (see the
comment at the top of tests/fuzz/fuzz_<target>.c).  Output:
tests/fuzz/corpus/<target>/<name>.  Run from anywhere; rerun after a
vector or input format changes and commit the result.  Regression inputs
(corpus/<target>/crash-*) are kept, everything else is rewritten.
"""
import json
import os
import struct

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
VEC = os.path.join(TOP, "tests", "vectors")
OUT = os.path.join(TOP, "tests", "fuzz", "corpus")


def vec(name):
    with open(os.path.join(VEC, name)) as f:
        return json.load(f)


def h(s):
    return bytes.fromhex(s)


def msg(text):
    """One multistream message: uvarint(N) || text || '\\n' (N < 128)."""
    b = text.encode() + b"\n"
    assert len(b) < 128
    return bytes([len(b)]) + b


def u16(n):
    return struct.pack(">H", n)


def pb_len(field, data):
    """One length-delimited protobuf field: tag, uvarint length, bytes."""
    n, v = len(data), b""
    while True:
        if n < 0x80:
            v += bytes([n])
            break
        v += bytes([(n & 0x7f) | 0x80])
        n >>= 7
    return bytes([field << 3 | 2]) + v + data


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clean():
    if not os.path.isdir(OUT):
        return
    for target in os.listdir(OUT):
        d = os.path.join(OUT, target)
        for name in os.listdir(d):
            if not name.startswith("crash-"):
                os.unlink(os.path.join(d, name))


def main():
    ex = vec("noise-libp2p-derived-example.json")
    pid = vec("peer-id-vectors.json")
    tls = vec("tls-vectors.json")
    clean()

    hdr, noise, tlsp = msg("/multistream/1.0.0"), msg("/noise"), \
        msg("/tls/1.0.0")
    na, ls = msg("na"), msg("ls")
    m1, m2, m3 = h(ex["wire_msg1"]), h(ex["wire_msg2"]), h(ex["wire_msg3"])
    t_i2r = h(ex["wire_transport_init_to_resp_n0"])
    t_r2i = h(ex["wire_transport_resp_to_init_n0"])
    p2, p3 = h(ex["msg2_payload_NoiseHandshakePayload"]), \
        h(ex["msg3_payload_NoiseHandshakePayload"])

    # mss: flags (bit 0 listener, bit 1 {tls,noise}), 3 chunk sizes, bytes
    write("mss", "dialer-echo", b"\x00\x00\x00\x00" + hdr + noise + m1)
    write("mss", "dialer-na-then-echo",
          b"\x02" + bytes([len(hdr + na), len(noise), 0]) + hdr + na + noise)
    write("mss", "dialer-bytewise", b"\x00\x01\x01\x01" + hdr + noise)
    write("mss", "listener-pipelined", b"\x01\x00\x00\x00" + hdr + noise + m1)
    write("mss", "listener-tls-first",
          b"\x01\x07\x03\x00" + hdr + tlsp + noise)
    write("mss", "listener-ls-yamux", b"\x03\x05\x00\x09" + hdr + ls +
          msg("/yamux/1.0.0") + msg("/ipfs/id/1.0.0") + tlsp)
    write("mss", "listener-ls-answer", b"\x01\x00\x00\x00" + hdr +
          bytes.fromhex("15072f6e6f6973650a0b2f746c732f312e302e300a0a"))

    # Noise: framed wire messages of the derived example
    write("noise_responder", "transcript", m1 + m3 + t_i2r)
    write("noise_responder", "msg1", m1)
    write("noise_initiator", "transcript", m2 + t_r2i)
    write("frame", "first-frame", b"\x00" + t_i2r + t_i2r)
    write("frame", "nonce-end", b"\x01" + t_i2r + t_i2r + t_i2r)

    # secchan: peer mode (payload that authenticates), raw mode
    write("secchan", "dialer-peer", b"\x00" + u16(len(p2)) + p2 + b"hello")
    write("secchan", "listener-peer", b"\x01" + u16(len(p3)) + p3 + b"hi")
    write("secchan", "dialer-raw", b"\x02\x00" + hdr + noise + m2)
    write("secchan", "listener-raw", b"\x03\x00" + hdr + noise + m1 + m3)
    write("secchan", "listener-raw-bytewise", b"\x03\x01" + hdr + noise + m1)
    # bit 2: with muxers; the example's payloads list /yamux/1.0.0
    write("secchan", "dialer-peer-mux", b"\x04" + u16(len(p2)) + p2 + b"hi")
    write("secchan", "listener-peer-mux", b"\x05" + u16(len(p3)) + p3 + b"hi")

    # payload and key protobufs
    write("payload", "msg2", p2)
    write("payload", "msg3", p3)
    # NoiseExtensions shapes (noise.md 5, 9): js's empty message, two
    # muxers with a certhash and an unknown field, too many muxers
    ident = p2[:p2.index(b"\x22\x0e")]
    write("payload", "ext-empty", ident + b"\x22\x00")
    write("payload", "ext-two-muxers-certhash", ident + pb_len(4,
          pb_len(1, b"\x12\x00") + b"\x18\x05" +
          pb_len(2, b"/yamux/1.0.0") + pb_len(2, b"/mplex/6.7.0")))
    write("payload", "ext-17-muxers", ident + pb_len(4,
          b"".join(pb_len(2, b"/m%d" % i) for i in range(17))))
    write("payload", "ext-nul-id", ident + pb_len(4,
          pb_len(2, b"/yamux\x00/1.0.0")))

    # identify: a hand-built message (test_identify.c), a Kubo-like one,
    # an empty one, one with unknown fields
    known = (pb_len(1, b"\x08\x01\x12\x20" + b"\x11" * 32) +
             pb_len(2, h("047f000001060fa1")) +
             pb_len(2, h("2900000000000000000000000000000001060fa1")) +
             pb_len(3, b"/ipfs/id/1.0.0") + pb_len(3, b"/ipfs/ping/1.0.0") +
             pb_len(4, h("04c0a8010206d431")) + pb_len(5, b"ipfs/0.1.0") +
             pb_len(6, b"peerlock/0.1") + pb_len(8, h("aabbcc")))
    write("identify", "known", known)
    kubo = (pb_len(5, b"ipfs/0.1.0") + pb_len(6, b"kubo/0.29.0/") +
            pb_len(1, h(ex["msg2_payload_NoiseHandshakePayload"])[2:38]) +
            b"".join(pb_len(2, h(a)) for a in (
                "047f000001060fa1", "04c0a80102060fa1",
                "2900000000000000000000000000000001060fa1",
                "047f000001910203e8cc03")) +
            b"".join(pb_len(3, p.encode()) for p in (
                "/ipfs/bitswap/1.2.0", "/ipfs/id/1.0.0",
                "/ipfs/id/push/1.0.0", "/ipfs/kad/1.0.0",
                "/ipfs/ping/1.0.0", "/libp2p/circuit/relay/0.2.0/stop",
                "/x/")) +
            pb_len(4, h("04c0a8010206d431")) + pb_len(8, b"\x0a" * 40))
    write("identify", "kubo-like", kubo)
    write("identify", "empty", b"")
    write("identify", "unknown-fields", b"\x38\x96\x01" +
          pb_len(9, b"hi") + pb_len(3, b"/id"))
    for k, v in pid["keys"].items():
        name = k.lower().replace(" ", "-")
        if k.endswith("public key"):
            write("pubkey", name, h(v))
        else:
            write("privkey", name, h(v))
    write("privkey", "noise-example-init",
          h(ex["init_identity_privkey_protobuf"]))
    write("privkey", "noise-example-resp",
          h(ex["resp_identity_privkey_protobuf"]))

    # TLS certificates: flags byte, then DER
    for i, v in enumerate(tls["vectors"]):
        write("tlscert", "vector-%d" % (i + 1),
              b"\x00" + h(v["certificate_der_hex"]))
        pk = v.get("derived_here", {}).get("signedkey_publicKey_hex")
        if pk:
            write("pubkey", "tls-vector-%d" % (i + 1), h(pk))

    # peer IDs: text forms and raw multihashes
    n = 0
    for k, v in pid["derived_peer_ids_NOT_IN_SPEC"].items():
        for form in ("base58btc", "cidv1_base32"):
            write("peerid", "%s-%d" % (form, n), v[form].encode())
        write("peerid", "multihash-%d" % n, h(v["multihash_hex"]))
        n += 1
    for k in pid["spec_string_examples"]:
        write("peerid", "spec-%d" % n, k.encode())
        n += 1

    # multiaddrs
    ed = ex["init_peer_id"]
    cid = pid["derived_peer_ids_NOT_IN_SPEC"]["ED25519 public key"][
        "cidv1_base32"]
    for i, s in enumerate([
            "/ip4/127.0.0.1/tcp/4001/p2p/" + ed,
            "/ip6/2001:db8::1/tcp/443",
            "/dns4/example.com/tcp/4001/ipfs/" + cid,
            "/dns6/node.example/tcp/1",
            "/dns/localhost/tcp/0",
            "/ip6/::ffff:1.2.3.4/tcp/65535/p2p/QmYyQSo1c1Ym7orWxLYvCrM2Em"
            "xFTANf8wXmmE7DWjhx5N",
            "127.0.0.1:15432",
            "[::1]:8080",
            "db.internal:5432"]):
        write("multiaddr", "addr-%d" % i, s.encode())

    # yamux: flags (bit 0 client core first, bit 1 512 KiB windows,
    # bit 2 take output only when blocked), 2 seed bytes, wire bytes
    def yf(t, f, sid, n):
        return struct.pack(">BBHII", 0, t, f, sid, n)
    syn1, ack1 = yf(1, 1, 1, 0), yf(1, 2, 1, 0)
    data = yf(0, 0, 1, 19) + b"hello, yamux world!"
    fin1, rst1 = yf(0, 4, 1, 0), yf(1, 8, 1, 0)
    ping7, pong7, bye = yf(2, 1, 0, 7), yf(2, 2, 0, 7), yf(3, 0, 0, 0)
    write("yamux", "server-stream", b"\x00\x00\x01" + syn1 + data + fin1 +
          ping7 + yf(1, 0, 1, 0x10000) + rst1 + bye)
    write("yamux", "server-many", b"\x02\x12\x34" + b"".join(
        yf(0, 1, i, 3) + b"abc" for i in range(1, 40, 2)) + ping7 +
          b"".join(yf(1, 4, i, 0) for i in range(1, 40, 2)))
    write("yamux", "client-stream", b"\x01\x00\x02" + ack1 +
          yf(1, 1, 2, 0) + yf(0, 0, 2, 4) + b"\x00\x01\x02\x03" +
          yf(1, 2, 3, 0) + yf(1, 0xa, 3, 5) + pong7 + yf(2, 2, 0, 1) +
          yf(1, 0, 1, 0x40000) + yf(0, 4, 2, 0) + bye)
    write("yamux", "ping-flood-held", b"\x04\x00\x03" + ping7 * 1500)
    write("yamux", "window-exceeded", b"\x00\x00\x04" + syn1 +
          yf(0, 0, 1, 0x40001) + b"x" * 64)
    write("yamux", "unknown-streams", b"\x00\x00\x05" +
          yf(0, 0, 9, 40) + bytes(range(40)) + yf(1, 0, 9, 4096) +
          yf(0, 4, 9, 0) + rst1 + ping7)
    write("yamux", "bad-version", b"\x00\x00\x06" + b"\x01" + ping7[1:])
    write("yamux", "bad-type", b"\x01\x00\x07" + yf(4, 0, 0, 0))
    write("yamux", "wrong-parity", b"\x01\x00\x08" + syn1)
    write("yamux", "duplicate-syn", b"\x00\x00\x09" + syn1 + syn1)

    # configs
    with open(os.path.join(TOP, "conf", "peerlock.conf"), "rb") as f:
        write("config", "peerlock.conf", f.read())
    write("config", "minimal", b"[peerlock]\nidentity = /k\n"
          b"[forward.a]\nlisten = 127.0.0.1:1\n"
          b"peer = /ip4/1.2.3.4/tcp/1/p2p/" + ed.encode() + b"\n")
    write("config", "expose-continued", b"[peerlock]\nidentity = /k\n"
          b"listen = /ip4/0.0.0.0/tcp/4001\nsecurity = tls, noise\n"
          b"[expose.web]\npeers = " + ed.encode() + b"\n  " +
          pid["derived_peer_ids_NOT_IN_SPEC"]["rsa public key"][
              "base58btc"].encode() + b"\ntarget = [::1]:80\n"
          b"[expose.any]\npeers = *\ntarget = 127.0.0.1:81\n")


if __name__ == "__main__":
    main()
