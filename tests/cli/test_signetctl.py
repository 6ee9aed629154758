#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# signetctl as an operator uses it: output, --json, exit codes, BIND import, DS cross-checks.
import json
import os
import re
import stat
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Ctl, check, fail, have  # noqa: E402

NOW = 1_800_000_000


def usage_and_help(c):
    p = c.run("--help", check=0)
    check("usage: signetctl" in p.stdout and "Exit status" in p.stdout, "--help text")
    for cmd in ("policy", "zone", "key", "ds", "dnskey"):
        p = c.run(cmd, "--help", check=0)
        check("usage: signetctl " + cmd in p.stdout, f"{cmd} --help")
    c.run(check=2)
    c.run("frobnicate", check=2)
    p = c.run("zone", "list", "--frob", check=2)
    check("unknown option" in p.stderr, "unknown option message")
    c.run("key", "generate", "example.test", check=2)          # --role is required
    c.run("key", "show", "abc", check=2)
    c.run("policy", "add", "x", "--denial", "nsec5", check=2)
    c.run("policy", "add", "x", "--zsk-lifetime", "soon", check=2)
    c.run("policy", "add", "x", "--algorithm", "rsasha256", "--bits", "512", check=2)
    c.run("--version", check=0)


def policies(c):
    pl = json.loads(c.run("policy", "list", "--json", check=0).stdout)
    check([p["policy"] for p in pl] == ["default"], "one built-in policy")
    d = pl[0]
    check(d["algorithm"] == "ECDSAP256SHA256" and d["keys"] == "csk" and
          d["nsec3_iterations"] == 0 and d["nsec3_salt_length"] == 0 and
          d["ds_digest"] == "sha256", f"defaults: {d}")
    c.run("policy", "add", "split", "--ksk-zsk", "--algorithm", "ed25519", "--zsk-lifetime",
          "30d", "--ksk-lifetime", "1y", "--denial", "nsec3", "--dnskey-ttl", "2h",
          "--ds-digest", "sha384", "--no-cdnskey", check=0, now=NOW)
    p = json.loads(c.run("policy", "show", "split", "--json", check=0).stdout)
    check(p["keys"] == "ksk-zsk" and p["algorithm"] == "ED25519" and
          p["zsk_lifetime"] == 30 * 86400 and p["ksk_lifetime"] == 365 * 86400 and
          p["denial"] == "nsec3" and p["dnskey_ttl"] == 7200 and p["ds_digest"] == "sha384" and
          p["cdnskey"] is False and p["cds"] is True, f"policy show: {p}")
    c.run("policy", "add", "split", check=1)                   # exists
    c.run("policy", "set", "split", "--signature-refresh", "20d", check=2)  # > validity
    c.run("policy", "set", "split", "--algorithm", "rsasha256", "--bits", "3072", check=0)
    p = json.loads(c.run("--json", "policy", "show", "split", check=0).stdout)
    check(p["algorithm"] == "RSASHA256" and p["bits"] == 3072 and p["denial"] == "nsec3",
          "policy set changes only what is given")
    c.run("policy", "set", "split", "--algorithm", "ed25519", check=0)
    c.run("policy", "set", "nosuch", "--csk", check=1)
    # a salt is refused with the reason (issue 14: it was taken and ignored)
    r = c.run("policy", "set", "split", "--nsec3-salt-length", "8", check=2)
    check("RFC 9276" in r.stderr, "salt refusal names RFC 9276: " + r.stderr)
    c.run("policy", "show", "nosuch", check=1)
    out = c.run("policy", "show", "split", check=0).stdout
    check(re.search(r"ksk-lifetime:\s+1y", out), "human durations")
    # a CSK rolls on --ksk-lifetime: show says so, and shows no ZSK lifetime it never uses
    c.run("policy", "add", "onekey", "--csk", "--ksk-lifetime", "90d", "--zsk-lifetime", "30d", check=0)
    out = c.run("policy", "show", "onekey", check=0).stdout
    check(re.search(r"csk-lifetime:\s+90d\s+\(set with --ksk-lifetime\)", out) and
          "zsk-lifetime" not in out, "policy show of a CSK policy: " + out)
    c.run("policy", "delete", "default", check=1)


