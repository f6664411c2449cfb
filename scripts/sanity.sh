#!/usr/bin/env bash
# ansible-test sanity on the built artifact, installed the way a user installs it:
#   scripts/sanity.sh CORE TARBALL [ansible-test sanity options]
# CORE (2.17, 2.18, 2.19) names the venv .cache/cores/CORE (make creates it from tests/cores/CORE.txt).
# The tarball is installed with ansible-galaxy into a temporary ansible_collections/vacc/qwen3, and
# tests/sanity/ignore-CORE.txt is put beside it (the tests are not shipped; the ignore file names only
# shipped paths, each with its reason).
#
# ansible-test makes a venv per sanity test and bootstraps pip into it with get-pip.py from
# ci-files.testing.ansible.com, which is not reachable from everywhere (PyPI is). Its documented way
# out is a script saved at ~/.ansible/test/cache/get_pip_<version>.py: ours installs pip from the
# Python's own ensurepip, then the exact packages ansible-test asks for from PyPI. HOME points into
# .cache/ for ansible-test (one per core), so that script and the sanity venvs stay in this checkout,
# reused by the next run. shellcheck comes from Debian when missing.
set -euo pipefail
core=${1:?usage: sanity.sh CORE TARBALL [ansible-test options]}
tarball=${2:?usage: sanity.sh CORE TARBALL [ansible-test options]}
shift 2
cd "$(dirname "$0")/.."
ROOT=$PWD
bin=$ROOT/.cache/cores/$core/bin
ignore=$ROOT/tests/sanity/ignore-$core.txt
[ -x "$bin/ansible-test" ] || { echo "sanity: no $bin/ansible-test; run: make .cache/cores/$core/.installed" >&2; exit 2; }
[ -f "$ignore" ] || { echo "sanity: no $ignore: every ansible-core in meta/runtime.yml needs one (empty when nothing is ignored)" >&2; exit 2; }
if ! command -v shellcheck >/dev/null; then
  # Under a lock: make runs one sanity.sh per core at once, and apt takes one at a time.
  exec 9>/tmp/vacc-qwen3-sanity-apt.lock
  flock 9
  if ! command -v shellcheck >/dev/null; then
    echo "sanity: installing shellcheck (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; }
  fi
  flock -u 9
fi

# One home per core: make runs the cores side by side, and two ansible-tests must not build one venv.
home=$ROOT/.cache/ansible-test-home/$core
pip_version=$(grep -o "pip='[0-9.]*'" "$("$bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py" | head -1 | tr -d "pip='")
[ -n "$pip_version" ] || { echo "sanity: cannot tell which pip ansible-test $core bootstraps" >&2; exit 2; }
mkdir -p "$home/.ansible/test/cache"
getpip=$home/.ansible/test/cache/get_pip_${pip_version//./_}.py
cat > "$getpip.tmp" <<'PY'
"""Stands in for get-pip.py (see scripts/sanity.sh): pip from ensurepip, then what ansible-test asks for."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
PY
mv "$getpip.tmp" "$getpip"

tarball=$(realpath "$tarball")
work=$(mktemp -d -t vacc-qwen3-sanity-XXXXXX)
trap 'rm -rf "$work"' EXIT
# Nothing of the clone may leak in: from its directory, its ansible.cfg would offer the clone itself as
# vacc.qwen3 (collections/) and ansible-galaxy would find it "already installed".
unset ANSIBLE_CONFIG
cd "$work"
"$bin/ansible-galaxy" collection install --offline --no-deps --force -p "$work" "$tarball" >/dev/null
dest=$work/ansible_collections/vacc/qwen3
mkdir -p "$dest/tests/sanity"
cp "$ignore" "$dest/tests/sanity/"
cd "$dest"
# ansible-test lists an unversioned tree's files by its own walk, which skips a tree under the system's
# temporary directory; a repository holding exactly what was installed makes the listing explicit.
git init -q && git add -A && git -c user.name=sanity -c user.email=sanity@localhost commit -qm sanity
py=$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "== ansible-test sanity, ansible-core $("$bin/python" -c 'import ansible; print(ansible.__version__)'), on $(basename "$tarball")"
HOME=$home "$bin/ansible-test" sanity --local --python "$py" --color no "$@"
