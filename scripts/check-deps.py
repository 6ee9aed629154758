#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check that Signet's component graph is a DAG.

A component is a top-level folder with C sources (common/, zones/, tsig/, ...; tests/ and
build trees are not components). Y depends on X when

  * a CMake target defined in Y's folder links a target defined in X's folder (read from
    `cmake --graphviz`: the direct link dependencies CMake itself computed), or
  * a .c or .h file in Y's folder includes "X/..." (includes are "component/file.h").

The script prints the components, every edge with what makes it, the graph in layers
(layer 0 depends on nothing, each other layer only on lower ones), and exits 1, printing each cycle
with its evidence, when the graph has one; 2 on a usage or cmake error.

    scripts/check-deps.py                      configure a scratch tree (./build-deps) for the graph
    scripts/check-deps.py --build-dir DIR      the scratch tree to configure (kept: later runs are quick)
    scripts/check-deps.py --dot FILE           read a `cmake --graphviz=FILE` output instead
    scripts/check-deps.py --no-link            include lines only

CTest runs it as lint.deps (label lint) with --build-dir BUILD/check-deps.
"""

import argparse
import os
import re
import subprocess
import sys

NOT_COMPONENTS = {'tests'}
C_SUFFIXES = ('.c', '.h')

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"]([A-Za-z0-9_.-]+)/')
# the first argument of the commands that make targets (literal names only)
TARGET_RE = re.compile(r'^\s*(?:add_library|add_executable|signet_unit_test)\s*\(\s*([A-Za-z0-9_.+-]+)',
                       re.M)
NODE_RE = re.compile(r'^\s*"(node\d+)"\s*\[\s*label\s*=\s*"([^"]*)"')
EDGE_RE = re.compile(r'^\s*"(node\d+)"\s*->\s*"(node\d+)"')


def is_build_tree(path):
    return os.path.exists(os.path.join(path, 'CMakeCache.txt'))


def c_files(folder):
    for top, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.')
                         and not is_build_tree(os.path.join(top, d)))
        for f in sorted(files):
            if f.endswith(C_SUFFIXES):
                yield os.path.join(top, f)


def find_components(src):
    comps = []
    for d in sorted(os.listdir(src)):
        path = os.path.join(src, d)
        if (d in NOT_COMPONENTS or d.startswith('.') or d.startswith('build')
                or not os.path.isdir(path) or is_build_tree(path)):
            continue
        if next(c_files(path), None):
            comps.append(d)
    return comps


def target_owners(src, comps):
    """Target name -> the component whose folder defines it."""
    owner = {}
    for c in comps:
        for top, dirs, files in os.walk(os.path.join(src, c)):
            dirs[:] = [d for d in dirs if not is_build_tree(os.path.join(top, d))]
            if 'CMakeLists.txt' in files:
                with open(os.path.join(top, 'CMakeLists.txt')) as f:
                    text = re.sub(r'#.*', '', f.read())
                for name in TARGET_RE.findall(text):
                    owner[name] = c
    return owner


def run_graphviz(src, build_dir, cmake):
    os.makedirs(build_dir, exist_ok=True)
    # one graph file, not one per target
    with open(os.path.join(build_dir, 'CMakeGraphVizOptions.cmake'), 'w') as f:
        f.write('set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)\nset(GRAPHVIZ_GENERATE_DEPENDERS FALSE)\n')
    dot = os.path.join(build_dir, 'deps.dot')
    if os.path.exists(dot):
        os.remove(dot)
    r = subprocess.run([cmake, '-S', src, '-B', build_dir, '--graphviz=' + dot,
                        '-DSIGNET_TESTS=ON', '-DSIGNET_FUZZ=OFF'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not os.path.exists(dot):
        sys.stderr.write(r.stdout)
        sys.stderr.write('check-deps: cmake --graphviz failed in %s (exit %d)\n' % (build_dir, r.returncode))
        sys.exit(2)
    return dot


def link_edges(dot, owner):
    """(from, to) -> evidence list, from the direct link dependencies in a graphviz file."""
    labels, edges = {}, {}
    with open(dot) as f:
        lines = f.readlines()
    for line in lines:
        m = NODE_RE.match(line)
        if m:
            labels[m.group(1)] = m.group(2)
    for line in lines:
        m = EDGE_RE.match(line)
        if not m:
            continue
        a, b = labels.get(m.group(1)), labels.get(m.group(2))
        ca, cb = owner.get(a), owner.get(b)
        if ca and cb and ca != cb:
            edges.setdefault((ca, cb), []).append('links %s -> %s' % (a, b))
    return edges


def include_edges(src, comps):
    """(from, to) -> evidence list, from the #include lines of each component's files."""
    edges = {}
    known = set(comps)
    for c in comps:
        for path in c_files(os.path.join(src, c)):
            with open(path, errors='replace') as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE_RE.match(line)
                    if m and m.group(1) in known and m.group(1) != c:
                        rel = os.path.relpath(path, src)
                        edges.setdefault((c, m.group(1)), []).append('%s:%d: %s' % (rel, n, line.strip()))
    return edges


