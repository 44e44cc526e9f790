#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Generate libluo's section 3 man pages from the public headers.

  gen-man.py [--list] --outdir DIR [--version V] HEADER... [TEMPLATE...]

HEADERs are include/libluo.h and include/libluo-fake.h; a TEMPLATE X.3.in
becomes the overview page X.3 of the header X.h.  One page NAME.3 is
written per public function.  --list prints the names of the pages that
would be written (for meson, at configure time) and checks nothing.

The headers are the single source of the API documentation.  Their
comments follow this kernel-doc-like convention:

  /**
   * luo_fd_preserve() - one-line summary, lower case, no final period
   * @ctx: what the parameter is.
   * @token: continuation lines of a parameter are
   *         indented.
   *
   * Description paragraphs, separated by blank lines.  "- " starts a
   * bullet item (continuation lines indented); a paragraph indented by
   * four spaces or more is literal text (code).
   *
   * Return: what the function returns.
   *
   * Errors:
   *  -EINVAL: @ctx is NULL.
   *  -EEXIST: one errno per entry; continuation lines
   *           are indented.
   *  other: optional free text for errors passed on from elsewhere.
   *
   * Thread-safety: whether and how threads may call it.
   *
   * Notes: optional.
   * Example: optional; the code lines are indented.
   * See also: optional extra references, e.g. memfd_create(2), unix(7)
   */

A function that cannot fail says "Errors: none." (optionally followed by
text).  In all text, @name is a parameter (it must be one), name() a
function (a luo_ one must exist), name(N) a man page, -EXXX an errno that
the function returns (so it must have its own entry in Errors; an errno
mentioned in passing, returned by some other call, is written without the
minus: "fails the request with ENODEV"), and UPPER_CASE_NAMES constants.
A Thread-safety text starting with "safe" reads "Thread-safe".

Each function's page (NAME.3) has NAME (the summary), LIBRARY, SYNOPSIS
(the #include line and the prototype exactly as declared), DESCRIPTION
(summary, parameters, description, the documentation of the types and
constants used), RETURN VALUE, ERRORS (one .TP entry per errno), THREAD
SAFETY, NOTES and EXAMPLES when given, and SEE ALSO (the overview pages,
the functions named in the comment or called in its example, and the
"See also:" references).  The date is SOURCE_DATE_EPOCH, or else the
newest modification time of the inputs.

  /**
   * DOC: Title
   *
   * Prose about the functions that follow, up to the next DOC comment.
   */

DOC comments become subsections of the overview page (the template's
@GROUPS@ line), each followed by the list of its functions.  "/** ... */"
comments before an enum, a typedef, a #define, and "/**< ... */" or
"/** ... */" comments of enum members, document types and constants; a
function page shows the definitions it uses (types of its prototype,
"enum x" and constants named in its comment) and their documentation.

The build fails (exit status 1, one message per problem) when a public
function has no doc comment, or a comment lacks its summary, its Return,
Errors (or "Errors: none.") or Thread-safety section, names an errno that
its Errors list lacks or that does not exist, an @parameter the function
does not have, or a luo_ function the headers do not declare, and when a
"name() - " comment documents a function that is not declared.
"""

import argparse
import errno as errno_module
import os
import re
import sys
import time

TAGS = ("Return", "Errors", "Thread-safety", "Notes", "Example", "See also")
REQUIRED = ("Return", "Errors", "Thread-safety")
ERRNO_RE = re.compile(r"-(E[A-Z0-9]+)\b")
KNOWN_ERRNOS = {n for n in dir(errno_module) if re.match(r"E[A-Z0-9]+$", n)}

# Sections of pages outside libluo, for name() in the comments.
EXTERNAL = {
    "close": 2, "dup": 2, "fork": 2, "ftruncate": 2, "ioctl": 2,
    "kexec_file_load": 2, "memfd_create": 2, "open": 2, "reboot": 2,
    "recvmsg": 2, "sendmsg": 2, "socketpair": 2, "write": 2,
    "secure_getenv": 3, "strerror": 3, "syslog": 3, "vprintf": 3,
}


class DocError(Exception):
    pass


# --------------------------------------------------------------------------
# Parsing the header


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def comment_lines(body):
    """The lines of a /** ... */ comment body, without the " * " margin."""
    lines = body.split("\n")
    out = []
    for i, l in enumerate(lines):
        if i == 0:
            l = l.strip()
            if not l:
                continue
            out.append(l)
            continue
        l = l.rstrip()
        m = re.match(r"^\s*\*( ?)(.*)$", l)
        if m:
            out.append(m.group(2))
        else:
            out.append(l.strip())
    while out and not out[-1].strip():
        out.pop()
    return out


def strip_code(text):
    """@text without comments and preprocessor lines, same length and
    line numbers (blanked out with spaces)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.S)
    text = re.sub(r"//[^\n]*", blank, text)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", blank, text, flags=re.M)
    return text


