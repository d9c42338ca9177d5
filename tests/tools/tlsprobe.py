#!/usr/bin/env python3
"""tlsprobe.py - RFC 8446 conformance probes against a peerlock /tls/1.0.0
listener (tests/e2e/tls-conformance.sh, docs/tls.md "Conformance probes").

An independent TLS 1.3 client: tlslite-ng does the handshake (key
exchange, CertificateVerify, Finished) with a libp2p client certificate
made here with pyca/cryptography; after the handshake this program seals
and opens the records itself (tlslite-ng's AEAD objects and HKDF, our own
framing), so that a probe can send what no honest client would: records
of any inner type, size, padding or tag, KeyUpdates of any shape, alerts
of any level.

  tlsprobe.py gen-id FILE      new Ed25519 identity (seed, hex), prints
                               its peer ID
  tlsprobe.py run --port P --id FILE --peer PEERID --log LOG --pid PID
              [--suite S] [NAME...]
                               the probes (default all), one connection
                               each; "PASS: ..." / "FAIL: ..." lines, exit
                               status 1 if any failed
  tlsprobe.py list             the probe names

Every probe asserts what peerlock must answer on the wire: the data echoed
back by the target behind the tunnel, or the exact fatal alert (decrypted)
followed by the end of the connection.  Then run checks peerlock's log
(LOG): exactly one close line for the connection, with the reason the
probe names, and that the process (PID) is still alive.  The peerlock
must expose an echo server to this identity as [expose.echo].
"""
import argparse
import datetime
import os
import re
import socket
import struct
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from tlslite.api import (HandshakeSettings, TLSConnection, X509,
                         X509CertChain, parsePEMKey)
from tlslite.utils.cryptomath import HKDF_expand_label
from tlslite.recordlayer import RecordLayer
from tlslite.constants import CipherSuite

LIBP2P_OID = x509.ObjectIdentifier("1.3.6.1.4.1.53594.1.1")
SIG_PREFIX = b"libp2p-tls-handshake:"
TIMEOUT = 5.0

ALERTS = {0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac",
          22: "record_overflow", 40: "handshake_failure",
          47: "illegal_parameter", 50: "decode_error", 51: "decrypt_error",
          80: "internal_error", 90: "user_canceled"}
CT_ALERT, CT_HANDSHAKE, CT_APPDATA = 21, 22, 23
HS_KEY_UPDATE = 24


class ProbeFail(Exception):
    pass


# --- identity, peer ID, certificate ---------------------------------------

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(b):
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out


def pb_field(num, data):
    """Protobuf length-delimited or varint field (data: bytes or int)."""
    if isinstance(data, int):
        return bytes([num << 3]) + bytes([data])
    return bytes([num << 3 | 2]) + varint(len(data)) + data


def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ed25519_pubkey_pb(raw):
    """libp2p PublicKey protobuf: Type Ed25519 (1), Data = 32 bytes."""
    return pb_field(1, 1) + pb_field(2, raw)


def peer_id_of(pubkey_pb):
    """Identity multihash (<= 42 bytes) or sha2-256, base58btc."""
    if len(pubkey_pb) <= 42:
        mh = b"\x00" + bytes([len(pubkey_pb)]) + pubkey_pb
    else:
        h = hashes.Hash(hashes.SHA256())
        h.update(pubkey_pb)
        mh = b"\x12\x20" + h.finalize()
    return b58encode(mh)


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, body):
    return bytes([tag]) + der_len(len(body)) + body


def load_identity(path):
    with open(path) as f:
        seed = bytes.fromhex(f.read().strip())
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def identity_pub_pb(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return ed25519_pubkey_pb(raw)


def make_cert(identity):
    """A libp2p TLS certificate (ECDSA P-256, self-signed, extension)."""
    ckey = ec.generate_private_key(ec.SECP256R1())
    spki = ckey.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    signed_key = der(0x30, der(0x04, identity_pub_pb(identity)) +
                     der(0x04, identity.sign(SIG_PREFIX + spki)))
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER,
                                         str(int.from_bytes(os.urandom(6),
                                                            "big")))])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(ckey.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.UnrecognizedExtension(LIBP2P_OID,
                                                      signed_key),
                           critical=False)
            .sign(ckey, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = ckey.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption()).decode()
    return cert_pem, key_pem


