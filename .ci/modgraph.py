"""Module graph of src/ from `crate::X` paths (test modules and comments left out).

  python3 .ci/modgraph.py [SRC]              top-level modules: each cycle with the files that make its edges
  python3 .ci/modgraph.py --within auth      the files of one top-level module: cycles between them
  python3 .ci/modgraph.py --check            exit 1 on a cycle between top-level modules, or when a
                                             module other than app, main or lib imports web
"""
import argparse, collections, os, re, sys

# Only the composition root and the binary may sit above the HTTP layer.
ABOVE_WEB = {"app", "main", "lib"}


def source(path):
    text = open(path).read()
    # drop test modules roughly
    text = text.split("#[cfg(test)]")[0]
    # comments (doc links among them) are not dependencies
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def names_after(prefix, text):
    """The first path segment after each `prefix::`, and each name of a
    `prefix::{a, b::c}` group."""
    names = []
    for m in re.finditer(rf"(?<![:\w]){prefix}::(\{{|[a-z_]+)", text):
        if m.group(1) != "{":
            names.append(m.group(1))
            continue
        depth, start, i = 1, m.end(), m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        group, depth, part = text[start : i - 1], 0, ""
        for ch in group + ",":
            if ch == "," and depth == 0:
                first = re.match(r"\s*([a-z_]+)", part)
                if first:
                    names.append(first.group(1))
                part = ""
                continue
            depth += {"{": 1, "}": -1}.get(ch, 0)
            part += ch
    return names


def top_level(root):
    """Edges between top-level modules, and the files that make each edge."""
    edges = collections.defaultdict(set)
    files_in = collections.defaultdict(set)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            for name in names_after("crate", source(path)):
                if name != top:
                    edges[top].add(name)
                    files_in[(top, name)].add(rel)
    return edges, files_in


def within(root, module):
    """Edges between the sibling files of one top-level module (`a.rs` and
    `a/` are one node `a`). `mod.rs` is left out: it is where the siblings
    share their common types, so every file uses it."""
    base = os.path.join(root, module)
    if not os.path.isdir(base):
        sys.exit(f"{base} is not a module folder")
    edges = collections.defaultdict(set)
    files_in = collections.defaultdict(set)
    for dirpath, _, files in os.walk(base):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, base)
            node = rel.split(os.sep)[0].removesuffix(".rs")
            if node == "mod":
                continue
            nested = os.sep in rel and not rel.endswith("mod.rs")
            text = source(path)
            refs = names_after(f"crate::{module}", text)
            # `super::x` names a sibling from a file directly in the module;
            # from a nested file it names the node's own parts.
            if not nested:
                refs += names_after("super", text)
            for ref in refs:
                sibling = os.path.exists(os.path.join(base, ref + ".rs")) or os.path.isdir(os.path.join(base, ref))
                if sibling and ref != node:
                    edges[node].add(ref)
                    files_in[(node, ref)].add(os.path.join(module, rel))
    return edges, files_in


def cycles(edges):
    """Strongly connected components with more than one node (Tarjan)."""
    nodes = set(edges) | {t for v in edges.values() for t in v}
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return nodes, found


def report(edges, files_in):
    nodes, found = cycles(edges)
    for comp in found:
        print("cycle:", " ".join(comp))
        for a in comp:
            for b in sorted(edges[a] & set(comp)):
                print(f"   {a} -> {b}: {', '.join(sorted(files_in[(a, b)]))[:200]}")
    if not found:
        # Each module one level above the highest module it imports.
        level = {}

        def height(v):
            if v not in level:
                level[v] = 1 + max((height(w) for w in edges.get(v, ())), default=-1)
            return level[v]

        by_level = collections.defaultdict(list)
        for v in nodes:
            by_level[height(v)].append(v)
        print("layers, bottom to top:")
        for n in sorted(by_level):
            print(f"   {n}: {' '.join(sorted(by_level[n]))}")
    print("edges:", sum(len(v) for v in edges.values()), "modules:", len(nodes))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", nargs="?", default="src")
    parser.add_argument("--within", metavar="MODULE", help="cycles between the files of one top-level module")
    parser.add_argument("--check", action="store_true", help="fail on a top-level cycle or an import of web from below")
    args = parser.parse_args()
    if args.within:
        report(*within(args.src, args.within))
        return 0
    edges, files_in = top_level(args.src)
    found = report(edges, files_in)
    if not args.check:
        return 0
    failed = bool(found)
    for module in sorted(edges):
        if "web" in edges[module] and module not in ABOVE_WEB:
            print(f"{module} imports web ({', '.join(sorted(files_in[(module, 'web')]))}): only {', '.join(sorted(ABOVE_WEB))} may", file=sys.stderr)
            failed = True
    if found:
        print("the top-level modules must not form a cycle (README, Architecture: the layers)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