def split_params(params):
    """Parameter declarations of a prototype's parameter list."""
    out, depth, cur = [], 0, ""
    for ch in params:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    if out == ["void"]:
        return []
    return out


def param_name(decl):
    m = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
    if m:
        return m.group(1)
    m = re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*$", decl)
    return m.group(1) if m else None


class Header:
    def __init__(self, path):
        self.path = path
        self.name = os.path.basename(path)
        with open(path) as f:
            self.text = f.read()
        self.docs = []       # (start, end, lines) of /** */ comments
        self.groups = []     # {"title", "lines", "functions": [names]}
        self.functions = []  # Function objects, in order
        self.types = {}      # name -> Definition
        self.macros = {}     # name -> Definition
        self.parse()

    def where(self, pos):
        return "%s:%d" % (self.path, line_of(self.text, pos))

    def parse(self):
        text = self.text
        for m in re.finditer(r"/\*\*(?!<)(.*?)\*/", text, flags=re.S):
            self.docs.append((m.start(), m.end(), comment_lines(m.group(1))))
        code = strip_code(text)
        self.parse_macros()
        self.parse_declarations(code)

    def doc_before(self, pos):
        """The doc comment that ends right before @pos (only white space
        between), or None."""
        for start, end, lines in self.docs:
            if lines and lines[0].startswith("DOC:"):
                continue
            if end <= pos and not self.text[end:pos].strip():
                return start, lines
        return None

    def parse_macros(self):
        for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Z][A-Z0-9_]*)"
                             r"[ \t]+([^\n]*)$", self.text, flags=re.M):
            if m.group(1).endswith("_H"):
                continue
            doc = self.doc_before(m.start())
            self.macros[m.group(1)] = Definition(
                m.group(1), "#define %s %s" % (m.group(1), m.group(2).strip()),
                doc[1] if doc else [], [], [])

    def parse_declarations(self, code):
        depth, start, brace = 0, 0, 0
        in_cxx = False
        i = 0
        n = len(code)
        statements = []
        while i < n:
            ch = code[i]
            if code.startswith('extern "C"', i):
                # skip 'extern "C" {'; its '}' (in #ifdef __cplusplus, whose
                # lines are blanked, but not the brace) ends the block
                j = code.index("{", i)
                code = code[:i] + " " * (j + 1 - i) + code[j + 1:]
                in_cxx = True
                continue
            if ch == "{":
                if depth == 0:
                    brace = i
                depth += 1
            elif ch == "}":
                if depth == 0 and in_cxx:
                    in_cxx = False
                    start = i + 1
                    i += 1
                    continue
                depth -= 1
                # a static inline function's definition ends at its
                # closing brace: its prototype is what precedes the body
                if depth == 0 and re.match(r"\s*static\s+inline\b",
                                           code[start:brace]):
                    statements.append((start, brace, True))
                    start = i + 1
            elif ch == ";" and depth == 0:
                statements.append((start, i + 1, False))
                start = i + 1
            i += 1
        group = None
        doc_iter = sorted((s, e, l) for s, e, l in self.docs
                          if l and re.match(r"DOC:", l[0]))
        for s, e, inline in statements:
            stmt = code[s:e] + (";" if inline else "")
            lead = len(stmt) - len(stmt.lstrip())
            pos = s + lead
            body = " ".join(stmt.split())
            if not body:
                continue
            # DOC comments before this statement open groups
            while doc_iter and doc_iter[0][1] <= pos:
                ds, de, dl = doc_iter.pop(0)
                group = {"title": dl[0][4:].strip(), "lines": dl[1:],
                         "functions": [], "where": self.where(ds)}
                self.groups.append(group)
            if body.startswith("typedef") or body.startswith("enum") or \
                    body.startswith("struct"):
                self.parse_type(body, e, pos)
                continue
            m = re.match(r"([^(]*?)\b([A-Za-z_]\w*)\s*\((.*)\)\s*;$", body)
            if not m:
                continue
            fn = Function(self, m.group(2), m.group(1).strip(),
                          split_params(m.group(3)), pos,
                          self.text[pos:e].rstrip() + (";" if inline else ""))
            doc = self.doc_before(pos)
            fn.doc_pos, fn.doc = doc if doc else (pos, None)
            if group is None:
                group = {"title": "Functions", "lines": [], "functions": [],
                         "where": self.where(pos)}
                self.groups.append(group)
            group["functions"].append(fn.name)
            fn.group = group["title"]
            self.functions.append(fn)
        while doc_iter:
            ds, de, dl = doc_iter.pop(0)
            self.groups.append({"title": dl[0][4:].strip(), "lines": dl[1:],
                                "functions": [], "where": self.where(ds)})

    def parse_type(self, body, e, pos):
        doc = self.doc_before(pos)
        doc_lines = doc[1] if doc else []
        raw = self.text[pos:e]
        m = re.match(r"typedef\s.*\(\s*\*\s*(\w+)\s*\)\s*\((.*)\)\s*;$", body)
        if m:
            params = [param_name(p) for p in split_params(m.group(2))]
            self.types[m.group(1)] = Definition(
                m.group(1), " ".join(raw.split()), doc_lines, [], params,
                raw=raw)
            return
        m = re.match(r"enum\s+(\w+)\s*\{", body)
        if m:
            name = "enum " + m.group(1)
            members = []
            inner = self.text[self.text.index("{", pos) + 1:
                              self.text.rindex("}", pos, e)]
            # members with their /** */ (before) or /**< */ (after) docs
            pending = []
            for item in re.finditer(
                    r"/\*\*<(.*?)\*/|/\*\*(.*?)\*/|/\*.*?\*/|"
                    r"([A-Z][A-Z0-9_]*)(\s*=\s*[^,/\n]+)?\s*,?", inner,
                    flags=re.S):
                if item.group(1) is not None:
                    if members:
                        members[-1][2].extend(comment_lines(item.group(1)))
                elif item.group(2) is not None:
                    pending = comment_lines(item.group(2))
                elif item.group(3):
                    value = " ".join((item.group(4) or "").split())
                    members.append([item.group(3), value, pending])
                    pending = []
            self.types[name] = Definition(name, None, doc_lines, members, [])
            return
        m = re.match(r"typedef\s+struct\s+\w+\s+(\w+)\s*;$", body)
        if m:
            self.types[m.group(1)] = Definition(m.group(1), body, doc_lines,
                                                [], [])