def der_read(b, tag):
    """(body, rest) of one DER TLV with the given tag at the start of b."""
    if not b or b[0] != tag:
        raise ProbeFail("libp2p extension: expected DER tag %#x" % tag)
    n, i = b[1], 2
    if n & 0x80:
        k = n & 0x7f
        n, i = int.from_bytes(b[2:2 + k], "big"), 2 + k
    return b[i:i + n], b[i + n:]


def pb_fields(b):
    out, i = {}, 0
    while i < len(b):
        key = b[i]
        i += 1
        if key & 7 == 0:
            out[key >> 3] = b[i]
            i += 1
        else:
            n = 0
            shift = 0
            while True:
                n |= (b[i] & 0x7f) << shift
                shift += 7
                i += 1
                if not b[i - 1] & 0x80:
                    break
            out[key >> 3] = b[i:i + n]
            i += n
    return out


def check_server_cert(der_bytes, want_peer):
    """Verify peerlock's certificate the libp2p way; return its peer ID."""
    cert = x509.load_der_x509_certificate(bytes(der_bytes))
    cert.verify_directly_issued_by(cert)       # self-signature
    ext = cert.extensions.get_extension_for_oid(LIBP2P_OID).value.value
    seq, _ = der_read(ext, 0x30)
    pub_pb, rest = der_read(seq, 0x04)
    sig, _ = der_read(rest, 0x04)
    f = pb_fields(pub_pb)
    if f.get(1) != 1:
        raise ProbeFail("server identity key type %s: this probe checks "
                        "Ed25519 only" % f.get(1))
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo)
    ed25519.Ed25519PublicKey.from_public_bytes(f[2]).verify(
        sig, SIG_PREFIX + spki)
    got = peer_id_of(pub_pb)
    if got != want_peer:
        raise ProbeFail("server peer ID %s, expected %s" % (got, want_peer))
    return got, cert


# --- connection: multistream, handshake, our own records --------------------

def mss_msg(s):
    b = s.encode() + b"\n"
    return varint(len(b)) + b


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        b = sock.recv(n - len(buf))
        if not b:
            raise ProbeFail("connection closed during multistream-select "
                            "after %r" % buf)
        buf += b
    return buf


def mss_read(sock):
    n, shift = 0, 0
    while True:
        c = read_exact(sock, 1)[0]
        n |= (c & 0x7f) << shift
        shift += 7
        if not c & 0x80:
            break
    return read_exact(sock, n).decode(errors="replace")


class HoldSock:
    """The socket as tlslite-ng sees it, holding back what it sends until
    it next reads (or flush()): the client's last flight (Certificate,
    CertificateVerify, Finished) then leaves in one write together with
    whatever the probe adds, as a client that pipelines its first request
    sends it.  Peerlock gets those records in the same read as the
    Finished, while wolfSSL still runs the handshake."""

    def __init__(self, sock):
        self.sock = sock
        self.held = b""

    def flush(self):
        if self.held:
            self.sock.sendall(self.held)
            self.held = b""

    def send(self, b):
        self.held += bytes(b)
        return len(b)

    def sendall(self, b):
        self.held += bytes(b)

    def recv(self, n):
        self.flush()
        return self.sock.recv(n)

    def __getattr__(self, name):
        return getattr(self.sock, name)


