#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Check that libluo's public API is the same everywhere it is written down.

  check-api.py symbols --cc=CC... -I DIR --header H... --version-script F
                       --library LIB.so --static-library LIB.a
                       --soname NAME --nm NM --readelf READELF
      The functions declared in the public headers, the global: list of the
      version script and the dynamic symbols the shared library defines are
      the same three sets; every export carries a version of the script; the
      SONAME is NAME; the static library defines no global symbol but the
      public functions and internal ones named luoi_*.

  check-api.py man --cc=CC... -I DIR --header H... --man-dir DIR...
                   [--groff GROFF]
      The man pages generated from the header comments (doc/gen-man.py)
      agree with the headers: every public function has a doc comment and a
      page (or a .so link to one) whose SYNOPSIS shows its #include and its
      exact prototype, with non-empty NAME, DESCRIPTION, RETURN VALUE,
      ERRORS and THREAD SAFETY sections; every errno its header comment
      names is an entry (.TP) of ERRORS; the pages name no function or type
      the headers lack; groff -man -Tutf8 -ww has nothing to say.  The
      first --man-dir wins for a page name: give the generated pages first.

Function names are taken from the preprocessed headers (cc -E), so comments
and #ifdef __cplusplus blocks do not get in the way.  Exit status: 0 pass,
1 fail, 77 skip (a tool is missing).
"""

import argparse
import os
import re
import subprocess
import sys

SKIP = 77


def fail(errors):
    for e in errors:
        print("FAIL: " + e)
    return 1 if errors else 0


def preprocess(cc, incdirs, header):
    """The text of @header alone, preprocessed (no system headers)."""
    cmd = list(cc) + ["-E", "-x", "c", "-std=c99"]
    for d in incdirs:
        cmd += ["-I", d]
    cmd.append(header)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    want = os.path.realpath(header)
    keep, lines = False, []
    for line in out.splitlines():
        m = re.match(r'#\s*(?:line\s+)?\d+\s+"([^"]*)"', line)
        if m:
            keep = os.path.realpath(m.group(1)) == want
            continue
        if keep:
            lines.append(line)
    return "\n".join(lines)


def declarations(text, inline=None):
    """(functions, type names and tags) declared at file scope in @text.
    Static inline functions (defined in the header, never exported) go to
    the list @inline, when given."""
    text = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", text, flags=re.S)
    funcs, types = [], []
    depth, stmt = 0, []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            s = " ".join("".join(stmt).split())
            if depth == 0 and s.startswith("static inline"):
                m = re.match(r"[^(]*?\b([A-Za-z_]\w*)\s*\(", s)
                if m and inline is not None:
                    inline.append(m.group(1))
                stmt = []
                continue
        if ch == ";" and depth == 0:
            s = " ".join("".join(stmt).split())
            stmt = []
            types += re.findall(r"\b(?:enum|struct|union)\s+(\w+)", s)
            if s.startswith("typedef"):
                m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", s) or \
                    re.search(r"(\w+)\s*$", s)
                if m:
                    types.append(m.group(1))
            elif "{" not in s:
                m = re.match(r"[^(]*?\b([A-Za-z_]\w*)\s*\(", s)
                if m:
                    funcs.append(m.group(1))
        else:
            stmt.append(ch)
    return funcs, types


def public_api(args, with_inline=False):
    """Functions and types of the headers; static inline functions only
    when @with_inline (they are documented, never exported)."""
    funcs, types = [], []
    for h in args.header:
        inline = []
        f, t = declarations(preprocess(args.cc, args.include, h), inline)
        funcs += f + (inline if with_inline else [])
        types += t
    dups = sorted({f for f in funcs if funcs.count(f) > 1})
    return set(funcs), set(types), dups


def version_script(path):
    """{node: [global names]} and problems found in the script."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    nodes, problems = {}, []
    for m in re.finditer(r"([\w.]+)\s*\{(.*?)\}\s*([\w.]*)\s*;", text,
                         flags=re.S):
        node, body = m.group(1), m.group(2)
        glob = re.search(r"global\s*:(.*?)(?:local\s*:|$)", body, flags=re.S)
        names = []
        if glob:
            names = [n.strip() for n in glob.group(1).split(";") if n.strip()]
        for n in names:
            if re.search(r"[*?\[]", n):
                problems.append("version script: wildcard %r in %s global:"
                                % (n, node))
        nodes[node] = names
    if not nodes:
        problems.append("version script: no version node found")
    elif not re.search(r"local\s*:\s*\*\s*;", text):
        problems.append("version script: no 'local: *;'")
    return nodes, problems