class Definition:
    def __init__(self, name, decl, doc, members, params, raw=None):
        self.name = name
        self.decl = decl
        self.doc = doc
        self.members = members
        self.params = params
        self.raw = raw


class Function:
    def __init__(self, header, name, ret, params, pos, decl):
        self.header = header
        self.name = name
        self.ret = ret
        self.params = [param_name(p) for p in params]
        self.param_decls = params
        self.pos = pos
        self.decl = decl.rstrip()
        self.doc = None
        self.doc_pos = pos
        self.group = None
        # filled by parse_doc()
        self.summary = ""
        self.param_docs = []
        self.body = []
        self.sections = {}

    def where(self):
        return self.header.where(self.doc_pos)


def parse_doc(fn, public):
    """Split @fn's doc comment into summary, parameters, body and tagged
    sections; raise DocError on what the convention requires."""
    problems = []
    lines = fn.doc
    if lines is None:
        raise DocError(["no doc comment (/** %s() - summary ... */) before "
                        "its declaration" % fn.name])
    m = re.match(r"^%s\(\)\s+-\s+(.*)$" % re.escape(fn.name), lines[0])
    if not m:
        raise DocError(["the doc comment does not begin with \"%s() - "
                        "summary\"" % fn.name])
    summary = [m.group(1).strip()]
    i = 1
    while i < len(lines) and lines[i].strip() and \
            not re.match(r"@\w+\s*:", lines[i]) and not tag_of(lines[i]):
        summary.append(lines[i].strip())
        i += 1
    fn.summary = " ".join(" ".join(summary).split())
    if not fn.summary:
        problems.append("empty summary")
    # parameters
    while i < len(lines) and re.match(r"@\w+\s*:", lines[i]):
        pm = re.match(r"@(\w+)\s*:\s*(.*)$", lines[i])
        text = [pm.group(2)]
        i += 1
        while i < len(lines) and lines[i].strip() and \
                not re.match(r"@\w+\s*:", lines[i]) and \
                not tag_of(lines[i]) and lines[i][:1].isspace():
            text.append(lines[i].strip())
            i += 1
        fn.param_docs.append((pm.group(1), " ".join(text)))
    # body, then tagged sections
    current = None
    for line in lines[i:]:
        tag = tag_of(line)
        if tag:
            current = tag
            if current in fn.sections:
                problems.append("two \"%s:\" sections" % tag)
            fn.sections[current] = [line[len(tag) + 1:].strip()]
        elif current:
            fn.sections[current].append(line)
        else:
            fn.body.append(line)
    for tag in REQUIRED:
        if tag not in fn.sections or \
                not "".join(fn.sections[tag]).strip():
            problems.append("no \"%s:\" section%s" % (
                tag, " (write \"Errors: none.\" if it cannot fail)"
                if tag == "Errors" else ""))
    for name, _ in fn.param_docs:
        if name not in fn.params:
            problems.append("@%s is documented but is not a parameter"
                            % name)
    documented = [n for n, _ in fn.param_docs]
    for name in set(documented):
        if documented.count(name) > 1:
            problems.append("@%s is documented twice" % name)
    all_text = "\n".join(fn.doc)
    for ref in sorted(set(re.findall(r"@(\w+)", all_text))):
        if ref not in fn.params:
            problems.append("mentions @%s, which is not a parameter" % ref)
    for ref in sorted(set(re.findall(r"\b(luo_\w+)\(\)", all_text))):
        if ref not in public:
            problems.append("mentions %s(), which the headers do not "
                            "declare" % ref)
    # errors
    fn.errors, fn.errors_none, fn.errors_other = [], None, []
    if "Errors" in fn.sections:
        parse_errors(fn, problems)
        listed = {e for e, _ in fn.errors}
        for name in sorted(set(ERRNO_RE.findall(all_text))):
            if name not in KNOWN_ERRNOS:
                problems.append("-%s is not an errno name" % name)
            elif name not in listed:
                problems.append("mentions -%s, which its Errors list lacks"
                                % name)
    if problems:
        raise DocError(problems)


