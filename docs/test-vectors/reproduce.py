#!/usr/bin/env python3
"""Recomputes every value in keys.json and sharing.json without any Heirloom code: Python's hashlib and
PyNaCl (libsodium).

    pip install pynacl
    python3 reproduce.py [path/to/bip39-english-wordlist]

The word list is the standard 2048-word BIP39 English list, one word per line (`english.txt` from the BIP39
repository), or the copy inside node_modules/@scure/bip39 that Heirloom ships with (the default).
Exits non-zero and names the field on the first mismatch. See README.md for what each step means.
"""
import base64
import hashlib
import json
import pathlib
import sys
import unicodedata

from nacl import bindings as b

HERE = pathlib.Path(__file__).resolve().parent


def load_words(path):
    text = pathlib.Path(path).read_text()
    if path.endswith(".js"):  # @scure/bip39 keeps the list in one template literal
        text = text.split("`")[1]
    words = text.split()
    assert len(words) == 2048 and words[0] == "abandon" and words[-1] == "zoo", "not the BIP39 English list"
    return words


def kdf(key, sub_id, ctx):
    # crypto_kdf_derive_from_key(32, sub_id, ctx, key) is BLAKE2b-256 of nothing, keyed with key, with
    # salt = sub_id as 8 bytes little-endian + 8 zero bytes and personalisation = ctx + 8 zero bytes.
    return hashlib.blake2b(b"", digest_size=32, key=key, salt=sub_id.to_bytes(8, "little") + bytes(8),
                           person=ctx.encode() + bytes(8)).digest()


def envelope(key, plaintext, ad, nonce):
    return b"\x01" + nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad.encode(), nonce, key)


def open_envelope(key, env, ad):
    assert env[0] == 1, "unknown format version"
    return b.crypto_aead_xchacha20poly1305_ietf_decrypt(env[25:], ad.encode(), env[1:25], key)


def b64(data):
    # URL-safe base64 without padding, libsodium's URLSAFE_NO_PADDING.
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def words11(data, count, words):
    n = int.from_bytes(data, "big")
    total = len(data) * 8
    return [words[(n >> (total - 11 * (k + 1))) & 0x7FF] for k in range(count)]


