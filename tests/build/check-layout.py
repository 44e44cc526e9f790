#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that the tree keeps the shape doc/architecture.md describes.

  check-layout.py SOURCE_ROOT

  - modules (a .c file and its .h, by stem) of lib/, fake/, common/ and
    tools/ include each other without a cycle;
  - libluo (lib/) includes nothing from fake/, common/ nothing from lib/ or
    fake/;
  - no source file of lib/, fake/, common/ or tools/ is longer than 800
    lines.

Exit status: 0 pass, 1 fail.
"""

import os
import re
import sys

MAX_LINES = 800
AREAS = ("lib", "fake", "common", "tools")


def sources(root):
    for area in AREAS:
        for d, _, files in os.walk(os.path.join(root, area)):
            for f in files:
                if f.endswith((".c", ".h")):
                    yield os.path.join(d, f)


def module(root, path):
    rel = os.path.relpath(path, root)
    return os.path.splitext(rel)[0]


def main():
    root = sys.argv[1]
    errors = []
    files = list(sources(root))
    by_name = {}
    for p in files:
        by_name.setdefault(os.path.basename(p), []).append(p)

    graph = {}
    for p in files:
        text = open(p, encoding="utf-8").read()
        n = text.count("\n")
        if n > MAX_LINES:
            errors.append("%s has %d lines (at most %d)"
                          % (os.path.relpath(p, root), n, MAX_LINES))
        m = module(root, p)
        area = m.split(os.sep)[0]
        deps = graph.setdefault(m, set())
        for inc in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            # resolve relative to the file, then by name in the areas
            cand = os.path.normpath(os.path.join(os.path.dirname(p), inc))
            targets = [cand] if cand in files else \
                by_name.get(os.path.basename(inc), [])
            for t in targets:
                tm = module(root, t)
                tarea = tm.split(os.sep)[0]
                if area == "lib" and tarea == "fake":
                    errors.append("%s includes %s: libluo must not contain "
                                  "fake kernel code" % (m, tm))
                if area == "common" and tarea in ("lib", "fake", "tools"):
                    errors.append("%s includes %s: common/ depends on "
                                  "nothing above it" % (m, tm))
                if tm != m:
                    deps.add(tm)

    # cycles: depth-first search with colours
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        colour[m] = GREY
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if colour.get(d, BLACK) == GREY:
                cyc = stack[stack.index(d):] + [d]
                errors.append("include cycle: " + " -> ".join(cyc))
            elif colour.get(d, BLACK) == WHITE:
                visit(d)
        stack.pop()
        colour[m] = BLACK

    for m in sorted(graph):
        if colour[m] == WHITE:
            visit(m)

    for e in errors:
        print("FAIL: " + e)
    if not errors:
        print("%d modules in %s: no include cycle, no file over %d lines"
              % (len(graph), ", ".join(AREAS), MAX_LINES))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