def tag_of(line):
    for tag in TAGS:
        if line.startswith(tag + ":"):
            return tag
    return None


def parse_errors(fn, problems):
    lines = fn.sections["Errors"]
    first = lines[0].strip()
    if re.match(r"none\b", first, flags=re.I):
        rest = " ".join([first[4:]] + [l.strip() for l in lines[1:]])
        fn.errors_none = " ".join(rest.split()).lstrip(".").strip()
        if any(ERRNO_RE.search(l) and re.match(r"\s*-E", l)
               for l in lines[1:]):
            problems.append("\"Errors: none\" followed by errno entries")
        return
    if first:
        problems.append("text after \"Errors:\"; put each errno on its "
                        "own line: \" -EXXX: text\"")
    entry = None
    for line in lines[1:]:
        m = re.match(r"^\s*(-E[A-Z0-9]+|other)\s*:\s*(.*)$", line)
        if m:
            entry = [m.group(1).lstrip("-"), [m.group(2)]]
            if entry[0] == "other":
                fn.errors_other.append(entry[1])
            else:
                if entry[0] in {e for e, _ in fn.errors}:
                    problems.append("-%s is listed twice" % entry[0])
                fn.errors.append((entry[0], entry[1]))
        elif not line.strip():
            entry = None
        elif entry is not None and line[:1].isspace():
            entry[1].append(line.strip())
        else:
            problems.append("cannot read this Errors line: %r (expected "
                            "\" -EXXX: text\" or \" other: text\")"
                            % line.strip())
    if not fn.errors and not fn.errors_other:
        problems.append("empty Errors list (write \"Errors: none.\" if it "
                        "cannot fail)")


# --------------------------------------------------------------------------
# roff output