def zones_and_keys(c):
    c.run("zone", "add", "Example.TEST", "--policy", "split", check=0, now=NOW)
    c.run("zone", "add", "example.test.", check=1)
    c.run("zone", "add", "other.test", "--policy", "nosuch", check=1)
    c.run("zone", "add", "bad..name", check=2)
    c.run("zone", "add", "csk.test", check=0, now=NOW)
    zl = json.loads(c.run("zone", "list", "--json", check=0).stdout)
    check([z["zone"] for z in zl] == ["csk.test.", "example.test."], f"zone list: {zl}")
    c.run("policy", "delete", "split", check=1)                # used by a zone

    k1 = json.loads(c.run("key", "generate", "example.test", "--role", "ksk", "--json",
                          check=0, now=NOW).stdout)
    k2 = json.loads(c.run("key", "generate", "example.test", "--role", "zsk", "--json",
                          check=0, now=NOW).stdout)
    check(k1["role"] == "ksk" and k1["flags"] == 257 and k1["algorithm"] == 15 and
          k1["state"] == "generated" and k1["created"] == NOW, f"ksk: {k1}")
    check(k2["role"] == "zsk" and k2["flags"] == 256 and "ds" not in k2, f"zsk: {k2}")
    k3 = json.loads(c.run("key", "generate", "csk.test", "--role", "csk", "--algorithm",
                          "rsasha256", "--bits", "2048", "--json", check=0, now=NOW).stdout)
    check(k3["bits"] == 2048 and k3["algorithm"] == 8, f"rsa key: {k3}")
    c.run("key", "generate", "nosuch.test", "--role", "csk", check=1)
    c.run("key", "generate", "csk.test", "--role", "csk", "--bits", "2048", check=2)

    keys = json.loads(c.run("key", "list", "example.test", "--json", check=0).stdout)
    check([k["id"] for k in keys] == [k1["id"], k2["id"]], "key list by zone")
    check(len(json.loads(c.run("key", "list", "--json", check=0).stdout)) == 3, "all keys")
    table = c.run("key", "list", check=0).stdout
    check(table.startswith("ID") and str(k1["tag"]) in table, "key list table")
    c.run("key", "list", "nosuch.test", check=1)

    # Nothing is published yet: no DNSKEY RRset, but the DS can already be given out.
    check(c.run("dnskey", "example.test", check=0).stdout == "", "empty DNSKEY RRset")
    ds = c.run("ds", "example.test", check=0).stdout.strip().splitlines()
    check(len(ds) == 1 and re.fullmatch(
        r"example\.test\. 86400 IN DS %d 15 4 [0-9A-F]{96}" % k1["tag"], ds[0]),
        f"ds with the policy's SHA-384: {ds}")
    ds256 = c.run("ds", "example.test", "--digest", "sha256", check=0).stdout.strip()
    check(re.fullmatch(r"example\.test\. 86400 IN DS %d 15 2 [0-9A-F]{64}" % k1["tag"], ds256),
          "ds --digest sha256")
    cds = c.run("ds", "example.test", "--cds", "--digest", "sha256", check=0).stdout.strip()
    check(cds == ds256.replace(" DS ", " CDS "), "cds")
    c.run("ds", "example.test", "--digest", "md5", check=2)

    # Timing points, with the clock stepped by SIGNET_NOW.
    c.run("key", "set", str(k1["id"]), "--publish", "now", "--activate", "now+1h", check=0,
          now=NOW)
    k = json.loads(c.run("key", "show", str(k1["id"]), "--json", check=0).stdout)
    check(k["state"] == "published" and k["publish"] == NOW and k["active"] == NOW + 3600,
          f"key set: {k}")
    c.run("key", "set", str(k1["id"]), "--activate", "@%d" % (NOW + 60), check=0, now=NOW + 120)
    k = json.loads(c.run("key", "show", str(k1["id"]), "--json", check=0).stdout)
    check(k["state"] == "active", "active once its time passed")
    c.run("key", "set", str(k2["id"]), "--publish", "2028-01-01T00:00:00Z", check=0, now=NOW)
    k = json.loads(c.run("key", "show", str(k2["id"]), "--json", check=0).stdout)
    check(k["publish"] == 1830297600 and k["state"] == "generated", f"future publish: {k}")
    c.run("key", "set", str(k2["id"]), "--publish", "yesterday", check=2)
    c.run("key", "set", str(k2["id"]), check=2)
    c.run("key", "set", str(k2["id"]), "--publish", "+2h", "--activate", "+1h", check=2)

    dnskey = c.run("dnskey", "example.test", check=0).stdout.strip().splitlines()
    check(len(dnskey) == 1 and dnskey[0].startswith("example.test. 7200 IN DNSKEY 257 3 15 "),
          f"DNSKEY RRset: {dnskey}")
    cdnskey = c.run("dnskey", "example.test", "--cdnskey", "--json", check=0).stdout
    check(json.loads(cdnskey)[0]["record"].split()[3] == "CDNSKEY", "cdnskey json")

    # The DS we print is the one BIND computes from our DNSKEY.
    if have("dnssec-dsfromkey"):
        zf = os.path.join(c.dir, "dnskey.zone")
        with open(zf, "w") as f:
            f.write(dnskey[0] + "\n")
        theirs = subprocess.run(["dnssec-dsfromkey", "-a", "SHA-384", "-f", zf, "example.test"],
                                capture_output=True, text=True, check=True).stdout.split()
        check(theirs[-4:] == ds[0].split()[-4:], f"ds vs dnssec-dsfromkey: {theirs} {ds}")

    # Export: the DNSKEY, and the private key only when asked, with a warning.
    p = c.run("key", "export", str(k1["id"]), check=0)
    check(p.stdout.strip() == dnskey[0] and "PRIVATE" not in p.stdout + p.stderr, "export")
    p = c.run("key", "export", str(k1["id"]), "--private", check=0)
    check("-----BEGIN PRIVATE KEY-----" in p.stdout and "warning" in p.stderr and
          "BEGIN" not in p.stderr, "export --private")

    # Deletion is refused while the key may be needed.
    c.run("key", "delete", str(k1["id"]), check=1)
    p = c.run("zone", "remove", "example.test", check=1)
    check("--force" in p.stderr, "zone remove hint")
    c.run("key", "delete", str(k2["id"]), check=0)               # generated, never published
    c.run("key", "show", str(k2["id"]), check=1)
    c.run("key", "delete", str(k1["id"]), "--force", check=0)

    hist = json.loads(c.run("zone", "history", "example.test", "--json", check=0).stdout)
    reasons = [h["reason"] for h in hist]
    check(reasons[0] == "zone added with policy split" and
          any(r.startswith("generated ksk ED25519") for r in reasons) and
          any("deleted (forced)" in r for r in reasons) and
          all(h["actor"] == "cli" for h in hist), f"history: {reasons}")
    check("timing set by operator" in c.run("zone", "history", "example.test", check=0).stdout,
          "history table")
    c.run("zone", "remove", "csk.test", check=0)                  # its key was never published
    c.run("zone", "show", "csk.test", check=1)