class Conn:
    """One probe connection; after handshake() records are ours."""

    def __init__(self, port, idfile, peer, suite, pipeline=False):
        self.sock = socket.create_connection(("127.0.0.1", port), TIMEOUT)
        self.sock.settimeout(TIMEOUT)
        self.identity = load_identity(idfile)
        self.peer = peer
        self.suite = suite
        self.pipeline = pipeline
        self.rbuf = b""
        self.ku_from_server = []      # request_update values received

    def handshake(self):
        s = self.sock
        s.sendall(mss_msg("/multistream/1.0.0") + mss_msg("/tls/1.0.0"))
        for want in ("/multistream/1.0.0\n", "/tls/1.0.0\n"):
            got = mss_read(s)
            if got != want:
                raise ProbeFail("multistream: expected %r, got %r"
                                % (want, got))
        cert_pem, key_pem = make_cert(self.identity)
        chain = X509CertChain([X509().parse(cert_pem)])
        key = parsePEMKey(key_pem, private=True)
        settings = HandshakeSettings()
        settings.minVersion = (3, 4)
        settings.maxVersion = (3, 4)
        settings.cipherNames = [self.suite]
        settings.useEncryptThenMAC = False
        settings.use_heartbeat_extension = False
        settings.record_size_limit = None
        # tlslite-ng 0.8.2 compresses a client certificate (RFC 8879)
        # when its own ClientHello offered compression, whatever the
        # CertificateRequest says: offer none, so it sends Certificate
        settings.certificate_compression_send = []
        settings.certificate_compression_receive = []
        self.hold = HoldSock(s) if self.pipeline else None
        t = TLSConnection(self.hold or s)
        t.handshakeClientCert(chain, key, settings=settings,
                              alpn=[b"libp2p"])
        if t.session.appProto != b"libp2p":
            raise ProbeFail("ALPN %r, expected b'libp2p'"
                            % t.session.appProto)
        if t.version != (3, 4):
            raise ProbeFail("TLS version %r, expected (3, 4)" % (t.version,))
        check_server_cert(t.session.serverCertChain.x509List[0].bytes,
                          self.peer)
        rl = t._recordLayer
        self.tls = t
        self.suite_id = t.session.cipherSuite
        self.cl_secret = t.session.cl_app_secret
        self.sr_secret = t.session.sr_app_secret
        self.w = rl._writeState
        self.r = rl._readState
        self.wseq = self.w.seqnum
        self.rseq = self.r.seqnum
        return self

    # -- keys
    def _next(self, secret):
        prf, hl = (("sha384", 48) if self.suite_id in
                   CipherSuite.sha384PrfSuites else ("sha256", 32))
        klen, _, func = RecordLayer._getCipherSettings(self.suite_id)
        new = HKDF_expand_label(secret, b"traffic upd", b"", hl, prf)
        key = func(HKDF_expand_label(new, b"key", b"", klen, prf), None)
        iv = HKDF_expand_label(new, b"iv", b"", 12, prf)
        return new, key, iv

    def update_write_key(self):
        self.cl_secret, self.w.encContext, self.w.fixedNonce = \
            self._next(self.cl_secret)
        self.wseq = 0

    def update_read_key(self):
        self.sr_secret, self.r.encContext, self.r.fixedNonce = \
            self._next(self.sr_secret)
        self.rseq = 0

    @staticmethod
    def _nonce(iv, seq):
        return bytes(a ^ b for a, b in zip(iv, seq.to_bytes(12, "big")))

    # -- sending
    def seal(self, content, ctype, pad=0, tamper=None, bump=True):
        """One record: content | ctype (None: no type byte) | zeros."""
        inner = bytes(content) + (b"" if ctype is None else
                                  bytes([ctype])) + bytes(pad)
        ctx = self.w.encContext
        hdr = struct.pack(">BHH", CT_APPDATA, 0x0303,
                          len(inner) + ctx.tagLength)
        body = bytes(ctx.seal(self._nonce(self.w.fixedNonce, self.wseq),
                              bytearray(inner), bytearray(hdr)))
        if bump:
            self.wseq += 1
        if tamper is not None:
            b = bytearray(body)
            b[tamper % len(b)] ^= 0x01
            body = bytes(b)
        return hdr + body

    def send(self, *records):
        held, self.hold = (self.hold.held if self.hold else b""), None
        try:
            self.sock.sendall(held + b"".join(records))
        except (BrokenPipeError, ConnectionResetError):
            pass        # the verdict comes from what we read back

    def data(self, payload, pad=0):
        return self.seal(payload, CT_APPDATA, pad)

    def key_update(self, request):
        """A KeyUpdate record; switches our write key after it."""
        rec = self.seal(bytes([HS_KEY_UPDATE, 0, 0, 1, request]),
                        CT_HANDSHAKE)
        self.update_write_key()
        return rec

    def alert(self, level, desc):
        return self.seal(bytes([level, desc]), CT_ALERT)

    # -- receiving
    def _fill(self, n):
        while len(self.rbuf) < n:
            try:
                b = self.sock.recv(65536)
            except ConnectionResetError:
                b = b""
            except socket.timeout:
                raise ProbeFail("timeout: nothing from peerlock for %.0f s "
                                "(have %d of %d bytes)"
                                % (TIMEOUT, len(self.rbuf), n))
            if not b:
                return False
            self.rbuf += b
        return True

    def recv_record(self):
        """(inner type, content) of the next record, or None at EOF.
        Server KeyUpdates are applied and recorded, not returned."""
        while True:
            if not self._fill(5):
                if self.rbuf:
                    raise ProbeFail("EOF inside a record header")
                return None
            typ, ver, ln = struct.unpack(">BHH", self.rbuf[:5])
            if typ != CT_APPDATA or ver != 0x0303:
                raise ProbeFail("peerlock sent a record of outer type %d "
                                "version %04x" % (typ, ver))
            if ln > 16384 + 256:
                raise ProbeFail("peerlock sent a %d-byte record (limit "
                                "2^14 + 256)" % ln)
            if not self._fill(5 + ln):
                raise ProbeFail("EOF inside a record")
            hdr, body = self.rbuf[:5], self.rbuf[5:5 + ln]
            self.rbuf = self.rbuf[5 + ln:]
            pt = self.r.encContext.open(
                self._nonce(self.r.fixedNonce, self.rseq), bytearray(body),
                bytearray(hdr))
            if pt is None:
                raise ProbeFail("cannot authenticate peerlock's record "
                                "%d" % self.rseq)
            self.rseq += 1
            pt = bytes(pt).rstrip(b"\0")
            if not pt:
                raise ProbeFail("peerlock sent an all-zero inner plaintext")
            if len(pt) > 16385:
                raise ProbeFail("peerlock sent %d inner bytes" % len(pt))
            ctype, content = pt[-1], pt[:-1]
            if ctype == CT_HANDSHAKE and content[:1] == bytes([24]):
                if content[1:4] != b"\0\0\1" or len(content) != 5:
                    raise ProbeFail("malformed KeyUpdate from peerlock: %s"
                                    % content.hex())
                self.ku_from_server.append(content[4])
                self.update_read_key()
                continue
            return ctype, content

    def read_echo(self, n):
        """Read n bytes of application data; fail on anything else."""
        got = b""
        while len(got) < n:
            r = self.recv_record()
            if r is None:
                raise ProbeFail("EOF after %d of %d echoed bytes"
                                % (len(got), n))
            ctype, content = r
            if ctype == CT_ALERT:
                raise ProbeFail("alert %s while waiting for the echo"
                                % alert_str(content))
            if ctype != CT_APPDATA:
                raise ProbeFail("record of type %d while waiting for the "
                                "echo" % ctype)
            got += content
        return got

    def expect_alert(self, desc):
        """Peerlock's next record is the fatal alert desc, then EOF."""
        r = self.recv_record()
        if r is None:
            raise ProbeFail("connection closed without an alert (expected "
                            "fatal %s)" % ALERTS.get(desc, desc))
        ctype, content = r
        if ctype != CT_ALERT:
            raise ProbeFail("record of type %d (%d bytes), expected the "
                            "alert %s" % (ctype, len(content),
                                          ALERTS.get(desc, desc)))
        if content != bytes([2, desc]):
            raise ProbeFail("alert %s, expected fatal %s"
                            % (alert_str(content), ALERTS.get(desc, desc)))
        self.expect_eof("after the alert")
        return alert_str(content)

    def send_expect_alert(self, desc, content, ctype, **seal_kw):
        """Send one record sealed from content (seal()'s keywords apply);
        expect the fatal alert desc, then EOF."""
        self.send(self.seal(content, ctype, **seal_kw))
        return self.expect_alert(desc)

    def expect_eof(self, when):
        r = self.recv_record()
        if r is not None:
            raise ProbeFail("record of type %d %s, expected the end of the "
                            "connection" % (r[0], when))

    def close(self):
        """close_notify; expect peerlock's close_notify, then EOF."""
        self.send(self.alert(1, 0))
        r = self.recv_record()
        if r is None or r != (CT_ALERT, bytes([1, 0])):
            raise ProbeFail("expected close_notify back, got %s"
                            % (alert_str(r[1]) if r else "EOF"))
        self.expect_eof("after close_notify")