def esc(s):
    """Plain text for roff."""
    return s.replace("\\", "\\e")


class Renderer:
    def __init__(self, public, pages, fn=None):
        self.public = public      # function names
        self.pages = pages        # function name -> page name
        self.fn = fn
        self.refs = set()         # (name, section) for SEE ALSO

    def inline(self, text):
        """A paragraph of comment text as roff (no line breaks)."""
        text = " ".join(text.split())
        out = []
        pat = re.compile(
            r"(?P<param>@(?P<pname>\w+))"
            r"|(?P<man>(?P<mname>[A-Za-z_][\w.-]*)\((?P<sec>[1-8])\))"
            r"|(?P<func>(?P<fname>[A-Za-z_]\w*)\(\))"
            r"|(?P<errno>(?<![\w-])-E[A-Z0-9]+\b)"
            r"|(?P<const>\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b)"
            r"|(?P<minus>(?<![\w-])-(?=[\w]))")
        pos = 0
        for m in pat.finditer(text):
            out.append(esc(text[pos:m.start()]))
            pos = m.end()
            if m.group("param"):
                out.append("\\fI%s\\fP" % m.group("pname"))
            elif m.group("man"):
                name, sec = m.group("mname"), m.group("sec")
                out.append("\\fB\\%%%s\\fP(%s)" % (name.replace("-", "\\-"),
                                                  sec))
                self.refs.add((name, int(sec)))
            elif m.group("func"):
                name = m.group("fname")
                if self.fn is not None and name == self.fn.name:
                    out.append("\\fB\\%%%s\\fP()" % name)
                elif name in self.public:
                    out.append("\\fB\\%%%s\\fP(3)" % name)
                    self.refs.add((name, 3))
                elif name in EXTERNAL:
                    out.append("\\fB\\%%%s\\fP(%d)" % (name, EXTERNAL[name]))
                else:
                    out.append("\\fB\\%%%s\\fP()" % name)
            elif m.group("errno"):
                out.append("\\fB\\%s\\fP" % m.group("errno"))
            elif m.group("const"):
                out.append("\\fB\\%%%s\\fP" % m.group("const"))
            elif m.group("minus"):
                out.append("\\-")
        out.append(esc(text[pos:]))
        return "".join(out)

    def para_lines(self, text):
        """Roff input lines for a paragraph: one sentence per line,
        wrapped at about 78 columns."""
        s = self.inline(text)
        sentences = re.split(r"(?<=[A-Za-z0-9)\"][.!?])\s+(?=[A-Z(\\\"])", s)
        lines = []
        for sent in sentences:
            line = ""
            for word in sent.split(" "):
                if line and len(line) + 1 + len(word) > 78:
                    lines.append(line)
                    line = word
                else:
                    line = line + " " + word if line else word
            if line:
                lines.append(line)
        return [("\\&" + l) if l[:1] in (".", "'") else l for l in lines]

    def blocks(self, lines):
        """Comment lines (description, DOC prose, ...) as roff."""
        out = []
        for block in split_blocks(lines):
            kind, content = block
            if kind == "literal":
                out += [".PP", ".RS 4", ".EX"]
                out += literal(content)
                out += [".EE", ".RE"]
            elif kind == "text":
                out.append(".PP")
                out += self.para_lines(content)
            elif kind == "bullets":
                for item in content:
                    out.append(".IP \\(bu 2")
                    out += self.para_lines(item)
        return out


def literal(lines):
    lines = list(lines)
    while lines and not lines[-1].strip():
        lines.pop()
    indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
    out = []
    for l in lines:
        l = l[indent:].rstrip().replace("\\", "\\e").replace("-", "\\-")
        out.append(("\\&" + l) if l[:1] in (".", "'") else l)
    return out


def split_blocks(lines):
    """[(kind, content)]: "text" (a string), "bullets" (a list of
    strings) and "literal" (a list of lines)."""
    blocks, para = [], []
    for line in lines + [""]:
        if line.strip():
            para.append(line)
            continue
        if not para:
            continue
        first = para[0]
        if len(first) - len(first.lstrip()) >= 4:
            blocks.append(("literal", para))
        else:
            lead, items = [], []
            for l in para:
                m = re.match(r"^\s{0,3}- (.*)$", l)
                if m:
                    items.append(m.group(1))
                elif items:
                    items[-1] += " " + l.strip()
                else:
                    lead.append(l.strip())
            if lead:
                blocks.append(("text", " ".join(lead)))
            if items:
                blocks.append(("bullets", items))
        para = []
    return blocks


