"""Writes tokens.json: test vectors for the token format, version 2.

Written from the format description alone (docs, token.ts header), in another language
and on another crypto library (pyca/cryptography), so that the library reproducing
these tokens byte for byte checks it against the description, not against itself.
Every input is fixed: run it again and the file comes out the same.

    python3 test/vectors/generate.py
"""

import base64
import json
import os
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SALT = b"shared-session/v2"
HOUR_MS = 3_600_000
MAX_TOKEN_LENGTH = 2048

SECRETS = {
    # A string is keyed by its UTF-8 bytes; the non-ASCII tail checks that.
    "text": {"utf8": "6i6NL+cD+oOAzGxLudJ1kEEKfHZSw2KRjW4GLcg9YoPF\u00e4\u00f6\u00fc"},
    "bytes": {"hex": "2bf75721431ff6c06f1f9ac79b3b08f6a0c17d841825dc89c51e918390feabc7"},
    # Not given to the opener of the refusal vectors: its key id is unknown there.
    "other": {"utf8": "PScQ4A1vwgP/lPQiP7o5uYM+H+KNe0GzNkMN2KxDacBYD9TxAXFET1P40fyVjPwc"},
}

IVS = [
    "f8e826de7e96d342420a6639", "8780de2da6d7e9125a20bf7e", "7f7d8cd25d4999f335e11d51", "b7a851d7f8b3de2411dbf34e",
    "ebb57096e06592d6e270ccaa", "38cace4283bd7f26c2542210", "a4c6440972cdd852021d46f4", "617f20c7498a4dc60d7bbf2b",
    "2cad850010d9751212d6d52e", "8a87ffccf1348149bc463f51", "eff2d99831952f696d03ce35", "42038b4855b52c3817decc11",
    "7b946e853c71f4ef8eec079c", "1ab3ef426b7d0dc08c93557b", "4131abc54f8c5b33a8410fe8", "72c20b8878b402cd66b4ece5",
]

# 2026-05-01T12:00:00Z
HOUR = 1_777_636_800_000 // HOUR_MS
IAT = HOUR * HOUR_MS + 754_321

