#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Two processes writing at once: each call succeeds or fails with a clear "busy" error,
# and the keystore stays whole.
import json
import os
import sqlite3
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Ctl, check  # noqa: E402

PER_WRITER = 15


def main():
    c = Ctl(sys.argv[1], "sgctl-writers.")
    try:
        c.run("zone", "add", "w.test", check=0)

        # Both writers hammer the same zone; the default busy timeout lets them take turns.
        ok = busy = 0
        for busy_ms in ("5000", "1"):
            procs = []
            for _ in range(PER_WRITER):
                for role in ("ksk", "zsk"):
                    procs.append(c.popen("--busy-timeout", busy_ms, "key", "generate", "w.test",
                                         "--role", role))
                    procs.append(c.popen("--busy-timeout", busy_ms, "policy", "set", "default",
                                         "--dnskey-ttl", "2h" if role == "ksk" else "1h"))
            for p in procs:
                out, err = p.communicate(timeout=120)
                if p.returncode == 0:
                    ok += 1
                else:
                    check(p.returncode == 75 and "busy" in err,  # EX_TEMPFAIL
                          f"writer failed with something other than busy: {p.returncode} {err}")
                    busy += 1

        # A writer held off for good gets "busy", exit 75 (EX_TEMPFAIL), and changes nothing.
        con = sqlite3.connect(c.db, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        p = c.run("--busy-timeout", "200", "zone", "add", "blocked.test", check=75)  # EX_TEMPFAIL: busy, try again
        check("busy" in p.stderr, f"busy message: {p.stderr}")
        con.execute("ROLLBACK")
        con.close()
        c.run("zone", "show", "blocked.test", check=1)
        c.run("zone", "add", "blocked.test", check=0)

        con = sqlite3.connect(c.db)
        check(con.execute("PRAGMA integrity_check").fetchall() == [("ok",)], "integrity")
        n = con.execute("SELECT count(*) FROM keys").fetchone()[0]
        gen = con.execute("SELECT count(*) FROM events WHERE new_state = 'generated'").fetchone()[0]
        con.close()
        keys = json.loads(c.run("key", "list", "w.test", "--json", check=0).stdout)
        check(len(keys) == n == gen, f"keys {len(keys)} rows {n} events {gen}")
        check(len({k["tag"] for k in keys}) == n, "unique tags")
        check(n > 0 and ok > 0, "some writes succeeded")
        print(f"ok: {ok} writes succeeded, {busy} refused as busy, {n} keys")
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