def main():
    default = HERE.parent.parent / "node_modules/@scure/bip39/wordlists/english.js"
    words = load_words(sys.argv[1] if len(sys.argv) > 1 else str(default))
    v = json.loads((HERE / "keys.json").read_text())
    i, o, ad, reg = v["inputs"], v["outputs"], v["ad"], v["registration"]
    h = bytes.fromhex
    nonce = {k: h(x) for k, x in i["nonces"].items()}
    got = {}

    # Password and login
    pw = unicodedata.normalize("NFKC", i["password"]).encode()
    assert unicodedata.normalize("NFKC", i["passwordAlt"]).encode() == pw, "passwordAlt"
    got["passwordNfkcUtf8"] = pw
    salt = base64.urlsafe_b64decode(i["kdf"]["salt"] + "==")
    master = b.crypto_pwhash_alg(32, pw, salt, i["kdf"]["ops"], i["kdf"]["mem"], b.crypto_pwhash_ALG_ARGON2ID13)
    got["masterKey"] = master
    got["authKey"] = auth_key = kdf(master, 1, "HLMASTER")
    got["passwordKek"] = kek = kdf(master, 2, "HLMASTER")
    account_key = h(i["accountKey"])
    got["passwordWrappedAccountKey"] = pw_wrap = envelope(kek, account_key, ad["passwordWrap"], nonce["passwordWrap"])

    # Server
    server_key = h(i["serverKey"])
    got["serverAuthKey"] = s_auth = kdf(server_key, 1, "HLSERVER")
    got["serverWrapKey"] = s_wrap = kdf(server_key, 2, "HLSERVER")
    got["serverFakeSaltKey"] = s_fake = kdf(server_key, 3, "HLSERVER")
    got["serverTotpKey"] = s_totp = kdf(server_key, 4, "HLSERVER")
    got["serverCookieKey"] = s_cookie = kdf(server_key, 5, "HLSERVER")
    got["authHash"] = hashlib.blake2b(auth_key, digest_size=32, key=s_auth).digest()
    got["fakeSalt"] = hashlib.blake2b(i["username"].lower().encode(), digest_size=16, key=s_fake).digest()
    got["serverWrappedAccountKey"] = envelope(s_wrap, pw_wrap, ad["serverWrap"], nonce["serverWrap"])
    got["totpEnvelope"] = envelope(s_totp, i["totpSecret"].encode(), ad["totp"], nonce["totp"])

    # Key pairs
    box_pk, box_sk = b.crypto_box_seed_keypair(h(i["boxSeed"]))
    sign_pk, sign_sk = b.crypto_sign_seed_keypair(h(i["signSeed"]))
    got.update(boxPk=box_pk, boxSk=box_sk, signPk=sign_pk, signSk=sign_sk)
    got["encPrivateKeys"] = envelope(account_key, box_sk + sign_sk, ad["privateKeys"], nonce["privateKeys"])

    # Recovery
    rk = h(i["recoveryKey"])
    checksum = hashlib.sha256(rk).digest()[:1]
    recovery_words = " ".join(words11(rk + checksum, 24, words))
    got["recoveryWrapKey"] = r_wrap = kdf(rk, 1, "HLRECOVR")
    got["recoveryAuthSeed"] = r_seed = kdf(rk, 2, "HLRECOVR")
    got["recoveryAuthPk"] = r_pk = b.crypto_sign_seed_keypair(r_seed)[0]
    got["recoveryWrappedAccountKey"] = envelope(r_wrap, account_key, ad["recoveryWrap"], nonce["recoveryWrap"])

    # Identity
    message = ad["identity"].encode() + box_pk + sign_pk + r_pk
    got["selfSignatureMessage"] = message
    got["selfSignature"] = b.crypto_sign(message, sign_sk)[:64]  # combined mode = signature || message
    fp = hashlib.blake2b(sign_pk + box_pk, digest_size=32).digest()
    got["fingerprintHex"] = fp

    failures = [name for name, value in got.items() if value.hex() != o[name]]
    # The session cookie is signed with the text b64(serverCookieKey), not with the raw bytes.
    if b64(s_cookie) != o["serverCookieSecret"]:
        failures.append("serverCookieSecret")
    if recovery_words != o["recoveryWords"]:
        failures.append("recoveryWords")
    if words11(fp, 6, words) != o["fingerprintWords"]:
        failures.append("fingerprintWords")
    for name, value in reg.items():
        if b64(h(o[name])) != value:
            failures.append("registration." + name)
    # And the envelopes open the other way round.
    if open_envelope(kek, h(o["passwordWrappedAccountKey"]), ad["passwordWrap"]) != account_key:
        failures.append("open passwordWrappedAccountKey")
    if open_envelope(r_wrap, h(o["recoveryWrappedAccountKey"]), ad["recoveryWrap"]) != account_key:
        failures.append("open recoveryWrappedAccountKey")

    if failures:
        print("MISMATCH:", ", ".join(failures))
        sys.exit(1)
    print(f"all {len(got) + 4 + len(reg)} values reproduced")
    sharing(words)


def seal(message, recipient_pk, ephemeral_seed):
    # crypto_box_seal with a fixed ephemeral key pair (libsodium's draws a random one):
    # ephemeralPk || crypto_box_easy(message, nonce, recipientPk, ephemeralSk), nonce = BLAKE2b-192(ephemeralPk || recipientPk).
    epk, esk = b.crypto_box_seed_keypair(ephemeral_seed)
    nonce = hashlib.blake2b(epk + recipient_pk, digest_size=24).digest()
    return epk, nonce, epk + b.crypto_box_easy(message, nonce, recipient_pk, esk)


def pad(data, block):
    # sodium_pad: 0x80, then zeros up to the next multiple of block (a whole block when already a multiple).
    data += b"\x80"
    return data + bytes(-len(data) % block)