PAYLOADS = {
    1: {"sid": "Ppv8pOKjI62Pn6WHjo0yzg6w4yrAHjPJ", "src": "https://shop.example", "dst": "https://blog.example", "iat": IAT, "jti": "0f3Ck0GkJb4Wb4lq1v5yJw"},
    2: {"src": "https://blog.example", "dst": "https://shop.example", "iat": IAT, "jti": "4sZ2mQx1Hn8B0a9cTq3wKg", "hid": "Xb7kP2qL", "st": "mV3tYc8RkQ0pN5wZ2aHf1g"},
    3: {"src": "https://shop.example", "dst": "https://blog.example", "iat": IAT, "jti": "Lr6Wq0sP8dZf2Kc4Ny1Tbw", "hid": "Xb7kP2qL", "st": "mV3tYc8RkQ0pN5wZ2aHf1g", "bid": "c2hhcmVkLXNlc3Npb24tdGVzdC12ZWN0b3ItYnJvd3Nlcg"},
    4: {"b": "c2hhcmVkLXNlc3Npb24tdGVzdC12ZWN0b3ItYnJvd3Nlcg", "s": "Ppv8pOKjI62Pn6WHjo0yzg6w4yrAHjPJ", "t": IAT // 1000},
    5: {"st": "mV3tYc8RkQ0pN5wZ2aHf1g", "ret": "/k\u00fcche?tab=1", "iat": IAT},
}


def secret_bytes(name):
    secret = SECRETS[name]
    return secret["utf8"].encode("utf-8") if "utf8" in secret else bytes.fromhex(secret["hex"])


def hkdf(ikm, salt, info, length):
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def key_id(name):
    return hkdf(secret_bytes(name), SALT, b"key id", 4)


def hour_key(name, hour):
    return hkdf(secret_bytes(name), SALT, b"token key\x00" + struct.pack(">I", hour), 32)


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def plaintext(payload):
    # JSON.stringify: no spaces, keys in insertion order, non-ASCII as is (UTF-8).
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def seal(name, hour, purpose, payload, iv_hex, version=2):
    header = bytes([version, purpose]) + key_id(name) + struct.pack(">I", hour)
    iv = bytes.fromhex(iv_hex)
    sealed = AESGCM(hour_key(name, hour)).encrypt(iv, plaintext(payload).encode("utf-8"), header)
    return b64url(header + iv + sealed)


def seal_v1(name, purpose, payload, iv_hex):
    """Version 1: one key per secret for ever, a 6-byte header. Only to show it is refused."""
    ikm = secret_bytes(name)
    key = hkdf(ikm, b"shared-session/v1", b"aes-256-gcm token key", 32)
    header = bytes([1, purpose]) + hkdf(ikm, b"shared-session/v1", b"key id", 4)
    iv = bytes.fromhex(iv_hex)
    return b64url(header + iv + AESGCM(key).encrypt(iv, plaintext(payload).encode("utf-8"), header))


def at(hour):
    """A clock in the middle of an hour."""
    return hour * HOUR_MS + 1_800_000


def tokens():
    out = []
    ivs = iter(IVS)
    for index, name in enumerate(["text", "bytes"]):
        for purpose in range(1, 6):
            hour = HOUR + index * 5 + purpose - 1
            iv = next(ivs)
            payload = PAYLOADS[purpose]
            opener = {"secrets": [name], "now": at(hour), "keyIndex": 0}
            if (name, purpose) == ("bytes", 1):
                # after a rotation: sealed under the older secret, now listed second
                opener = {"secrets": ["text", "bytes"], "now": at(hour), "keyIndex": 1}
            if (name, purpose) == ("text", 4):
                # a link cookie at the end of its life: 400 days and an hour old
                opener = {"secrets": [name], "now": at(hour + 400 * 24 + 1), "keyIndex": 0}
            if (name, purpose) == ("text", 5):
                # from a server whose clock runs an hour ahead
                opener = {"secrets": [name], "now": at(hour - 1), "keyIndex": 0}
            out.append({
                "secret": name,
                "purpose": purpose,
                "hour": hour,
                "iv": iv,
                "payload": payload,
                "plaintext": plaintext(payload),
                "key": hour_key(name, hour).hex(),
                "token": seal(name, hour, purpose, payload, iv),
                "open": opener,
            })
    return out


def refusals(valid):
    ivs = iter(IVS[10:])
    base = next(entry for entry in valid if entry["secret"] == "text" and entry["purpose"] == 1)
    good = base["token"]
    raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4))
    flipped = bytearray(raw)
    flipped[-1] ^= 0x01
    payload = PAYLOADS[1]
    now = at(HOUR)

    def refusal(description, token, reason, purpose=1):
        return {"description": description, "secrets": ["text", "bytes"], "now": now, "purpose": purpose, "token": token, "reason": reason}

    return [
        refusal(f"over {MAX_TOKEN_LENGTH} characters, refused before decoding", "A" * (MAX_TOKEN_LENGTH + 1), "TOKEN_TOO_LONG"),
        refusal("base64 padding: not base64url", good + "=", "TOKEN_MALFORMED"),
        refusal("a '/' of the base64 alphabet: not base64url", good[:5] + "/" + good[6:], "TOKEN_MALFORMED"),
        refusal("39 bytes, one short of the smallest token", b64url(raw[:39]), "TOKEN_MALFORMED"),
        refusal("an authentic version-1 token", seal_v1("text", 1, payload, next(ivs)), "TOKEN_VERSION"),
        refusal("an authentic link cookie presented as a push token", seal("text", HOUR, 4, PAYLOADS[4], next(ivs)), "TOKEN_VERSION"),
        refusal("an unknown purpose", seal("text", HOUR, 6, payload, next(ivs)), "TOKEN_VERSION"),
        refusal("the last bit of the tag flipped", b64url(bytes(flipped)), "TOKEN_INVALID"),
        refusal("sealed under a secret the opener does not have", seal("other", HOUR, 1, payload, next(ivs)), "TOKEN_INVALID"),
        refusal("two hours ahead", seal("text", HOUR + 2, 1, payload, next(ivs)), "TOKEN_INVALID"),
        refusal("400 days and two hours old", seal("text", HOUR - 400 * 24 - 2, 1, payload, next(ivs)), "TOKEN_INVALID"),
    ]


def main():
    valid = tokens()
    document = {
        "comment": (
            "Test vectors of the shared-session token format, version 2, written by test/vectors/generate.py "
            "(Python, pyca/cryptography) from the format description, not by the library; "
            "test/unit/vectors.test.ts checks that the library seals each token byte for byte and opens it, "
            "that an independent decoder in the test opens it, and that each refusal yields its reason. "
            "Hex: iv, key, secrets.*.hex. 'now' is the opener's clock in unix ms; 'key' is the hour key, for debugging."
        ),
        "format": (
            "base64url( version=0x02 | purpose:1 | keyId:4 | hour:4 (uint32 BE, floor(unix ms / 3600000)) | iv:12 | "
            "AES-256-GCM ciphertext | tag:16 ), associated data = the first 10 bytes; plaintext = UTF-8 JSON of the payload"
        ),
        "derivation": (
            "secret bytes = UTF-8 of a string secret, or the bytes given; "
            "keyId = HKDF-SHA256(ikm = secret bytes, salt = 'shared-session/v2', info = 'key id', L = 4); "
            "key = HKDF-SHA256(ikm = secret bytes, salt = 'shared-session/v2', info = 'token key' || 0x00 || hour as uint32 BE, L = 32)"
        ),
        "window": "an opener refuses (TOKEN_INVALID) an hour more than 1 ahead of its own or more than 9601 behind, before deriving any key",
        "secrets": {name: {**spec, "keyId": key_id(name).hex()} for name, spec in SECRETS.items()},
        "tokens": valid,
        "refusals": refusals(valid),
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokens.json")
    with open(path, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2, ensure_ascii=False)
        file.write("\n")


if __name__ == "__main__":
    main()