def serial_floor(c):
    """zone serial-floor: what zone adopt records (issue 16)."""
    c.run("zone", "serial-floor", "adopt.test", "7", check=1)       # not in the keystore yet
    c.run("zone", "add", "adopt.test", check=0)
    c.run("zone", "serial-floor", "adopt.test", "4294967296", check=2)
    c.run("zone", "serial-floor", "adopt.test", "-1", check=2)
    c.run("zone", "serial-floor", check=2)
    p = c.run("zone", "serial-floor", "adopt.test", check=0)
    check("no serial floor" in p.stdout, f"no floor yet: {p.stdout}")
    j = json.loads(c.run("zone", "serial-floor", "adopt.test", "--json", check=0).stdout)
    check(j == {"zone": "adopt.test.", "serial_floor": None}, f"json without a floor: {j}")
    p = c.run("zone", "serial-floor", "ADOPT.test.", "2024061507", check=0)
    check("serial floor 2024061507 recorded" in p.stdout, p.stdout)
    j = json.loads(c.run("zone", "serial-floor", "adopt.test", "--json", check=0).stdout)
    check(j["serial_floor"] == 2024061507, f"floor: {j}")
    hist = c.run("zone", "history", "adopt.test", check=0).stdout
    check("serial floor 2024061507" in hist, f"journalled: {hist}")


