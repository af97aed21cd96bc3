"""Top-level module graph of src/ (edges from `crate::X` paths, test modules left out); prints each cycle with the files that make its edges. Usage: python3 .ci/modgraph.py src"""
import os, re, sys, collections
root = sys.argv[1] if len(sys.argv) > 1 else "src"
edges = collections.defaultdict(set)
files_in = collections.defaultdict(set)
for dirpath, _, files in os.walk(root):
    for f in files:
        if not f.endswith(".rs"): continue
        path = os.path.join(dirpath, f)
        rel = os.path.relpath(path, root)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        text = open(path).read()
        # drop test modules roughly
        text = text.split("#[cfg(test)]")[0]
        # comments (doc links among them) are not dependencies
        text = "\n".join(line.split("//")[0] for line in text.splitlines())
        for m in re.finditer(r"crate::([a-z_]+)", text):
            if m.group(1) != top:
                edges[top].add(m.group(1)); files_in[(top, m.group(1))].add(rel)
        # super:: within nested modules stays inside top
nodes = set(edges) | {t for v in edges.values() for t in v}
index = {}; low = {}; stack = []; on = set(); sccs = []; counter = [0]
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in edges.get(v, ()):
        if w not in index: strong(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        sccs.append(comp)
sys.setrecursionlimit(10000)
for v in sorted(nodes):
    if v not in index: strong(v)
for comp in sccs:
    if len(comp) > 1:
        print("cycle:", " ".join(sorted(comp)))
        for a in sorted(comp):
            for b in sorted(edges[a] & set(comp)):
                print(f"   {a} -> {b}: {', '.join(sorted(files_in[(a, b)]))[:200]}")
print("edges:", sum(len(v) for v in edges.values()), "modules:", len(nodes))
