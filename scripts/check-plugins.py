#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lint.plugins: the plugin contract holds (issue 18).

- every plugin NAME:FOLDER in plugin.cfg has a page docs/plugins/NAME.md (with its
  Syntax: the one place a plugin is documented) and a file
  FOLDER/NAME_plugin.c that defines `const sg_plugin sg_plugin_NAME`;
- the core (daemon/ except its own *_plugin.c files) names no plugin: no sg_plugin_X of
  a plugin outside daemon/, no include of another component's *_plugin.h, and no
  comparison of a plugin's name with a string.
Exit 1 with one line per violation."""

import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def plugins():
    out = []
    with open(os.path.join(ROOT, 'plugin.cfg')) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                name, folder = line.split(':', 1)
                out.append((name, folder))
    return out


def main():
    bad = []
    listed = plugins()
    names = [n for n, _ in listed]
    home = {}
    for name, folder in listed:
        sym = 'sg_plugin_' + name.replace('-', '_')
        page = os.path.join(ROOT, 'docs', 'plugins', name + '.md')
        if not os.path.exists(page):
            bad.append('%s: no docs/plugins/%s.md' % (name, name))
        elif '## Syntax' not in open(page).read():
            # the page is the reference, not a pointer to one elsewhere
            bad.append('docs/plugins/%s.md: no Syntax section' % name)
        src = os.path.join(ROOT, folder, name.replace('-', '_') + '_plugin.c')
        if not os.path.exists(src) or not re.search(r'const sg_plugin %s\b' % sym, open(src).read()):
            bad.append('%s: no %s/%s_plugin.c defining %s' % (name, folder, name, sym))
        home[name] = folder
    foreign = [n for n in names if home.get(n) != 'daemon']
    for p in sorted(glob.glob(os.path.join(ROOT, 'daemon', '*.[ch]'))):
        base = os.path.basename(p)
        if base.endswith('_plugin.c') or base.startswith('test_'):
            continue
        text = open(p).read()
        rel = os.path.relpath(p, ROOT)
        for n in foreign:
            if re.search(r'\bsg_plugin_%s\b' % n.replace('-', '_'), text):
                bad.append('%s: names the plugin %s (sg_plugin_%s)' % (rel, n, n))
        for m in re.finditer(r'#include "(\w+)/(\w+_plugin)\.h"', text):
            if m.group(1) != 'daemon':
                bad.append('%s: includes %s/%s.h' % (rel, m.group(1), m.group(2)))
        for m in re.finditer(r'strcmp\([^;]*plugin->name[^;]*"|plugin->name\s*,\s*"', text):
            bad.append('%s: compares a plugin name with a string: %s' % (rel, m.group(0)))
    for line in bad:
        print(line)
    print('lint.plugins: %d plugins, %s' % (len(names), 'OK' if not bad else '%d problems' % len(bad)))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
