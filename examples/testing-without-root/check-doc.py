#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# doc/testing-without-root.md shows the example's files whole: each block
# opened by a line "<!-- file: PATH -->" must equal PATH in the tree.
import re
import sys

doc, top = sys.argv[1], sys.argv[2]
text = open(doc).read()
blocks = re.findall(r'<!-- file: (\S+) -->\n```[a-z]*\n(.*?)```\n', text, re.S)
if not blocks:
    sys.exit('no file blocks in ' + doc)
bad = 0
for path, body in blocks:
    if open(top + '/' + path).read() != body:
        print('%s: its copy in %s differs' % (path, doc))
        bad += 1
print('%d files checked' % len(blocks))
sys.exit(1 if bad else 0)