def strongly_connected(comps, succ):
    """Tarjan's algorithm: the components of the graph, each a list of nodes."""
    index, low, on, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(succ.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            out.append(sorted(scc))

    for v in comps:
        if v not in index:
            visit(v)
    return out


def shortest_cycle(start, scc, succ):
    """The shortest cycle through start inside a strongly connected set, as a node list."""
    inside = set(scc)
    # breadth-first from start's successors back to start: the shortest cycle through it
    prev = {}
    frontier = [start]
    seen = {start}
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(succ.get(v, ())):
                if w not in inside:
                    continue
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start] + list(reversed(path[:-1])) + [start]
                if w not in seen:
                    seen.add(w)
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start, start]


def show_edges(cyc, links, incs):
    for a, b in zip(cyc, cyc[1:]):
        ev = links.get((a, b), []) + incs.get((a, b), [])
        print('    %s -> %s:' % (a, b))
        for e in ev[:4]:
            print('      %s' % e)
        if len(ev) > 4:
            print('      ... and %d more' % (len(ev) - 4))


def layers(comps, succ):
    """Longest-path layering of a DAG: layer 0 depends on nothing."""
    depth = {}

    def d(v):
        if v not in depth:
            depth[v] = 1 + max((d(w) for w in succ.get(v, ())), default=-1)
        return depth[v]

    for v in comps:
        d(v)
    out = {}
    for v in comps:
        out.setdefault(depth[v], []).append(v)
    return [sorted(out[k]) for k in sorted(out)]


def reachable(succ, a):
    seen, todo = set(), [a]
    while todo:
        v = todo.pop()
        for w in succ.get(v, ()):
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--source', default=os.path.dirname(here), help='the source tree (default: this script\'s ..)')
    ap.add_argument('--build-dir', help='scratch tree for cmake --graphviz (default: SOURCE/build-deps)')
    ap.add_argument('--cmake', default='cmake', help='the cmake to run')
    ap.add_argument('--dot', help='a cmake --graphviz output to read instead of running cmake')
    ap.add_argument('--no-link', action='store_true', help='include lines only (no cmake)')
    args = ap.parse_args()
    src = os.path.abspath(args.source)
    if not os.path.isfile(os.path.join(src, 'CMakeLists.txt')):
        ap.error('%s is not a source tree (no CMakeLists.txt)' % src)

    comps = find_components(src)
    if not comps:
        sys.stderr.write('check-deps: no components under %s\n' % src)
        return 2
    owner = target_owners(src, comps)
    links = {}
    if not args.no_link:
        dot = args.dot or run_graphviz(src, os.path.abspath(args.build_dir or os.path.join(src, 'build-deps')),
                                       args.cmake)
        links = link_edges(dot, owner)
    incs = include_edges(src, comps)

    edges = sorted(set(links) | set(incs))
    succ = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)

    print('components: %s' % ' '.join(comps))
    print('edges (A -> B: A depends on B; link = CMake target_link_libraries, include = #include "B/..."):')
    for a, b in edges:
        kinds = [k for k, e in (('link', links), ('include', incs)) if (a, b) in e]
        print('  %-10s -> %-10s %s' % (a, b, ', '.join(kinds)))

    cycles = [s for s in strongly_connected(comps, succ) if len(s) > 1]
    if cycles:
        print('\nFAIL: the component graph is not a DAG: %d set%s of components depend on each other'
              % (len(cycles), 's' if len(cycles) > 1 else ''))
        shown = []
        for scc in cycles:
            print('\n  strongly connected: %s' % ', '.join(scc))
            for v in scc:
                cyc = shortest_cycle(v, scc, succ)
                # the same cycle from another of its nodes is shown once
                key = frozenset(zip(cyc, cyc[1:]))
                if key in shown:
                    continue
                shown.append(key)
                print('  cycle: %s' % ' -> '.join(cyc))
                show_edges(cyc, links, incs)
        print('\nA component may only depend on components below it; move the code that needs '
              'the upper one up, or what the lower one needs down (see docs/architecture.md).')
        return 1

    print('\nlayers (each depends only on lower ones):')
    for i, layer in enumerate(layers(comps, succ)):
        print('  %d: %s' % (i, ' '.join(layer)))
    if links:
        # an include that the link graph does not cover: a header-only use, or a missing link
        link_succ = {}
        for a, b in links:
            link_succ.setdefault(a, set()).add(b)
        for a, b in edges:
            if (a, b) in incs and b not in reachable(link_succ, a):
                print('note: %s includes %s/ without linking it (%s)' % (a, b, incs[(a, b)][0]))
    print('\nOK: no cycle among %d components' % len(comps))
    return 0


if __name__ == '__main__':
    sys.exit(main())