def alert_str(content):
    if len(content) != 2:
        return "malformed (%s)" % content.hex()
    return "%s %s(%d)" % ({1: "warning", 2: "fatal"}.get(content[0],
                                                        str(content[0])),
                          ALERTS.get(content[1], "alert"), content[1])


# --- the probes ---------------------------------------------------------------
# Each takes a connected Conn after the handshake and returns a summary
# string, or raises ProbeFail.  PROBES: name -> (function, description).

PROBES = {}
PE = "protocol_error: tls: "


def probe(name, reason="done", pipeline=False):
    """Register a probe; reason: regular expression for the reason= of
    peerlock's close line for the connection; pipeline: the probe's first
    records leave with the client's Finished (HoldSock)."""
    def reg(fn):
        PROBES[name] = (fn, reason, pipeline)
        return fn
    return reg


def echo_round(c, payload=b"ping through the tunnel"):
    c.send(c.data(payload))
    got = c.read_echo(len(payload))
    if got != payload:
        raise ProbeFail("echo differs: sent %r, got %r" % (payload, got))


@probe("sanity")
def p_sanity(c):
    echo_round(c)
    c.close()
    return "handshake, echo, close_notify both ways"


@probe("frag-1byte")
def p_frag1(c):
    msg = b"fragmented into one-byte records!"
    c.send(*[c.data(bytes([b])) for b in msg])
    got = c.read_echo(len(msg))
    if got != msg:
        raise ProbeFail("echo differs: %r" % got)
    c.close()
    return "%d one-byte records echoed" % len(msg)