def bind_import(c):
    if not have("dnssec-keygen") or not have("dnssec-dsfromkey"):
        print("dnssec-keygen missing (bind9-utils): BIND import checks skipped")
        return
    c.run("zone", "add", "bind.test", check=0)
    kdir = os.path.join(c.dir, "bind")
    os.mkdir(kdir)
    for alg, extra in (("ECDSAP256SHA256", ["-f", "KSK"]), ("ED25519", []),
                       ("RSASHA256", ["-b", "2048", "-f", "KSK"])):
        base = subprocess.run(["dnssec-keygen", "-q", "-K", kdir, "-a", alg, *extra, "-n",
                               "ZONE", "bind.test"], capture_output=True, text=True,
                              check=True).stdout.strip()
        path = os.path.join(kdir, base + ".private")
        k = json.loads(c.run("key", "import", "bind.test", path, "--json", check=0).stdout)
        want = subprocess.run(["dnssec-dsfromkey", "-a", "SHA-256", os.path.join(kdir, base)],
                              capture_output=True, text=True, check=True).stdout.split()
        check(k["tag"] == int(base.split("+")[-1]), "imported tag = BIND's")
        if "ds" in k:
            check(k["ds"].split()[-4:] == want[-4:], f"imported DS: {k['ds']} vs {want}")
        else:
            check(k["role"] == "zsk", "ZSK has no DS")
        c.run("key", "import", "bind.test", path, check=1)          # same tag again
    c.run("key", "import", "example.test", path, check=1)           # zone mismatch
    c.run("key", "import", "bind.test", os.path.join(kdir, "Knothere"), check=1)


