#!/usr/bin/env bash
# Render the demo's project list, as printed, for the README and docs/excel.md:
#
#   plan datasets/fuzhou-demo -> matcher export --xlsx (Chinese, public notice)
#   -> PDF with LibreOffice headless -> PNG of the summary page and of the first page
#   of Gulou's (鼓楼区) sheet (docs/img/project-list-summary.png, docs/img/project-list.png).
#
# Needs Debian's packages libreoffice-calc-nogui (or libreoffice-calc) and poppler-utils
# (apt-get install -y libreoffice-calc-nogui poppler-utils). Neither tests nor CI run it.
#
#   docs/tools/render_project_list.sh            # from the repository's root
#   KEEP=/tmp/pl docs/tools/render_project_list.sh  # keep the workbook and the PDF there
set -euo pipefail

cd "$(dirname "$0")/../.."
matcher=${MATCHER:-.venv/bin/matcher}
resolution=${RESOLUTION:-120}
district=${DISTRICT:-鼓楼区}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$matcher" plan datasets/fuzhou-demo --out "$work/fuzhou-demo" --quiet
"$matcher" export "$work/fuzhou-demo" --xlsx "$work/project-list.xlsx" --lang zh --public
# a profile of its own: a LibreOffice already open elsewhere is left alone
soffice --headless "-env:UserInstallation=file://$work/profile" \
    --convert-to pdf --outdir "$work" "$work/project-list.xlsx" >/dev/null 2>&1
pdf="$work/project-list.pdf"

# the summary is the first page; the district's sheet starts on the first page whose
# title is "<district>项目清单"
pages=$(pdfinfo "$pdf" | awk '/^Pages:/ {print $2}')
first=""
for ((page = 2; page <= pages; page++)); do
    # read whole first: grep -q stopping early would fail the pipe (pipefail)
    text=$(pdftotext -f "$page" -l "$page" "$pdf" -)
    if grep -q "^${district}项目清单" <<<"$text"; then
        first=$page
        break
    fi
done
if [[ -z "$first" ]]; then
    echo "no page of district $district in $pdf" >&2
    exit 1
fi

mkdir -p docs/img
pdftoppm -png -r "$resolution" -f 1 -l 1 -singlefile "$pdf" docs/img/project-list-summary
pdftoppm -png -r "$resolution" -f "$first" -l "$first" -singlefile "$pdf" docs/img/project-list
if [[ -n "${KEEP:-}" ]]; then
    mkdir -p "$KEEP"
    cp "$work/project-list.xlsx" "$pdf" "$KEEP/"
fi
echo "Wrote docs/img/project-list-summary.png (page 1) and docs/img/project-list.png" \
    "(page $first of $pages: $district)"