@probe("max-size")
def p_max(c):
    payload = os.urandom(16384)
    c.send(c.data(payload))
    got = c.read_echo(len(payload))
    if got != payload:
        raise ProbeFail("16384-byte echo differs")
    c.close()
    return "2^14-byte record echoed"


@probe("max-size-padded")
def p_max_pad(c):
    # inner plaintext exactly 2^14 + 1: content, type, padding
    payload = b"x" * 1000
    c.send(c.data(payload, pad=16384 - len(payload)))
    if c.read_echo(len(payload)) != payload:
        raise ProbeFail("echo differs")
    c.close()
    return "inner plaintext of 2^14 + 1 bytes (15384 of padding) accepted"


@probe("overflow-content",
       PE + r"record of 16386 inner plaintext bytes exceeds the 16385-byte limit")
def p_over_content(c):
    c.send(c.data(b"y" * 16385))
    return c.expect_alert(22)


@probe("overflow-padding",
       PE + r"record of 16386 inner plaintext bytes exceeds the 16385-byte limit")
def p_over_pad(c):
    c.send(c.data(b"y" * 16384, pad=1))
    return c.expect_alert(22)


@probe("overflow-ciphertext",
       PE + r"record of 16641 bytes exceeds the 16640-byte limit")
def p_over_ct(c):
    # 2^14 + 257 bytes of ciphertext: refused on the header alone
    c.send(c.data(b"z" * 16000, pad=16384 + 257 - 16000 - 1 - 16))
    return c.expect_alert(22)


@probe("unknown-content-type",
       PE + r"record of content type 127 after the handshake")
def p_unknown_type(c):
    return c.send_expect_alert(10, b"hello", 0x7f)


@probe("ccs-after-handshake",
       PE + r"record of content type 20 after the handshake")
def p_ccs(c):
    return c.send_expect_alert(10, b"\x01", 20)


@probe("zero-content-type",
       PE + r"record of only zero bytes \(no content type\)")
def p_zero_type(c):
    return c.send_expect_alert(10, b"", None, pad=8)


@probe("zero-length-data")
def p_zero_len(c):
    c.send(c.data(b""), c.data(b"", pad=32), c.data(b"after empty"))
    if c.read_echo(11) != b"after empty":
        raise ProbeFail("echo differs")
    c.close()
    return "empty records (with and without padding) accepted"


@probe("padding")
def p_padding(c):
    recs = [c.data(b"pad%d" % n, pad=n) for n in (1, 2, 5, 30, 255, 4000)]
    c.send(*recs)
    want = b"".join(b"pad%d" % n for n in (1, 2, 5, 30, 255, 4000))
    if c.read_echo(len(want)) != want:
        raise ProbeFail("echo differs")
    c.close()
    return "padding of 1..4000 zero bytes removed"


@probe("empty-records-32")
def p_empty32(c):
    c.send(*[c.data(b"") for _ in range(32)])
    echo_round(c)
    c.close()
    return "32 empty records, then data: accepted"


@probe("empty-records-33",
       PE + r"more than 32 empty records in a row")
def p_empty33(c):
    c.send(*[c.data(b"") for _ in range(33)])
    return c.expect_alert(10)


@probe("bad-mac-ciphertext",
       PE + r"record failed authentication \(tampered, replayed or reordered\)")
def p_badmac(c):
    return c.send_expect_alert(20, b"tampered", CT_APPDATA, tamper=0)


@probe("bad-mac-tag",
       PE + r"record failed authentication \(tampered, replayed or reordered\)")
def p_badmac_tag(c):
    return c.send_expect_alert(20, b"tampered tag", CT_APPDATA, tamper=-1)


@probe("replayed-record",
       PE + r"record failed authentication \(tampered, replayed or reordered\)")
def p_replay(c):
    rec = c.data(b"once")
    c.send(rec)
    if c.read_echo(4) != b"once":
        raise ProbeFail("first copy not echoed")
    c.send(rec)
    return c.expect_alert(20)