def knot_import(c):
    """Keys made by Knot DNS's keymgr (PKCS#8 PEM in its KASP directory) come over with the
    same tag and DS as Knot reports, and a PEM written by `key export --private` goes back
    in. Knot is installed by scripts/deps.sh (it is also the test secondary/primary)."""
    check(have("keymgr"), "keymgr (package knot) is missing: run scripts/deps.sh")
    kdir = os.path.join(c.dir, "knot")
    os.mkdir(kdir)
    conf = os.path.join(kdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"database:\n  storage: {kdir}\ntemplate:\n  - id: default\n"
                f"    storage: {kdir}\n    kasp-db: {kdir}/kasp\nzone:\n  - domain: knot.test\n")

    def keymgr(*args):
        return subprocess.run(["keymgr", "-c", conf, "knot.test", *args], capture_output=True,
                              text=True, check=True).stdout

    c.run("zone", "add", "knot.test", check=0)
    made = []
    for args, role, alg in ((["algorithm=13", "ksk=yes"], "ksk", None),
                            (["algorithm=ed25519", "ksk=no"], "zsk", None),
                            (["algorithm=rsasha512", "size=2048", "ksk=yes"], "ksk", "rsasha512")):
        kid = keymgr("generate", *args).split()[0]
        made.append((kid, role, alg))
    listing = {l.split()[0]: int(l.split()[1]) for l in keymgr("list").splitlines() if l.strip()}
    knot_ds = set()
    for l in keymgr("ds").splitlines():
        f = l.split()
        if f[4] == "2":
            knot_ds.add((int(f[2]), int(f[3]), f[5].lower()))
    ours_ds = set()
    for kid, role, alg in made:
        pem = os.path.join(kdir, "keys", "keys", kid + ".pem")
        check(os.path.exists(pem), f"keymgr wrote {pem}")
        if alg == "rsasha512":
            c.run("key", "import", "knot.test", pem, "--role", role, check=1)   # RSA: say which
            c.run("key", "import", "knot.test", pem, "--role", role, "--algorithm", "ed25519",
                  check=1)                                                      # wrong algorithm
            extra = ["--algorithm", alg]
        else:
            extra = []
            c.run("key", "import", "knot.test", pem, check=2)                  # PEM needs --role
        k = json.loads(c.run("key", "import", "knot.test", pem, "--role", role, *extra, "--json",
                             check=0).stdout)
        check(k["tag"] == listing[kid], f"tag {k['tag']} = Knot's {listing[kid]}")
        check(k["role"] == role and k["state"] == "active", f"imported key: {k}")
        if role == "ksk":
            f = k["ds"].split()
            ours_ds.add((int(f[-4]), int(f[-3]), f[-1].lower()))
    check(ours_ds == knot_ds, f"DS after import {ours_ds} = Knot's {knot_ds}")
    # A PEM that signetctl itself exported goes back in (here: into another zone).
    c.run("zone", "add", "pem.test", check=0)
    keys = json.loads(c.run("key", "list", "knot.test", "--json", check=0).stdout)
    zsk = [k for k in keys if k["role"] == "zsk"][0]
    out = c.run("key", "export", str(zsk["id"]), "--private", check=0).stdout
    body = out[out.index("-----BEGIN"):]
    pem = os.path.join(kdir, "exported.pem")
    fd = os.open(pem, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, body.encode())
    os.close(fd)
    k = json.loads(c.run("key", "import", "pem.test", pem, "--role", "zsk", "--json",
                         check=0).stdout)
    check(k["tag"] == zsk["tag"], "exported then imported key keeps its tag")
    with open(pem, "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    p = c.run("key", "import", "pem.test", pem, "--role", "zsk", check=1)
    check("PEM" in p.stderr, f"a broken PEM is named: {p.stderr}")


def security(c):
    mode = stat.S_IMODE(os.stat(c.db).st_mode)
    check(mode == 0o600, f"keystore mode {oct(mode)}")
    p = c.run("--debug", "key", "generate", "bind.test", "--role", "zsk", check=0)
    check("PRIVATE" not in p.stderr, "no private key in debug logs")
    os.chmod(c.db, 0o644)
    p = c.run("zone", "list", check=0)
    check("can be read by others" in p.stderr, "warning for a readable keystore")
    os.chmod(c.db, 0o600)
    # Exit 1 with a clear message when the keystore cannot be opened.
    p = c.run("--db", os.path.join(c.dir, "no", "such", "dir", "ks.db"), "zone", "list",
              check=1)
    check("cannot open keystore" in p.stderr, "open error")


def zone_check(c):
    """zone check FILE [ZONE]: what the file plugin would say, with no keystore (issue 21)."""
    good = os.path.join(c.dir, "check.test.zone")
    with open(good, "w") as f:
        f.write("$ORIGIN check.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 600 86400 300\n"
                "@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A 192.0.2.2\n")
    # the zone from the file's name; no keystore is made or needed
    nodb = os.path.join(c.dir, "never", "made.db")
    p = c.run("--db", nodb, "zone", "check", good, check=0)
    check("zone check.test.: " in p.stdout and "serial 7, 4 records, 3 names" in p.stdout,
          "zone check output: " + p.stdout)
    check(not os.path.exists(os.path.dirname(nodb)), "zone check made a keystore")
    p = c.run("--json", "zone", "check", good, "check.test", check=0)
    j = json.loads(p.stdout)
    check(j["zone"] == "check.test." and j["serial"] == 7 and j["records"] == 4 and
          j["names"] == 3, "zone check --json: " + p.stdout)
    # a broken line: file and line named, exit 1
    bad = os.path.join(c.dir, "bad.zone")
    with open(bad, "w") as f:
        f.write("$TTL 300\n@ IN SOA ns1 hostmaster 7 3600 600 86400 300\n@ IN NS ns1\n"
                "www IN A 192.0.2.300\n")
    p = c.run("zone", "check", bad, "check.test", check=1)
    check(re.search(r"bad\.zone:4\b", p.stderr), "zone check names file:line: " + p.stderr)
    # data outside the zone named on the command line ($ORIGIN names another)
    p = c.run("zone", "check", good, "other.test", check=1)
    check("does not load" in p.stderr, "zone check of the wrong zone: " + p.stderr)
    # not a regular file: refused, never read
    fifo = os.path.join(c.dir, "fifo.zone")
    os.mkfifo(fifo)
    p = c.run("zone", "check", fifo, "check.test", check=1)
    check("regular file" in p.stderr, "zone check of a FIFO: " + p.stderr)
    c.run("zone", "check", check=2)
    c.run("zone", "check", good, "check.test", "extra", check=2)
    c.run("zone", "check", os.path.join(c.dir, "no..name.zone"), check=2)


def main():
    c = Ctl(sys.argv[1], "sgctl-cli.")
    c.env["SIGNET_NOW"] = str(NOW)   # one clock for the whole story; steps are explicit
    try:
        usage_and_help(c)
        policies(c)
        zones_and_keys(c)
        serial_floor(c)
        zone_check(c)
        bind_import(c)
        knot_import(c)
        security(c)
    finally:
        c.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
