#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# SIGKILL signetctl at random moments during key generation and policy changes, many times;
# the keystore must pass PRAGMA integrity_check and never show a half-made key or policy.
import json
import os
import random
import signal
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Ctl, check  # noqa: E402

ROUNDS = int(os.environ.get("SIGNET_CRASH_ROUNDS", "150"))

# Two complete policy configurations: after any kill the row must be exactly one of them.
CONF = {
    "A": ["--algorithm", "ed25519", "--csk", "--zsk-lifetime", "30d", "--dnskey-ttl", "1h",
          "--denial", "nsec", "--ds-digest", "sha256", "--signature-validity", "14d"],
    "B": ["--algorithm", "rsasha256", "--bits", "3072", "--ksk-zsk", "--zsk-lifetime", "60d",
          "--dnskey-ttl", "2h", "--denial", "nsec3", "--ds-digest", "sha384",
          "--signature-validity", "21d"],
}
ROWS = {
    "A": (15, 0, 1, 30 * 86400, 3600, "nsec", 2, 14 * 86400),
    "B": (8, 3072, 0, 60 * 86400, 7200, "nsec3", 4, 21 * 86400),
}


def verify(db):
    con = sqlite3.connect(db, timeout=30)
    try:
        ic = con.execute("PRAGMA integrity_check").fetchall()
        check(ic == [("ok",)], f"integrity_check: {ic}")
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        check(fk == [], f"foreign_key_check: {fk}")
        row = con.execute("SELECT algorithm, key_bits, csk, zsk_lifetime, dnskey_ttl, denial,"
                          " ds_digest, sig_validity FROM policies WHERE name = 'p'").fetchone()
        check(row in ROWS.values(), f"half-changed policy: {row}")
        keys = con.execute("SELECT id, key_tag, length(public_key), private_key, state"
                           " FROM keys").fetchall()
        for kid, tag, publen, priv, state in keys:
            check(publen and publen > 0, f"key {kid} without a public key")
            check(priv and bytes(priv).startswith(b"-----BEGIN PRIVATE KEY-----") and
                  bytes(priv).rstrip().endswith(b"-----END PRIVATE KEY-----"),
                  f"key {kid} with a partial private key")
            ev = con.execute("SELECT count(*) FROM events WHERE key_id = ? AND"
                             " new_state = 'generated'", (kid,)).fetchone()[0]
            check(ev == 1, f"key {kid} without its journal entry")
        orphans = con.execute("SELECT count(*) FROM events WHERE new_state = 'generated' AND"
                              " key_id NOT IN (SELECT id FROM keys)").fetchone()[0]
        check(orphans == 0, "journal entry for a key that does not exist")
        tags = [k[1] for k in keys]
        check(len(tags) == len(set(tags)), "duplicate key tags")
        return len(keys)
    finally:
        con.close()


def main():
    c = Ctl(sys.argv[1], "sgctl-crash.")
    random.seed(os.environ.get("SIGNET_CRASH_SEED", str(time.time())))
    try:
        c.run("zone", "add", "crash.test", check=0)
        c.run("policy", "add", "p", *CONF["A"], check=0)
        killed = finished = 0
        for i in range(ROUNDS):
            if random.random() < 0.5:
                alg = random.choice(["ecdsap256sha256", "ed25519", "rsasha256"])
                args = ["key", "generate", "crash.test", "--role", "zsk", "--algorithm", alg]
                if alg == "rsasha256":
                    args += ["--bits", "2048"]
            else:
                args = ["policy", "set", "p", *CONF[random.choice("AB")]]
            p = c.popen(*args)
            # Process start-up, key generation, and the commit all fall in this window.
            time.sleep(random.uniform(0, 0.012))
            p.send_signal(signal.SIGKILL)
            p.communicate()
            if p.returncode == -signal.SIGKILL:
                killed += 1
            else:
                check(p.returncode == 0, f"{args}: exit {p.returncode}")
                finished += 1
            verify(c.db)
        n = verify(c.db)
        # Every key that made it is whole as signetctl sees it, too.
        keys = json.loads(c.run("key", "list", "--json", check=0).stdout)
        check(len(keys) == n, "signetctl sees every key")
        for k in keys:
            p = c.run("key", "export", str(k["id"]), "--private", check=0)
            check("BEGIN PRIVATE KEY" in p.stdout, f"key {k['id']} private key loads")
        check(killed >= ROUNDS // 4, f"only {killed} of {ROUNDS} runs were killed")
        print(f"ok: {ROUNDS} rounds, {killed} killed mid-run, {finished} finished, {n} keys")
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