@probe("short-record",
       PE + r"record of 15 bytes is shorter than its tag")
def p_short(c):
    c.send(struct.pack(">BHH", CT_APPDATA, 0x0303, 15) + bytes(15))
    return c.expect_alert(50)


@probe("plaintext-record",
       PE + r"unprotected record of type 22 after the handshake")
def p_plain(c):
    c.send(struct.pack(">BHH", CT_HANDSHAKE, 0x0303, 5) +
           bytes([HS_KEY_UPDATE, 0, 0, 1, 0]))
    return c.expect_alert(10)


@probe("plaintext-alert",
       PE + r"unprotected record of type 21 after the handshake")
def p_plain_alert(c):
    c.send(struct.pack(">BHH", CT_ALERT, 0x0303, 2) + bytes([2, 48]))
    return c.expect_alert(10)


@probe("ku-not-requested")
def p_ku0(c):
    c.send(c.key_update(0))
    echo_round(c, b"data after KeyUpdate(update_not_requested)")
    if c.ku_from_server:
        raise ProbeFail("peerlock answered update_not_requested with %d "
                        "KeyUpdates" % len(c.ku_from_server))
    c.close()
    return "new client key in use, echo under old server key"


@probe("ku-requested")
def p_ku1(c):
    c.send(c.key_update(1))
    echo_round(c, b"data after KeyUpdate(update_requested)")
    if c.ku_from_server != [0]:
        raise ProbeFail("server KeyUpdates %r, expected one "
                        "update_not_requested" % c.ku_from_server)
    echo_round(c, b"second round under both new keys")
    c.close()
    return "answered with KeyUpdate(update_not_requested), data both ways"


@probe("ku-split-data")
def p_ku_split(c):
    c.send(c.data(b"GET"))
    c.send(c.key_update(1))
    c.send(c.data(b" / after the update"))
    if c.read_echo(22) != b"GET / after the update":
        raise ProbeFail("echo differs")
    if c.ku_from_server != [0]:
        raise ProbeFail("server KeyUpdates %r" % c.ku_from_server)
    c.close()
    return "data split around a KeyUpdate echoed whole"


@probe("ku-many-32")
def p_ku32(c):
    c.send(*[c.key_update(1) for _ in range(32)])
    echo_round(c, b"after 32 KeyUpdates")
    if not 1 <= len(c.ku_from_server) <= 32 or any(c.ku_from_server):
        raise ProbeFail("server KeyUpdates %r" % c.ku_from_server)
    c.close()
    return "32 requests, %d answer(s), data flows" % len(c.ku_from_server)


@probe("ku-many-33",
       PE + r"more than 32 post-handshake messages without application data")
def p_ku33(c):
    c.send(*[c.key_update(1) for _ in range(33)])
    # answers may come first; the alert is under the latest server key
    return c.expect_alert(10)


@probe("ku-bad-request",
       PE + r"KeyUpdate with request_update 2 \(expected 0 or 1\)")
def p_ku_bad(c):
    c.send(c.key_update(2))
    return c.expect_alert(47)


@probe("ku-bad-request-255",
       PE + r"KeyUpdate with request_update 255 \(expected 0 or 1\)")
def p_ku_bad255(c):
    c.send(c.key_update(255))
    return c.expect_alert(47)


@probe("ku-empty",
       PE + r"KeyUpdate of 0 bytes \(expected 1\)")
def p_ku_empty(c):
    return c.send_expect_alert(50, bytes([HS_KEY_UPDATE, 0, 0, 0]),
                               CT_HANDSHAKE)


@probe("ku-large",
       PE + r"KeyUpdate of 2 bytes \(expected 1\)")
def p_ku_large(c):
    return c.send_expect_alert(50, bytes([HS_KEY_UPDATE, 0, 0, 2, 1, 0]),
                               CT_HANDSHAKE)


@probe("ku-two-in-record",
       PE + r"KeyUpdate is not the last message of its record")
def p_ku_two(c):
    ku = bytes([HS_KEY_UPDATE, 0, 0, 1, 0])
    return c.send_expect_alert(10, ku + ku, CT_HANDSHAKE)


@probe("ku-two-future-keys",
       PE + r"record failed authentication \(tampered, replayed or reordered\)")
def p_ku_future(c):
    # both KeyUpdates in one record sealed under the key after the first:
    # peerlock still reads under the old one
    c.update_write_key()
    ku = bytes([HS_KEY_UPDATE, 0, 0, 1])
    return c.send_expect_alert(20, ku + b"\0" + ku + b"\1", CT_HANDSHAKE)


