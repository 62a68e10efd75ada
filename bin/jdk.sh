# Sourced by the project's scripts: sets JAVA_HOME to a JDK 25 or newer, or exits 2 saying what to install.
# Order: JAVA_HOME, then every JDK under /usr/lib/jvm (newest first), then the java on PATH.
twilight4j_jdk_ok() {
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 1
  local v
  v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
  [ -n "$v" ] && [ "$v" -ge 25 ]
}
twilight4j_find_jdk() {
  local c
  if [ -n "${JAVA_HOME:-}" ] && twilight4j_jdk_ok "$JAVA_HOME"; then return 0; fi
  for c in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    c=${c%/}
    if twilight4j_jdk_ok "$c"; then export JAVA_HOME=$c; return 0; fi
  done
  if command -v javac >/dev/null 2>&1; then
    c=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    if twilight4j_jdk_ok "$c"; then export JAVA_HOME=$c; return 0; fi
  fi
  echo "twilight4j: no JDK 25 or newer found (JAVA_HOME, /usr/lib/jvm, PATH); install one, e.g. 'apt-get install temurin-25-jdk', or set JAVA_HOME" >&2
  exit 2
}
twilight4j_find_jdk
export PATH="$JAVA_HOME/bin:$PATH"