def run(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def check_symbols(args):
    errors = []
    api, _types, dups = public_api(args)
    errors += ["%s is declared twice in the headers" % d for d in dups]
    if not api:
        errors.append("no function found in the headers")

    nodes, problems = version_script(args.version_script)
    errors += problems
    script = {}
    for node, names in nodes.items():
        for n in names:
            if n in script:
                errors.append("version script lists %s twice" % n)
            script[n] = node

    exported = {}
    out = run([args.nm, "-D", "--defined-only", args.library])
    # nm shows symbol versions since binutils 2.35; older ones cannot tell.
    versioned = "@" in out
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2:
            continue
        kind, name = f[-2], f[-1]
        base, _, version = name.partition("@")
        version = version.lstrip("@")
        if kind == "A" and base in nodes:
            continue  # the version definition itself
        if kind not in ("T", "i"):
            errors.append("exported symbol %s is not a function (nm type %s)"
                          % (base, kind))
        if version and version != script.get(base, version):
            errors.append("%s is exported with version %s, the script "
                          "says %s" % (base, version, script[base]))
        if not version and nodes and versioned:
            errors.append("%s is exported without a symbol version" % base)
        exported[base] = version

    for name, what in ((set(script), "the version script"),
                       (set(exported), "the exports of %s" % args.library)):
        for f in sorted(api - name):
            errors.append("%s is declared in the headers but missing from %s"
                          % (f, what))
        for f in sorted(name - api):
            errors.append("%s is in %s but not declared in the headers"
                          % (f, what))

    dyn = run([args.readelf, "-d", "-W", args.library])
    m = re.search(r"\(SONAME\).*\[(.*)\]", dyn)
    soname = m.group(1) if m else None
    if soname != args.soname:
        errors.append("SONAME is %s, expected %s" % (soname, args.soname))

    if args.static_library:
        # Everything a static link pulls in shares the program's namespace.
        out = run([args.nm, "-g", "--defined-only", args.static_library])
        for line in out.splitlines():
            f = line.split()
            # Public functions, internal ones (luoi_), and the
            # toolchain's "__" names (__odr_asan.*, __gcov_*, ...).
            if len(f) == 3 and f[2] not in api and \
                    not re.match(r"(luoi_|__)", f[2]):
                errors.append("%s defines global symbol %s: neither public "
                              "nor in the internal luoi_ namespace"
                              % (os.path.basename(args.static_library), f[2]))

    if not errors:
        print("%d public functions; headers, version script and %s agree; "
              "SONAME %s" % (len(api), os.path.basename(args.library), soname))
    return fail(errors)


MAN_REF = re.compile(r"\b(luo_[a-z0-9_]+)")
# Functions of the original libluo that libluo(3) names when it tells how to
# port from it.
HISTORICAL = {"luo_init", "luo_cleanup"}
ERRNO = re.compile(r"(?<![\w-])-(E[A-Z0-9]+)\b")


def strip_comments(text):
    """A page without its comment lines, stripped."""
    return "\n".join(l for l in text.splitlines()
                     if not re.match(r'\.\s*\\"', l)).strip()


def read_page(path):
    with open(path, errors="replace") as f:
        return f.read()


def prototypes(text):
    """{function: its declaration, without white space} in preprocessed
    @text."""
    text = re.sub(r"__attribute__\s*\(\(.*?\)\)", " ", text, flags=re.S)
    out, depth, stmt = {}, 0, []
    for ch in text:
        if ch == "{":
            depth += 1
            if depth == 1:
                head = "".join(stmt).strip()
                if head.startswith("static inline"):
                    # an inline definition: its prototype is the head
                    m = re.match(r"[^(]*?\b([A-Za-z_]\w*)\s*\(", head)
                    if m:
                        out[m.group(1)] = "".join((head + ";").split())
        elif ch == "}":
            depth -= 1
            if depth == 0 and "".join(stmt).strip().startswith(
                    "static inline"):
                stmt = []
                continue
        stmt.append(ch)
        if ch == ";" and depth == 0:
            s = "".join(stmt)
            stmt = []
            s = re.sub(r"^[^{}]*\}", "", s).strip()  # after an enum body
            if s.startswith("typedef") or "{" in s:
                continue
            m = re.match(r"[^(]*?\b([A-Za-z_]\w*)\s*\(", s)
            if m:
                # <stdbool.h>'s bool is a macro: the header says bool
                s = re.sub(r"\b_Bool\b", "bool", s)
                out[m.group(1)] = "".join(s.split())
    return out


def doc_comments(path):
    """{function: its doc comment} from the raw header: the /** */ comment
    that comes right before the declaration."""
    with open(path) as f:
        text = f.read()
    out = {}
    # a declaration ends with ";", a static inline definition with "{"
    for m in re.finditer(r"/\*\*(?!<)((?:(?!\*/).)*)\*/\s*"
                         r"([^;{}#/]*?)\b(\w+)\s*\([^;{}]*\)\s*[;{]", text,
                         flags=re.S):
        out.setdefault(m.group(3), m.group(1))
    return out


def deroff(text):
    """Page text without font escapes and macro names: roughly what the
    reader sees."""
    out = []
    for line in text.splitlines():
        if re.match(r'\.\s*\\"', line):
            continue
        m = re.match(r"\.(B|I|BI|IB|BR|RB|IR|RI)\s+(.*)$", line)
        if m:
            args = re.findall(r'"((?:[^"\\]|\\.)*)"|(\S+)', m.group(2))
            line = "".join(a or b for a, b in args)
        elif line.startswith("."):
            line = ""
        line = re.sub(r"\\f[BIRP]|\\f\(..|\\&|\\%", "", line)
        line = line.replace("\\-", "-").replace("\\(dq", '"') \
                   .replace("\\(aq", "'").replace("\\e", "\\")
        out.append(line)
    return "\n".join(out)


def section(text, name):
    """The roff source of section @name of a page, or None."""
    m = re.search(r'^\.SH\s+"?%s"?\s*$(.*?)(?=^\.SH|\Z)' % re.escape(name),
                  text, flags=re.S | re.M)
    return m.group(1) if m else None


def check_man(args):
    errors = []
    api, types, _dups = public_api(args, with_inline=True)
    # each function: its header, its declaration, its doc comment
    home, decl, docs = {}, {}, {}
    for h in args.header:
        protos = prototypes(preprocess(args.cc, args.include, h))
        for f, p in protos.items():
            home[f] = os.path.basename(h)
            decl[f] = p
        docs.update(doc_comments(h))

    pages = {}
    for d in args.man_dir:
        for name in sorted(os.listdir(d)):
            if re.search(r"\.[1-8]$", name):
                pages.setdefault(name, os.path.join(d, name))

    def resolve(page):
        """Follow .so links: (final page name, text) or (None, error)."""
        seen = []
        while page in pages and page not in seen:
            seen.append(page)
            text = read_page(pages[page])
            m = re.match(r"\.so\s+(\S+)\s*$", strip_comments(text))
            if not m:
                return page, text
            page = os.path.basename(m.group(1))
        return None, "leads to %s, which does not exist" % " -> ".join(
            seen + [page])

    for f in sorted(api):
        page = f + ".3"
        if f not in docs:
            errors.append("%s has no doc comment in %s" % (f, home.get(f)))
        if page not in pages:
            errors.append("%s has no man page %s" % (f, page))
            continue
        target, text = resolve(page)
        if target is None:
            errors.append("%s: %s" % (page, text))
            continue
        syn = section(text, "SYNOPSIS")
        plain = "".join(deroff(syn or "").split())
        if not syn or not re.search(r"\b%s\s*\(" % f, syn):
            errors.append("%s (for %s) does not show %s() in its SYNOPSIS"
                          % (target, f, f))
        elif decl.get(f) and decl[f] not in plain:
            errors.append("%s (for %s): its SYNOPSIS does not show the "
                          "prototype of %s: %s" % (target, f, home[f],
                                                   decl[f]))
        elif "#include<%s>" % home.get(f) not in plain:
            errors.append("%s (for %s): its SYNOPSIS does not show "
                          "#include <%s>" % (target, f, home.get(f)))
        for name in ("NAME", "DESCRIPTION", "RETURN VALUE", "ERRORS",
                     "THREAD SAFETY"):
            if section(text, name) is None:
                errors.append("%s (for %s) has no %s section"
                              % (target, f, name))
            elif not deroff(section(text, name)).strip():
                errors.append("%s (for %s): its %s section is empty"
                              % (target, f, name))
        # every errno the header comment names is an entry (.TP tag) of
        # ERRORS
        errs = section(text, "ERRORS") or ""
        tags = set()
        for tag in re.findall(r"^\.TP\s*\n(.*)$", errs, flags=re.M):
            tags.update(ERRNO.findall(deroff(tag)))
        for e in sorted(set(ERRNO.findall(docs.get(f, "")))):
            if e not in tags:
                errors.append("%s (for %s): -%s is named in the comment of "
                              "%s() in %s but is not an entry of ERRORS"
                              % (target, f, e, f, home.get(f)))

    known = api | types | HISTORICAL
    for page, path in sorted(pages.items()):
        text = read_page(path)
        for ref in sorted(set(MAN_REF.findall(text))):
            if ref not in known:
                errors.append("%s names %s, which the headers do not declare"
                              % (page, ref))
        if args.groff and not strip_comments(text).startswith(".so"):
            r = subprocess.run([args.groff, "-man", "-Tutf8", "-ww", "-z",
                                path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True)
            if r.returncode != 0 or r.stdout.strip():
                errors.append("groff on %s: %s" % (page, r.stdout.strip()))

    if not errors:
        print("%d public functions, each with a generated man page that "
              "agrees with its header comment; %d pages checked%s"
              % (len(api), len(pages), " with groff" if args.groff else ""))
    return fail(errors)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("symbols", "man"))
    p.add_argument("--cc", action="append", required=True,
                   help="the C compiler command, one --cc=WORD per word")
    p.add_argument("-I", "--include", action="append", default=[])
    p.add_argument("--header", action="append", required=True)
    p.add_argument("--version-script")
    p.add_argument("--library")
    p.add_argument("--static-library")
    p.add_argument("--soname")
    p.add_argument("--nm")
    p.add_argument("--readelf")
    p.add_argument("--man-dir", action="append", default=[])
    p.add_argument("--groff")
    args = p.parse_args()

    if args.mode == "symbols":
        for opt in ("version_script", "library", "soname", "nm", "readelf"):
            if not getattr(args, opt):
                p.error("symbols needs --" + opt.replace("_", "-"))
        return check_symbols(args)
    if not args.man_dir:
        p.error("man needs --man-dir")
    return check_man(args)


if __name__ == "__main__":
    sys.exit(main())