@probe("ku-fragmented")
def p_ku_frag(c):
    for cut in (1, 2, 3, 4):
        msg = bytes([HS_KEY_UPDATE, 0, 0, 1, 1])
        c.send(c.seal(msg[:cut], CT_HANDSHAKE),
               c.seal(msg[cut:], CT_HANDSHAKE))
        c.update_write_key()
        echo_round(c, b"after a KeyUpdate split at %d" % cut)
    if c.ku_from_server != [0, 0, 0, 0]:
        raise ProbeFail("server KeyUpdates %r" % c.ku_from_server)
    c.close()
    return "KeyUpdate split at bytes 1..4 over two records: accepted"


@probe("ku-interleaved-data",
       PE + r"record of type 23 inside a handshake message")
def p_ku_inter(c):
    msg = bytes([HS_KEY_UPDATE, 0, 0, 1, 0])
    c.send(c.seal(msg[:2], CT_HANDSHAKE), c.data(b"in between"))
    return c.expect_alert(10)


@probe("ku-not-last-in-record",
       PE + r"KeyUpdate is not the last message of its record")
def p_ku_notlast(c):
    return c.send_expect_alert(10, bytes([HS_KEY_UPDATE, 0, 0, 1, 0, 4]),
                               CT_HANDSHAKE)


@probe("client-ticket",
       PE + r"unexpected post-handshake message type 4 \(NewSessionTicket from a client\)")
def p_ticket(c):
    body = struct.pack(">IIB", 60, 1, 0) + b"\0\1t" + b"\0\0"
    c.send(c.seal(bytes([4]) + len(body).to_bytes(3, "big") + body,
                  CT_HANDSHAKE))
    return c.expect_alert(10)


@probe("empty-handshake-record",
       PE + r"empty handshake record")
def p_empty_hs(c):
    return c.send_expect_alert(10, b"", CT_HANDSHAKE)


@probe("empty-alert-record",
       PE + r"empty alert record")
def p_empty_alert(c):
    return c.send_expect_alert(10, b"", CT_ALERT)


@probe("alert-too-long",
       PE + r"alert record of 3 bytes \(expected 2\)")
def p_alert_long(c):
    return c.send_expect_alert(50, bytes([1, 0, 0]), CT_ALERT)


@probe("close-notify-half-close")
def p_close(c):
    # data and close_notify at once: the target still gets the data and
    # its echo still comes back before peerlock's close_notify
    payload = b"last words before close_notify"
    c.send(c.data(payload), c.alert(1, 0))
    if c.read_echo(len(payload)) != payload:
        raise ProbeFail("echo differs")
    r = c.recv_record()
    if r != (CT_ALERT, bytes([1, 0])):
        raise ProbeFail("expected close_notify, got %r" % (r,))
    c.expect_eof("after close_notify")
    return "echo after our close_notify, then close_notify and EOF"


@probe("close-notify-with-finished", pipeline=True)
def p_close_pipelined(c):
    # the same, with data and close_notify in the write of our Finished
    # (queued in tls.c while wolfSSL finishes the handshake), and no FIN
    # from us: a client's CloseWrite, waiting for the answer
    return p_close(c)


@probe("ku-with-finished", pipeline=True)
def p_ku_pipelined(c):
    c.send(c.key_update(1), c.data(b"first data, after a KeyUpdate"))
    if c.read_echo(29) != b"first data, after a KeyUpdate":
        raise ProbeFail("echo differs")
    if c.ku_from_server != [0]:
        raise ProbeFail("server KeyUpdates %r" % c.ku_from_server)
    c.close()
    return "KeyUpdate and data in the write of our Finished: answered"


@probe("user-canceled")
def p_user_canceled(c):
    c.send(c.alert(1, 90))
    echo_round(c, b"after user_canceled")
    c.close()
    return "user_canceled ignored, data flows"


@probe("user-canceled-5",
       PE + r"more than 4 warning alerts without application data")
def p_user_canceled5(c):
    c.send(*[c.alert(1, 90) for _ in range(5)])
    return c.expect_alert(10)


def expect_closed_silently(c, what):
    """After a fatal alert from us: no alert back, just the end."""
    r = c.recv_record()
    if r is not None:
        raise ProbeFail("%s: got a record of type %d (%s), expected the "
                        "connection to end" % (what, r[0], alert_str(r[1])
                                               if r[0] == CT_ALERT else ""))
    return "connection closed, no answer"


