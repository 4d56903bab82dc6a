#!/usr/bin/env bash
# Builds the book (docs/) and checks that every relative link resolves:
#
# - in the generated HTML, every href/src inside the book points at a file
#   that exists, and every #anchor at an id on that page;
# - in README.md, ARCHITECTURE.md and CONTRIBUTING.md, every relative link
#   names a file that exists, and every #anchor into a Markdown file one of
#   its headings (GitHub's slugs).
#
# Fails listing every broken link. `make docs` runs it; `make test` too.
# mdbook comes from scripts/setup-mdbook.sh (`make docs` runs it), or MDBOOK=/path/to/mdbook.
# The book is built outside the clone (ROBBENCH_BOOK_DIR keeps it there to
# browse; default: a temporary directory, removed afterwards).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^MDBOOK_VERSION=//p' "$repo/scripts/setup-mdbook.sh")
mdbook=${MDBOOK:-${ROBBENCH_MDBOOK_ROOT:-$HOME/.cache/robbench/mdbook-$version}/bin/mdbook}
if [[ ! -x "$mdbook" ]]; then
    mdbook=$(command -v mdbook || true)
    [[ -n "$mdbook" ]] || { echo "check-docs: mdbook $version is not installed: run scripts/setup-mdbook.sh" >&2; exit 1; }
fi

if [[ -n "${ROBBENCH_BOOK_DIR:-}" ]]; then
    out=$ROBBENCH_BOOK_DIR
    mkdir -p "$out"
else
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
fi

# mdbook logs a missing include or a bad SUMMARY entry and may still build:
# any warning or error fails the check.
log=$("$mdbook" build "$repo/docs" --dest-dir "$out" 2>&1) || { echo "$log" >&2; exit 1; }
if grep -E '\[(WARN|ERROR)\]' <<<"$log" >&2; then
    echo "check-docs: mdbook reported problems (above)" >&2
    exit 1
fi

python3 - "$out" "$repo" <<'PY'
import html.parser, os, re, sys, urllib.parse

book, repo = sys.argv[1], sys.argv[2]
broken = []

# ---- the generated HTML -------------------------------------------------
class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links = set(), []
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None:
                self.links.append(attrs[key])

pages = {}
for root, _, files in os.walk(book):
    for name in files:
        if name.endswith(".html"):
            path = os.path.join(root, name)
            page = Page()
            with open(path, encoding="utf-8") as f:
                page.feed(f.read())
            pages[os.path.normpath(path)] = page

def external(link):
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link)) or link.startswith("//")

for path, page in sorted(pages.items()):
    rel = os.path.relpath(path, book)
    # 404.html names its assets from the site root (`site-url`): not relative.
    if rel == "404.html":
        continue
    for link in page.links:
        if not link or external(link):
            continue
        target, _, fragment = link.partition("#")
        target = urllib.parse.unquote(target.split("?")[0])
        if target.startswith("/"):
            broken.append(f"{rel}: {link}: absolute path inside the book")
            continue
        resolved = os.path.normpath(os.path.join(os.path.dirname(path), target)) if target else path
        if os.path.isdir(resolved):
            resolved = os.path.join(resolved, "index.html")
        if not os.path.exists(resolved):
            broken.append(f"{rel}: {link}: no such file")
        elif fragment and resolved.endswith(".html"):
            ids = pages[os.path.normpath(resolved)].ids
            if urllib.parse.unquote(fragment) not in ids:
                broken.append(f"{rel}: {link}: no #{fragment} on {os.path.relpath(resolved, book)}")

# ---- Markdown at the repository root --------------------------------------
def strip_code(text):
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)

def slugs(md_path):
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to '-'."""
    seen, out = {}, set()
    with open(md_path, encoding="utf-8") as f:
        text = re.sub(r"^(```|~~~).*?^\1", "", f.read(), flags=re.S | re.M)
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, flags=re.M):
        heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out

for name in ("README.md", "ARCHITECTURE.md", "CONTRIBUTING.md"):
    md = os.path.join(repo, name)
    if not os.path.exists(md):
        broken.append(f"{name}: missing")
        continue
    with open(md, encoding="utf-8") as f:
        text = strip_code(f.read())
    links = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    links += re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, flags=re.M)
    for link in links:
        if external(link):
            continue
        target, _, fragment = link.partition("#")
        target = urllib.parse.unquote(target)
        resolved = os.path.normpath(os.path.join(repo, target)) if target else md
        if not os.path.exists(resolved):
            broken.append(f"{name}: {link}: no such file")
        elif fragment and resolved.endswith(".md") and fragment not in slugs(resolved):
            broken.append(f"{name}: {link}: no heading #{fragment} in {os.path.relpath(resolved, repo)}")

if broken:
    print(f"check-docs: {len(broken)} broken link(s):", file=sys.stderr)
    for line in broken:
        print(f"  {line}", file=sys.stderr)
    sys.exit(1)
print(f"check-docs: {len(pages)} pages and 3 Markdown files, every relative link and anchor resolves")
PY