def capital(s):
    s = s.strip()
    return s[:1].upper() + s[1:] if s[:1].islower() else s


def capital_first(lines):
    lines = list(lines)
    for i, l in enumerate(lines):
        if l.strip():
            lines[i] = capital(l)
            break
    return lines


def sentence(s):
    s = capital(s)
    return s if not s or s[-1] in ".!?:" else s + "."


def quote(arg):
    arg = arg.replace("\\", "\\e").replace("-", "\\-").replace('"', "\\(dq")
    return '"%s"' % arg if (" " in arg or not arg) else arg


def prototype_lines(decl, params):
    """.BI lines for a declaration as written in the header: parameter
    names in italics, continuation lines aligned after the "("."""
    raw = [l.rstrip() for l in decl.split("\n") if l.strip()]
    first = " ".join(raw[0].split())
    col = first.index("(") + 1 if "(" in first else 4
    if first.startswith("typedef") and first.count("(") > 1:
        col = first.index("(", first.index(")")) + 1
    lines = [first] + [" " * col + " ".join(l.split()) for l in raw[1:]]
    names = [p for p in params if p]
    out = []
    for line in lines:
        segs = []
        pos = 0
        if names:
            pat = re.compile(r"\b(%s)\b(?=\s*(?:\[[^\]]*\]\s*)?[,)])"
                             % "|".join(map(re.escape, names)))
            for m in pat.finditer(line):
                segs.append(("B", line[pos:m.start()]))
                segs.append(("I", m.group(1)))
                pos = m.end()
        segs.append(("B", line[pos:]))
        # .BI alternates bold and italic, starting bold
        args = []
        for font, text in segs:
            args.append(quote(text))
        while len(args) > 1 and args[-1] == '""':
            args.pop()
        out.append(".BI " + " ".join(args) if len(args) > 1
                   else ".B " + args[0])
    return out


def definition_lines(d):
    if d.members is not None and d.decl is None:
        out = [".B %s {" % d.name]
        for name, value, _doc in d.members:
            out.append(".B \"    %s%s,\"" % (name, (" " + value) if value
                                               else ""))
        out.append(".B };")
        return out
    if d.raw is not None:
        return prototype_lines(d.raw, d.params)
    return [".B " + quote(d.decl)]


def th(name, date, version):
    return ['.\\" SPDX-License-Identifier: LGPL-2.1-or-later',
            '.TH %s 3 %s "libluo %s" "libluo Manual"'
            % (name.upper().replace("-", "\\-"), date, version),
            ".nh", ".ad l"]