@probe("warning-alert",
       PE + r"peer sent alert handshake_failure \(40\)")
def p_warning(c):
    c.send(c.alert(1, 40))      # warning handshake_failure: an error
    return expect_closed_silently(c, "warning handshake_failure")


@probe("unknown-alert",
       PE + r"peer sent alert alert \(254\)")
def p_unknown_alert(c):
    c.send(c.alert(1, 0xfe))
    return expect_closed_silently(c, "warning alert 254")


@probe("fatal-alert",
       PE + r"peer sent alert decrypt_error \(51\)")
def p_fatal(c):
    c.send(c.alert(2, 51))
    return expect_closed_silently(c, "fatal decrypt_error")


def run_probe(a, name):
    """One probe: its connection, then peerlock's close line and
    liveness.  Returns the PASS/FAIL lines."""
    fn, reason, pipeline = PROBES[name]
    tag = name + ("" if a.suite == "aes128gcm" else " [%s]" % a.suite)
    out = []
    start = os.path.getsize(a.log)
    t0 = time.monotonic()
    try:
        c = Conn(a.port, a.id, a.peer, a.suite, pipeline).handshake()
        what = fn(c)
        c.sock.close()
        out.append("PASS: %s: %s (%.2f s)"
                   % (tag, what, time.monotonic() - t0))
    except ProbeFail as e:
        out.append("FAIL: %s: %s" % (tag, e))
    except Exception as e:      # handshake or socket trouble
        out.append("FAIL: %s: %s: %s" % (tag, type(e).__name__, e))
    # peerlock's close line for this connection (its log is line-buffered
    # text; the line may lag the socket close a little)
    lines = []
    end = time.monotonic() + TIMEOUT
    while time.monotonic() < end:
        with open(a.log, "rb") as f:
            f.seek(start)
            lines = [ln.decode(errors="replace") for ln in f.read()
                     .splitlines() if b" closed route=" in ln]
        if lines:
            time.sleep(0.05)   # a second line would be a bug: let it come
            with open(a.log, "rb") as f:
                f.seek(start)
                lines = [ln.decode(errors="replace") for ln in f.read()
                         .splitlines() if b" closed route=" in ln]
            break
        time.sleep(0.02)
    me = peer_id_of(identity_pub_pb(load_identity(a.id)))
    pat = (r"closed route=expose\.echo .*peer=%s proto=/tls/1\.0\.0 "
           r".*reason=%s$" % (re.escape(me), reason))
    if len(lines) == 1 and re.search(pat, lines[0]):
        out.append("PASS: %s: one close line, reason=%s"
                   % (tag, lines[0].split("reason=", 1)[1]))
    else:
        out.append("FAIL: %s: expected one close line with reason=%s, got "
                   "%d: %s" % (tag, reason, len(lines), " | ".join(lines)))
    try:
        os.kill(a.pid, 0)
    except OSError:
        out.append("FAIL: %s: peerlock (pid %d) is gone" % (tag, a.pid))
    return out


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen-id")
    g.add_argument("file")
    p = sub.add_parser("run")
    p.add_argument("names", nargs="*", help="probes (default: all)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--id", required=True, help="file from gen-id")
    p.add_argument("--peer", required=True, help="peerlock's peer ID")
    p.add_argument("--log", required=True, help="peerlock's log file")
    p.add_argument("--pid", type=int, required=True, help="peerlock's pid")
    p.add_argument("--suite", default="aes128gcm",
                   help="tlslite-ng cipher name (aes128gcm, aes256gcm, "
                        "chacha20-poly1305)")
    sub.add_parser("list")
    a = ap.parse_args()
    if a.cmd == "gen-id":
        k = ed25519.Ed25519PrivateKey.generate()
        seed = k.private_bytes(serialization.Encoding.Raw,
                               serialization.PrivateFormat.Raw,
                               serialization.NoEncryption())
        fd = os.open(a.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, seed.hex().encode() + b"\n")
        os.close(fd)
        print(peer_id_of(identity_pub_pb(k)))
        return 0
    if a.cmd == "list":
        print("\n".join(PROBES))
        return 0
    names = a.names or list(PROBES)
    bad = [n for n in names if n not in PROBES]
    if bad:
        print("FAIL: unknown probe(s) %s" % " ".join(bad))
        return 2
    failed = 0
    for n in names:
        for line in run_probe(a, n):
            print(line, flush=True)
            failed += line.startswith("FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
