#!/usr/bin/env python3
"""Table ownership: each table (from migrations/) has one owning module; SQL
that names a table anywhere else is reported.

    python3 .ci/tables.py           # the owner table, then every SQL reference outside its owner
    python3 .ci/tables.py --check   # exit 1 on a reference outside its owner that is not
                                    # a kept exception (pending fails too), or a stale entry

A reference is a table name after FROM, JOIN, INTO, UPDATE or TABLE inside a
Rust string literal under src/, outside a file's `#[cfg(test)]` module. Other modules call the owner's functions (or
use a SQL fragment it exports, like catalog::store::PRODUCT_FROM).
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# table -> owning module (a top-level module of src/, or a file path under it).
OWNERS = {
    "users": "auth",
    "sessions": "auth",
    "api_tokens": "auth",
    "login_failures": "auth",
    "audit_entries": "audit",
    "counters": "db",
    "catalog_schema": "catalog",
    "products": "catalog",
    "product_categories": "catalog",
    "product_completeness": "catalog",
    "product_versions": "workflow",
    "change_log": "workflow",
    "proposals": "workflow",
    "proposal_comments": "workflow",
    "mapping_profiles": "import",
    "import_jobs": "import",
    "import_failed_rows": "import",
    "import_errors": "import",
    "product_readiness": "publish",
    "publish_cursor": "publish",
    "publications": "publish",
    "feed_events": "publish",
    "publish_pending": "publish",
    "feed_pulls": "publish",
    "jobs": "jobs",
    "assets": "media",
    "asset_renditions": "media",
}

# (file, table): references kept on purpose, each with its reason. Only
# reads inside one query that a call to the owner would split in two (a
# hot path, or a read that must be one snapshot).
EXCEPTIONS = {
    ("src/catalog/store.rs", "product_readiness"): (
        "the product list's ready/not-ready/missing filters are EXISTS subqueries of the one list "
        "query (and of its COUNT); catalog sits below publish, so it cannot call publish"
    ),
    ("src/catalog/store.rs", "counters"): (
        "load_schema reads the schema and its version counter in one query, one snapshot "
        "(db::counters::read would be a second query, and a schema change between them a torn read)"
    ),
    ("src/publish/publisher.rs", "counters"): (
        "backlog() reads the change log's counter against publish_cursor in one query, one snapshot"
    ),
    ("src/publish/feed.rs", "products"): (
        "snapshot() finds a SKU's publication by the product's case-insensitive SKU key "
        "in the same query as its payload (the feed's per-SKU read, issue 17)"
    ),
    ("src/publish/overview.rs", "products"): (
        "readiness counts leave models out with a join in the one counting query"
    ),
}

# (file, table): references another change is still moving to the owner;
# reported and failed on by --check like OUTSIDE, so the list stays empty.
PENDING: dict[tuple[str, str], str] = {}

STRING = re.compile(r'r(#*)"(.*?)"\1|"((?:[^"\\]|\\.)*)"', re.S)
KEYWORD = r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+"


def tables():
    names = set()
    for sql in sorted((ROOT / "migrations").glob("*/*.sql")):
        names.update(re.findall(r"(?i)create table (?:if not exists )?(\w+)", sql.read_text()))
    return sorted(names)


def owner_of(path):
    parts = path.relative_to(ROOT / "src").parts
    return parts[0].removesuffix(".rs")


def owns(owner, path):
    rel = path.relative_to(ROOT).as_posix()
    return owner == owner_of(path) or rel == owner or rel.startswith(owner + "/")


# A file's test module (last in the file, clippy's items_after_test_module):
# tests may read any table to check what the code under test wrote.
TESTS = re.compile(r"^#\[cfg\(test\)\]\s*\nmod \w+ \{", re.M)


def references(names):
    """(file, table, line) for every SQL string naming a table, outside test modules."""
    patterns = {name: re.compile(KEYWORD + name + r"\b") for name in names}
    found = []
    for path in sorted((ROOT / "src").rglob("*.rs")):
        text = path.read_text()
        tests = TESTS.search(text)
        if tests:
            text = text[: tests.start()]
        for m in STRING.finditer(text):
            literal = m.group(2) if m.group(2) is not None else m.group(3)
            for name, pattern in patterns.items():
                if pattern.search(literal):
                    line = text.count("\n", 0, m.start()) + 1
                    found.append((path, name, line))
    return found


def main():
    check = "--check" in sys.argv[1:]
    names = tables()
    unowned = [n for n in names if n not in OWNERS]
    print("table -> owner")
    for name in names:
        print(f"  {name:22} {OWNERS.get(name, '?')}")
    failures = [f"table {n} has no owner in .ci/tables.py" for n in unowned]
    seen = set()
    for path, name, line in references(names):
        rel = path.relative_to(ROOT).as_posix()
        if name not in OWNERS or owns(OWNERS[name], path) or (rel, name, line) in seen:
            continue
        seen.add((rel, name, line))
        where = f"{rel}:{line}: {name} (owner {OWNERS[name]})"
        if (rel, name) in EXCEPTIONS:
            print(f"kept     {where}: {EXCEPTIONS[(rel, name)]}")
        elif (rel, name) in PENDING:
            print(f"pending  {where}: {PENDING[(rel, name)]}")
            failures.append(where)
        else:
            print(f"OUTSIDE  {where}")
            failures.append(where)
    for rel, name in sorted(set(EXCEPTIONS) | set(PENDING)):
        if not any(p.relative_to(ROOT).as_posix() == rel and n == name for p, n, _ in references(names)):
            print(f"stale    {rel}: {name} is listed but no longer referenced; drop the entry")
            failures.append(f"{rel}: {name} (stale entry)")
    if failures:
        print(f"{len(failures)} SQL reference(s) outside the owning module or stale entries")
    if check and failures:
        sys.exit(1)


if __name__ == "__main__":
    main()
