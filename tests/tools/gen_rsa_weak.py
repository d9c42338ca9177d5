#!/usr/bin/env python3
"""Generate tests/vectors/rsa-weak-vectors.json: RSA keys libp2p must refuse.

Issue 13 item 2: an RSA key with public exponent 1 makes every PKCS#1
v1.5 encoded digest its own signature, so anyone can sign for such a peer
ID.  This writes libp2p PublicKey/PrivateKey protobufs and self-signed
libp2p TLS certificates around RSA keys with exponents 1, 2, 3, 65537,
2^31-1, 2^31+1 and a 2047-bit modulus, plus well-formed controls, so the
unit tests prove the rejection is about the exponent or size and not about
the encoding.  Run once; the output is checked in (needs python3-cryptography).
"""
import datetime
import hashlib
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


def der(tag, body):
    n = len(body)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + body


def seq(*parts):
    return der(0x30, b"".join(parts))


def integer(v):
    b = v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big")
    return der(0x02, b)


OID_RSA = bytes.fromhex("2a864886f70d010101")
OID_RSA_SHA256 = bytes.fromhex("2a864886f70d01010b")
OID_LIBP2P = bytes.fromhex("2b0601040183a25a0101")
NULL = der(0x05, b"")
SHA256_DI = bytes.fromhex("3031300d060960864801650304020105000420")


def spki(n, e):
    return seq(seq(der(0x06, OID_RSA), NULL),
               der(0x03, b"\x00" + seq(integer(n), integer(e))))


def pb_key(typ, data):
    """libp2p PublicKey/PrivateKey protobuf: Type (always present), Data."""
    def varint(v):
        out = b""
        while True:
            c = v & 0x7F
            v >>= 7
            out += bytes([c | (0x80 if v else 0)])
            if not v:
                return out
    return b"\x08" + varint(typ) + b"\x12" + varint(len(data)) + data


def pkcs1_v15(n, msg):
    k = (n.bit_length() + 7) // 8
    t = SHA256_DI + hashlib.sha256(msg).digest()
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


def name():
    # SEQ { SET { SEQ { OID serialNumber, PrintableString "1" } } }
    return seq(der(0x31, seq(der(0x06, bytes.fromhex("550405")),
                             der(0x13, b"1"))))


def cert(n, e, sign, host):
    """A libp2p TLS certificate for SPKI(n, e); sign(tbs) -> signature."""
    key = spki(n, e)
    hpub = host.public_key().public_bytes(serialization.Encoding.Raw,
                                          serialization.PublicFormat.Raw)
    hsig = host.sign(b"libp2p-tls-handshake:" + key)
    signed_key = seq(der(0x04, pb_key(1, hpub)), der(0x04, hsig))
    ext = seq(der(0x06, OID_LIBP2P), der(0x04, signed_key))
    alg = seq(der(0x06, OID_RSA_SHA256), NULL)
    validity = seq(der(0x18, b"20200101000000Z"), der(0x18, b"20991231235959Z"))
    tbs = seq(der(0xA0, integer(2)), integer(0x1234), alg, name(), validity,
              name(), key, der(0xA3, seq(ext)))
    return seq(tbs, alg, der(0x03, b"\x00" + sign(tbs))).hex()


def real_signer(priv):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    return lambda tbs: priv.sign(tbs, padding.PKCS1v15(), hashes.SHA256())


def main():
    host = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    good = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pn = good.private_numbers()
    n = pn.public_numbers.n
    small = rsa.generate_private_key(public_exponent=65537, key_size=2047)
    out = {"source": "tests/tools/gen_rsa_weak.py", "pubkeys": [], "certs": []}
    for e, ok, why in [(65537, True, ""), (3, True, ""),
                       (2**31 - 1, True, ""),
                       (1, False, "RSA public exponent 1"),
                       (2, False, "RSA public exponent even"),
                       (65536, False, "RSA public exponent even"),
                       (2**31 + 1, False, "RSA public exponent too large")]:
        out["pubkeys"].append({"e": e, "valid": ok, "error": why,
                               "pubkey_pb_hex": pb_key(0, spki(n, e)).hex()})
    # e = 1, d = 1: consistent (sign(m) = m = verify(m)), so only the
    # exponent rule refuses it.
    p, q = pn.p, pn.q
    priv1 = seq(integer(0), integer(n), integer(1), integer(1), integer(p),
                integer(q), integer(1), integer(1), integer(pow(q, -1, p)))
    out["private_e1_pb_hex"] = pb_key(0, priv1).hex()
    forged = lambda tbs: pkcs1_v15(n, tbs)  # s^1 mod n == s
    out["certs"] = [
        {"name": "rsa2048-e65537", "valid": True, "error": "",
         "der_hex": cert(n, 65537, real_signer(good), host)},
        {"name": "rsa2048-e1-forged", "valid": False,
         "error": "tls: weak certificate key: RSA public exponent 1",
         "der_hex": cert(n, 1, forged, host)},
        {"name": "rsa2047-e65537", "valid": False,
         "error": "tls: weak certificate key: RSA key of 2047 bits",
         "der_hex": cert(small.public_key().public_numbers().n, 65537,
                         real_signer(small), host)},
    ]
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