def sharing(words):
    v = json.loads((HERE / "sharing.json").read_text())
    i, o, ad, api = v["inputs"], v["outputs"], v["ad"], v["api"]
    h = bytes.fromhex
    g = i["generation"]
    expected_ad = {
        "grant": f"heirloom/v1/grant/{i['docId']}/{i['recipient']['userId']}",
        "spaceKey": f"heirloom/v1/space-key/{i['spaceId']}/{i['recipient']['userId']}/{g}",
        "spaceDocKey": f"heirloom/v1/doc-key/{i['docId']}/space/{i['spaceId']}/{g}",
        "spaceName": f"heirloom/v1/space-name/{i['spaceId']}/{g}",
        "pins": f"heirloom/v1/pins/{i['recipient']['userId']}",
    }
    failures = ["ad." + k for k, text in expected_ad.items() if ad[k] != text]
    got = {}

    s_box_pk, _ = b.crypto_box_seed_keypair(h(i["sharer"]["boxSeed"]))
    s_sign_pk, s_sign_sk = b.crypto_sign_seed_keypair(h(i["sharer"]["signSeed"]))
    r_box_pk, r_box_sk = b.crypto_box_seed_keypair(h(i["recipient"]["boxSeed"]))
    r_sign_pk, _ = b.crypto_sign_seed_keypair(h(i["recipient"]["signSeed"]))
    got.update(sharerBoxPk=s_box_pk, sharerSignPk=s_sign_pk, recipientBoxPk=r_box_pk, recipientBoxSk=r_box_sk,
               recipientSignPk=r_sign_pk)
    got["sharerFingerprintHex"] = hashlib.blake2b(s_sign_pk + s_box_pk, digest_size=32).digest()
    got["recipientFingerprintHex"] = r_fp = hashlib.blake2b(r_sign_pk + r_box_pk, digest_size=32).digest()
    if words11(r_fp, 6, words) != o["recipientFingerprintWords"]:
        failures.append("recipientFingerprintWords")

    # The grant and the member's space key: sealed to the recipient, signed by the sharer.
    for name, plaintext in (("grant", h(i["docKey"])), ("spaceKey", h(i["spaceKey"]))):
        epk, nonce, sealed = seal(plaintext, r_box_pk, h(i["ephemeralSeeds"][name]))
        message = ad[name].encode() + sealed
        got.update({name + ".ephemeralPk": epk, name + ".nonce": nonce, name + ".sealed": sealed,
                    name + ".message": message, name + ".sig": b.crypto_sign(message, s_sign_sk)[:64]})
        # and the other way round, with libsodium's own crypto_box_seal_open and signature check
        try:
            b.crypto_sign_open(h(o[name]["sig"]) + h(o[name]["message"]), s_sign_pk)
        except Exception:
            failures.append("verify " + name + ".sig")
        try:
            if b.crypto_box_seal_open(h(o[name]["sealed"]), r_box_pk, r_box_sk) != plaintext:
                failures.append("open " + name)
        except Exception:
            failures.append("open " + name)

    space_key = h(i["spaceKey"])
    got["spaceDocKeyWrap"] = envelope(space_key, h(i["docKey"]), ad["spaceDocKey"], h(i["nonces"]["spaceDocKey"]))
    got["spaceNamePadded"] = padded = pad(i["spaceName"].encode(), 64)
    got["spaceNameEnvelope"] = envelope(space_key, padded, ad["spaceName"], h(i["nonces"]["spaceName"]))
    pins_json = json.dumps(i["pins"], separators=(",", ":"), ensure_ascii=False)
    if pins_json != o["pinsJson"]:
        failures.append("pinsJson")
    got["pinsEnvelope"] = envelope(h(i["recipient"]["accountKey"]), pins_json.encode(), ad["pins"], h(i["nonces"]["pins"]))

    def output(name):
        node = o
        for part in name.split("."):
            node = node[part]
        return node

    failures += [name for name, value in got.items() if value.hex() != output(name)]
    b64_of = {"grant.sealed": "grant.sealed", "grant.sig": "grant.sig", "spaceKey.sealed": "spaceKey.sealed",
              "spaceKey.sig": "spaceKey.sig", "spaceKeyWrap": "spaceDocKeyWrap", "spaceName": "spaceNameEnvelope",
              "pins": "pinsEnvelope"}
    for path, name in b64_of.items():
        node = api
        for part in path.split("."):
            node = node[part]
        if node != b64(got[name]):
            failures.append("api." + path)
    if open_envelope(space_key, h(o["spaceDocKeyWrap"]), ad["spaceDocKey"]) != h(i["docKey"]):
        failures.append("open spaceDocKeyWrap")

    if failures:
        print("MISMATCH in sharing.json:", ", ".join(failures))
        sys.exit(1)
    print(f"all {len(got) + len(expected_ad) + 2 + len(b64_of)} sharing values reproduced")


if __name__ == "__main__":
    main()