def function_page(fn, ctx):
    public, headers = ctx["public"], ctx["headers"]
    r = Renderer(public, ctx["pages"], fn)
    header = fn.header
    # the definitions a page shows: those of its prototype and those its
    # text (not its example) names
    doc_text = "\n".join(
        [fn.summary] + [t for _, t in fn.param_docs] + fn.body +
        [l for tag, lines in fn.sections.items() if tag != "Example"
         for l in lines])
    out = ['.\\" Generated from %s by doc/gen-man.py: edit the header, '
           'not this page.' % ("include/" + header.name)]
    out += th(fn.name, ctx["date"], ctx["version"])
    out += [".SH NAME", "%s \\- %s" % (fn.name,
                                      esc(fn.summary).replace("@", ""))]
    fake = header.name != "libluo.h"
    out += [".SH LIBRARY"]
    if fake:
        out += ["The libluo fake kernel "
                "(\\fIlibluo\\-fake\\fP, \\fI\\-lluo\\-fake \\-lluo\\fP)"]
    else:
        out += ["libluo (\\fIlibluo\\fP, \\fI\\-lluo\\fP)"]
    out += [".SH SYNOPSIS", ".nf",
            ".B #include <%s>" % header.name.replace("-", "\\-"), ".PP"]
    out += prototype_lines(fn.decl, fn.params)
    # definitions used
    used = []
    for t in re.findall(r"\benum\s+\w+|\b\w+\b", " ".join(fn.param_decls) +
                        " " + fn.ret):
        t = " ".join(t.split())
        for h in headers:
            d = h.types.get(t)
            if d and (d.members or d.raw) and d not in used:
                used.append(d)
    for t in re.findall(r"\benum\s+\w+", doc_text):
        t = " ".join(t.split())
        for h in headers:
            d = h.types.get(t)
            if d and d not in used:
                used.append(d)
    macros = []
    for c in sorted(set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", doc_text)),
                    key=doc_text.index):
        for h in headers:
            if c in h.macros and h.macros[c] not in macros:
                macros.append(h.macros[c])
    for d in used:
        out.append(".PP")
        out += definition_lines(d)
    if macros:
        out.append(".PP")
        for d in macros:
            out.append(".B " + quote(d.decl))
    out.append(".fi")

    out.append(".SH DESCRIPTION")
    out += r.para_lines(sentence(fn.summary))
    for name, text in fn.param_docs:
        out += [".TP", ".I " + name]
        out += r.para_lines(sentence(text))
    out += r.blocks(fn.body)
    for d in used + macros:
        if not d.doc and not any(m[2] for m in d.members):
            continue
        out.append('.SS "%s"' % d.name.replace("-", "\\-"))
        out += r.blocks(d.doc)
        for name, value, mdoc in d.members:
            if mdoc:
                out += [".TP", ".B " + name]
                out += r.para_lines(sentence(" ".join(mdoc)))

    out.append(".SH RETURN VALUE")
    out += r.blocks(capital_first(fn.sections["Return"]))

    out.append(".SH ERRORS")
    if fn.errors_none is not None:
        out.append("This function cannot fail.")
        if fn.errors_none:
            out += r.para_lines(sentence(fn.errors_none))
    for name, text in fn.errors:
        out += [".TP", ".B \\-" + name]
        out += r.para_lines(sentence(" ".join(text)))
    for text in fn.errors_other:
        out.append(".PP")
        out += r.para_lines(sentence(" ".join(text)))

    out.append(".SH THREAD SAFETY")
    ts = list(fn.sections["Thread-safety"])
    ts[0] = re.sub(r"^safe\b", "thread-safe", ts[0].strip())
    out += r.blocks(capital_first(ts))
    if "Notes" in fn.sections:
        out.append(".SH NOTES")
        out += r.blocks(capital_first(fn.sections["Notes"]))
    if "Example" in fn.sections:
        lines = fn.sections["Example"]
        out.append(".SH EXAMPLES")
        if lines[0].strip():
            out += r.para_lines(lines[0])
        body = lines[1:]
        while body and not body[0].strip():
            body.pop(0)
        if body:
            if all(len(l) - len(l.lstrip()) >= 4 or not l.strip()
                   for l in body):
                out += [".EX"] + literal(body) + [".EE"]
            else:
                out += r.blocks(body)

    see = set(r.refs)
    # and the functions its example calls
    for name in re.findall(r"\b(luo_\w+)\s*\(", "\n".join(
            fn.sections.get("Example", []))):
        if name in public:
            see.add((name, 3))
    # a function's own page is not "see also"; the overview pages are
    see.discard((fn.name, 3))
    see.add(("libluo", 3))
    if fake:
        see.add(("libluo-fake", 3))
    if "See also" in fn.sections:
        extra = " ".join(fn.sections["See also"])
        for name, sec in re.findall(r"([\w.-]+)\(([1-8])\)", extra):
            see.add((name, int(sec)))
        for name in re.findall(r"\b(\w+)\(\)", extra):
            see.add((name, 3 if name in public else EXTERNAL.get(name, 3)))
    out.append(".SH SEE ALSO")
    out += see_also(see)
    return "\n".join(tidy(out)) + "\n"


def tidy(lines):
    """No paragraph macro right after a heading or another one."""
    out = []
    for l in lines:
        if l == ".PP" and out and (out[-1].startswith((".SH", ".SS")) or
                                   out[-1] in (".PP", ".TP")):
            continue
        out.append(l)
    return out


def see_also(refs):
    refs = sorted(refs, key=lambda x: (x[1], x[0]))
    out = []
    for i, (name, sec) in enumerate(refs):
        out.append(".BR \\%%%s (%d)%s" % (name.replace("-", "\\-"), sec,
                                      "," if i + 1 < len(refs) else ""))
    return out


