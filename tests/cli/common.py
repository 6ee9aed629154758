# SPDX-License-Identifier: MIT
# Helpers for the signetctl CLI tests: run it against a temporary keystore.
import os
import shutil
import subprocess
import sys
import tempfile


class Ctl:
    def __init__(self, exe, prefix):
        self.exe = exe
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.db = os.path.join(self.dir, "ks.db")
        self.env = dict(os.environ)
        self.env.pop("SIGNET_NOW", None)
        self.env.pop("SIGNET_KEYSTORE", None)

    def run(self, *args, now=None, check=None):
        env = dict(self.env)
        if now is not None:
            env["SIGNET_NOW"] = str(now)
        p = subprocess.run([self.exe, "--db", self.db, *args], env=env,
                           capture_output=True, text=True, timeout=120)
        if check is not None and p.returncode != check:
            fail(f"signetctl {' '.join(args)}: exit {p.returncode}, want {check}\n"
                 f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def popen(self, *args):
        return subprocess.Popen([self.exe, "--db", self.db, *args], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def have(tool):
    return shutil.which(tool) is not None
