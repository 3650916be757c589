#!/usr/bin/env python3
"""Code-shape figures for issue 9: long functions, long files, command cross-imports, print macros."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else "src"
long_fns, long_files, cross, prints = [], [], [], 0
fn_re = re.compile(r'^(\s*)(pub(\([^)]*\))?\s+)?(async\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)')
for dp, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith(".rs"): continue
        p = os.path.join(dp, f)
        lines = open(p).read().split("\n")
        if len(lines) - 1 > 600: long_files.append((len(lines) - 1, p))
        for i, l in enumerate(lines):
            m = fn_re.match(l)
            if not m or l.rstrip().endswith(";"): continue
            ind = m.group(1)
            for j in range(i, len(lines)):
                if lines[j] == ind + "}" or (j == i and l.rstrip().endswith("}")):
                    n = j - i + 1
                    if n > 80: long_fns.append((n, f"{p}:{i+1} {m.group(7)}"))
                    break
        if "/commands/" in p:
            prints += len(re.findall(r'\be?print(?:ln)?!', "\n".join(lines)))
            me = f[:-3]
            for m2 in re.finditer(r'(?:crate::commands::|super::)(\w+)', "\n".join(lines)):
                other = m2.group(1)
                op = os.path.join(dp, other + ".rs")
                if other != me and os.path.exists(op) and "pub fn run(" in open(op).read():
                    cross.append(f"{me} -> {other}")
print(f"functions over 80 lines: {len(long_fns)}")
for n, s in sorted(long_fns, reverse=True): print(f"  {n:4} {s}")
print(f"files over 600 lines: {len(long_files)}")
for n, s in sorted(long_files, reverse=True): print(f"  {n:4} {s}")
cs = sorted(set(cross))
print(f"command modules importing another command module: {len(cs)} edges")
for c in cs: print("  " + c)
print(f"print macros under src/commands: {prints}")

# Import cycles between top-level modules of src/ (doc comments and comments do not count).
top = sorted({(d[:-3] if d.endswith(".rs") else d) for d in os.listdir(root)} - {"main"})
deps = {t: set() for t in top}
for t in top:
    base = os.path.join(root, t)
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(base) for f in fs if f.endswith(".rs")] if os.path.isdir(base) else [base + ".rs"]
    for p in files:
        for line in open(p):
            if line.lstrip().startswith("//"):
                continue
            for m in re.finditer(r"crate::(\w+)", line):
                if m.group(1) != t and m.group(1) in deps:
                    deps[t].add(m.group(1))
def reaches(a, b, seen=()):
    return any(n == b or (n not in seen and reaches(n, b, seen + (n,))) for n in deps[a])
cycles = sorted({tuple(sorted((a, b))) for a in top for b in deps[a] if reaches(b, a)})
print(f"import cycles between top-level modules: {len(cycles)}")
for a, b in cycles:
    print(f"  {a} <-> {b}")
