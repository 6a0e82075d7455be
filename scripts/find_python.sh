#!/usr/bin/env bash
# Print the path of a Python 3.10 interpreter, or explain what to install and exit 1.
set -u
candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
if command -v pyenv >/dev/null 2>&1; then
  for d in "$(pyenv root)"/versions/3.10*; do candidates+=("$d/bin/python3.10"); done
fi
candidates+=(python3.10 /usr/bin/python3.10 /usr/local/bin/python3.10 python3)
for c in "${candidates[@]}"; do
  if v=$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) && [ "$v" = "3.10" ]; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
cat >&2 <<'MSG'
No Python 3.10 found. Rasa Open Source 3.6 needs Python >=3.8,<3.11 (this project pins 3.10).
Install one, for example:  pyenv install 3.10.13   or   apt-get install python3.10 python3.10-venv
or point to it:            make run PYTHON=/path/to/python3.10
MSG
exit 1
