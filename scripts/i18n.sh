#!/bin/sh
# The message catalogs: extract every marked string from the templates, page scripts and Python
# (babel.cfg), merge them into controller/locale/<locale>/LC_MESSAGES/messages.po, then report
# what is still untranslated. Run from the repository root; edit the .po files, commit them.
set -eu
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-pybabel}"
command -v "$PYBABEL" >/dev/null 2>&1 || PYBABEL="python -m babel.messages.frontend"
POT=controller/locale/messages.pot
mkdir -p controller/locale
$PYBABEL extract -F babel.cfg --no-location --sort-output --omit-header --no-wrap \
  -k translate:2 -k ntranslate:2,3 -k N_ -k _t -o "$POT" .
for locale in zh_CN en; do
  po="controller/locale/$locale/LC_MESSAGES/messages.po"
  if [ -f "$po" ]; then
    $PYBABEL update -i "$POT" -d controller/locale -l "$locale" --no-fuzzy-matching --ignore-obsolete --no-wrap
  else
    $PYBABEL init -i "$POT" -d controller/locale -l "$locale" --no-wrap
  fi
done
rm -f "$POT"
python - <<'PY'
from babel.messages.pofile import read_po
for locale in ("zh_CN",):
    with open(f"controller/locale/{locale}/LC_MESSAGES/messages.po", "rb") as f:
        cat = read_po(f, locale=locale)
    missing = [m.id for m in cat if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    print(f"{locale}: {len(cat)} messages, {len(missing)} untranslated")
    for mid in missing:
        print("  ", mid)
PY
