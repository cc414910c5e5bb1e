#!/usr/bin/env bash
# Fail when an #include in src/bdd/, include/bdd/ or python/src/ breaks the dependency rules of
# ARCHITECTURE.md.
#   bash scripts/check-deps.sh
# The rules are the "May depend on" column of ARCHITECTURE.md's module table, read from there
# (the one source of truth): a module may include its own headers, the headers of the modules
# and libraries it lists, and the standard and system headers; nothing else. The edges are
# direct, not transitive: `cli/` lists `ops` but not `tracking`, so it must not include
# tracking's headers even though ops does.
#
# Known violations that wait for a fix in a file someone else is changing are listed, one per
# line with a comment saying why, in scripts/check-deps.allow as `<file> <included header>`.
# An entry that no longer matches a violation fails too, so that the list only shrinks.
# Registered as the CTest test `check_deps`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PYTHON'
import pathlib, re, sys

root = pathlib.Path(".")
modules = ["core", "model", "config", "api", "storage", "tracking", "export", "report", "ops", "cli"]
# Library names the table uses, and the header prefixes they stand for.
libraries = {
    "nlohmann": ("nlohmann/",),
    "spdlog": ("spdlog/", "fmt/"),
    "SQLiteCpp": ("SQLiteCpp/", "sqlite3.h"),  # SQLiteCpp's own headers and the C API under it
    "libcurl": ("curl/",),
    "CLI11": ("CLI/",),
    "libxlsxwriter": ("xlsxwriter.h", "xlsxwriter/"),
    "libzip": ("zip.h", "zipconf.h"),
    "libzstd": ("zstd.h", "zstd_errors.h"),
    "pybind11": ("pybind11/", "Python.h"),
}
# Headers of libraries the product must not use at all (tests only).
test_only = ("catch2/", "httplib.h", "openssl/")
errors = []

def fail(message):
    errors.append(message)

# --- the rules, from ARCHITECTURE.md ---
allowed = {}
in_table = False
for line in (root / "ARCHITECTURE.md").read_text().splitlines():
    if line.startswith("| Module | Job | May depend on |"):
        in_table = True
        continue
    if in_table and not line.startswith("|"):
        break
    if not in_table or line.startswith("|---"):
        continue
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    match = re.fullmatch(r"`([a-z_]+)/`", cells[0])
    if len(cells) != 3 or not match:
        fail(f"ARCHITECTURE.md: cannot read the table row {line!r}")
        continue
    deps = set()
    for token in cells[2].split(","):
        token = token.strip()
        if token == "std only":
            continue
        if token not in modules and token not in libraries and token != "include":
            fail(f"ARCHITECTURE.md: module {match.group(1)}/ lists {token!r}, which is neither "
                 f"a module ({', '.join(modules)}, include) nor a library ({', '.join(libraries)})")
        deps.add(token)
    allowed[match.group(1)] = deps
for module in modules + ["include", "python"]:
    if module not in allowed:
        fail(f"ARCHITECTURE.md: the module table has no row for `{module}/`")

# --- what each file includes ---
def module_of(path):
    parts = path.parts
    if parts[:1] == ("include",):
        return "include"
    if parts[:2] == ("python", "src"):
        return "python"
    if parts[:2] == ("src", "bdd") and len(parts) > 3:
        return parts[2]
    return None

def target_of(header, including):
    """The module or library an include names, or None for a standard or system header."""
    if header.startswith("bdd/"):
        rest = header[len("bdd/"):]
        return rest.split("/")[0] if "/" in rest else "include"
    for name, prefixes in libraries.items():
        if header.startswith(prefixes):
            return name
    if header.startswith(test_only):
        return "a test-only library"
    return None

violations = set()
sources = sorted(p for p in list(root.glob("src/bdd/*/*")) + list(root.glob("include/bdd/*"))
                 + list(root.glob("python/src/*")) if p.suffix in (".hpp", ".cpp", ".h"))
for path in sources:
    module = module_of(path)
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        match = re.match(r'\s*#\s*include\s*([<"])([^>"]+)[>"]', line)
        if not match:
            continue
        quote, header = match.groups()
        if quote == '"':
            # Quoted includes are the module's own headers, next to the file.
            resolved = (path.parent / header).resolve()
            if resolved.parent != path.parent.resolve():
                violations.add((path.as_posix(), header, number, "a quoted include outside the "
                                f"module folder (use <bdd/...>)"))
            continue
        target = target_of(header, module)
        if target is None or target == module:
            continue
        if target not in allowed.get(module, set()):
            violations.add((path.as_posix(), header, number,
                            f"{module}/ may depend on "
                            f"{', '.join(sorted(allowed.get(module, ()))) or 'std only'}"))

# --- the allow-list ---
allow_file = root / "scripts" / "check-deps.allow"
allow = {}
if allow_file.exists():
    for number, line in enumerate(allow_file.read_text().splitlines(), 1):
        text, _, comment = line.partition("#")
        if not text.strip():
            continue
        fields = text.split()
        if len(fields) != 2 or not comment.strip():
            fail(f"{allow_file}:{number}: an entry is `<file> <header>  # why it waits`")
            continue
        allow[tuple(fields)] = number

used = set()
for file, header, number, why in sorted(violations):
    if (file, header) in allow:
        used.add((file, header))
        continue
    fail(f"{file}:{number}: includes <{header}>, but {why} (ARCHITECTURE.md)")
for entry, number in sorted(allow.items(), key=lambda item: item[1]):
    if entry not in used:
        fail(f"{allow_file}:{number}: {entry[0]} no longer includes {entry[1]} against the "
             "rules; remove the entry")

for message in errors:
    print(f"check-deps: {message}", file=sys.stderr)
if errors:
    sys.exit(1)
print(f"check-deps: {len(sources)} files follow ARCHITECTURE.md"
      + (f" ({len(used)} allowed exceptions in {allow_file})" if used else ""))
PYTHON