def overview_page(template, header, ctx):
    with open(template) as f:
        text = f.read()
    r = Renderer(ctx["public"], ctx["pages"])
    groups = []
    for g in header.groups:
        groups.append('.SS "%s"' % g["title"].replace("-", "\\-"))
        groups += r.blocks(g["lines"])
        if g["functions"]:
            groups.append(".PP")
            groups.append("Functions:")
            by_name = {f.name: f for f in header.functions}
            for name in g["functions"]:
                groups += [".TP", ".BR %s (3)" % name]
                groups += r.para_lines(sentence(by_name[name].summary))
    if "@GROUPS@" not in text:
        raise DocError(["%s has no @GROUPS@ line" % template])
    out = []
    for line in text.split("\n"):
        if line.strip() == "@GROUPS@":
            out += groups
        else:
            out.append(line.replace("@VERSION@", ctx["version"])
                       .replace("@DATE@", ctx["date"]))
    head = ['.\\" Generated from doc/%s and include/%s by doc/gen-man.py.'
            % (os.path.basename(template), header.name)]
    return "\n".join(tidy(head + out)).rstrip("\n") + "\n"


# --------------------------------------------------------------------------


def build_date(paths):
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        t = int(epoch)
    else:
        t = max(os.stat(p).st_mtime for p in paths)
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--outdir", default=".")
    p.add_argument("--version", default="")
    p.add_argument("--list", action="store_true",
                   help="print the names of the pages, check nothing")
    p.add_argument("inputs", nargs="+", metavar="HEADER|TEMPLATE")
    args = p.parse_args()

    header_paths = [f for f in args.inputs if f.endswith(".h")]
    templates = [f for f in args.inputs if f.endswith(".3.in")]
    other = set(args.inputs) - set(header_paths) - set(templates)
    if other:
        p.error("neither a header (.h) nor a template (.3.in): %s"
                % " ".join(sorted(other)))
    headers = [Header(h) for h in header_paths]
    by_stem = {h.name[:-2]: h for h in headers}
    overview = {}
    for t in templates:
        stem = os.path.basename(t)[:-len(".3.in")]
        if stem not in by_stem:
            p.error("%s: no header %s.h given" % (t, stem))
        overview[stem + ".3"] = (t, by_stem[stem])

    functions = [f for h in headers for f in h.functions]
    pages = {f.name: f.name + ".3" for f in functions}
    if args.list:
        for name in sorted(list(pages.values()) + list(overview)):
            print(name)
        return 0

    public = set(pages)
    problems = []
    # a function comment whose function is gone (renamed, removed)
    for h in headers:
        for start, _end, lines in h.docs:
            m = re.match(r"(\w+)\(\)\s+-\s", lines[0]) if lines else None
            if m and m.group(1) not in public:
                problems.append("%s: the doc comment of %s() documents no "
                                "declared function" % (h.where(start),
                                                        m.group(1)))
    seen = {}
    for f in functions:
        if f.name in seen:
            problems.append("%s: %s() is declared twice" % (
                f.header.where(f.pos), f.name))
        seen[f.name] = f
        try:
            parse_doc(f, public)
        except DocError as e:
            problems += ["%s: %s(): %s" % (f.where(), f.name, m)
                         for m in e.args[0]]
    if problems:
        for m in problems:
            print("gen-man.py: error: " + m, file=sys.stderr)
        print("gen-man.py: %d problem(s) in the API documentation; every "
              "public function needs a doc comment with a summary, "
              "\"Return:\", \"Errors:\" (or \"Errors: none.\") and "
              "\"Thread-safety:\" (see the top of doc/gen-man.py)"
              % len(problems), file=sys.stderr)
        return 1

    ctx = {"public": public, "pages": pages, "headers": headers,
           "version": args.version or "",
           "date": build_date(header_paths + templates)}
    out = {}
    try:
        for f in functions:
            out[pages[f.name]] = function_page(f, ctx)
        for page, (template, header) in overview.items():
            out[page] = overview_page(template, header, ctx)
    except DocError as e:
        for m in e.args[0]:
            print("gen-man.py: error: " + m, file=sys.stderr)
        return 1
    os.makedirs(args.outdir, exist_ok=True)
    for page, text in out.items():
        path = os.path.join(args.outdir, page)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
