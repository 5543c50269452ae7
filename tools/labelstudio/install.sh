#!/usr/bin/env bash
# Install the Label Studio server into its own virtual environment, never the project's: its pins
# (numpy<2.3 through opencv-python-headless, Django and ~150 more) clash with the model's stack.
#
#   tools/labelstudio/install.sh                # -> tools/labelstudio/.venv (gitignored, ~1 GB)
#   LABEL_STUDIO_VENV=/some/where tools/labelstudio/install.sh
#   LABEL_STUDIO_VERSION=1.23.2 PYTHON=python3.11   # the defaults
#
# It also migrates an empty database once and keeps it beside the venv
# (template-<version>.sqlite3), so a server for a test starts in seconds instead of a minute.
# Idempotent: a venv whose stamp names LABEL_STUDIO_VERSION is left alone. Needs PyPI (or the
# configured mirror) the first time (about 3 minutes in all); when anything fails it exits
# non-zero and removes the half-made venv, so the next run starts clean.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${LABEL_STUDIO_VENV:-$here/.venv}"
version="${LABEL_STUDIO_VERSION:-1.23.2}"
python="${PYTHON:-python3.11}"
stamp="$venv/.installed-label-studio-$version"
template="$venv/template-$version.sqlite3"

if [[ -f "$stamp" && -f "$template" && -x "$venv/bin/label-studio" ]]; then
    echo "label-studio $version already installed in $venv"
    exit 0
fi
command -v "$python" >/dev/null 2>&1 || python=python3
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"; [[ -f "$stamp" ]] || rm -rf "$venv"' EXIT
if [[ ! -f "$stamp" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    pip=("$venv/bin/python" -m pip --disable-pip-version-check --quiet)
    "${pip[@]}" install --upgrade pip
    "${pip[@]}" install "label-studio==$version"
fi
# The migrated empty database. (Not `label-studio --version`: without a command that starts the
# server, in ~/.local/share/label-studio, and asks PyPI for the latest version.)
package="$("$venv/bin/python" -c 'import label_studio, os; print(os.path.dirname(label_studio.__file__))')"
(cd "$package" && env -u DJANGO_SETTINGS_MODULE HOME="$scratch" LABEL_STUDIO_BASE_DATA_DIR="$scratch/data" \
    LABEL_STUDIO_LATEST_VERSION_CHECK=false LABEL_STUDIO_COLLECT_ANALYTICS=false \
    "$venv/bin/python" manage.py migrate --no-input >"$scratch/migrate.log" 2>&1) \
    || { tail -20 "$scratch/migrate.log" >&2; echo "label-studio: database migration failed" >&2; exit 1; }
cp "$scratch/data/label_studio.sqlite3" "$template.tmp"
mv "$template.tmp" "$template"
touch "$stamp"
echo "installed label-studio $version in $venv"
