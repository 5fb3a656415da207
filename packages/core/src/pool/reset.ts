/**
 * The shell scripts that take a pool's baseline and put a used container back to it, in two steps: first every
 * process a session left is killed (KILL_SCRIPT, or a protected warm interpreter does it), then the files are
 * restored (RESTORE_SCRIPT) — when no process of the session is left to interfere. They need only POSIX sh, GNU find,
 * stat and tar, and cksum.
 */

/** Prints a checksum of the names, types, modes, owners and sizes of everything under the given directories. */
const FINGERPRINT = `fingerprint() { find "$@" -exec stat -c '%n|%F|%a|%u|%g|%s' {} + 2>/dev/null | LC_ALL=C sort | cksum; }`;

/**
 * Writes a tar of what the in-memory mounts (`$@`, relative to /) hold to stdout; their fingerprint is the last line
 * on stderr. The mount points themselves are not in it: a restore empties and refills them but never retimes or
 * chmods them, which only their owner may do (on Kubernetes, an emptyDir belongs to root).
 */
export const SNAPSHOT_SCRIPT = `${FINGERPRINT}
cd / || exit 2
find "$@" -mindepth 1 -maxdepth 1 -print0 | tar -c -f - --null -T - || exit 1
fingerprint "$@" >&2`;

/**
 * Kills every process but PID 1, its keep-alive child (the earliest-started child of PID 1: orphans are re-parented
 * to PID 1 later), this shell and its helpers, until none is left; exits 3 if some survive.
 * It runs as the session's uid, so it may signal all of its processes, with another gid, so none of them can trace
 * it (tracing needs the same uid and gid) and stop it from killing them.
 */
export const KILL_SCRIPT = `keep=" 1 $$ "
fields() { s=\${1##*) }; set -- $s; state=$1 ppid=$2 start=\${20}; }
alive=; alive_start=
for d in /proc/[0-9]*; do
  read -r line < "$d/stat" 2>/dev/null || continue
  fields "$line"
  [ "$ppid" = 1 ] || continue
  if [ -z "$alive" ] || [ "$start" -lt "$alive_start" ]; then alive=\${d#/proc/}; alive_start=$start; fi
done
keep="$keep$alive "
victims() {
  for d in /proc/[0-9]*; do
    p=\${d#/proc/}
    case "$keep" in *" $p "*) continue ;; esac
    read -r line < "$d/stat" 2>/dev/null || continue
    fields "$line"
    [ "$state" = Z ] || [ "$ppid" = "$$" ] || printf '%s ' "$p"
  done
}
round=0
while left=$(victims); [ -n "$left" ]; do
  round=$((round + 1))
  [ $round -le 100 ] || { echo "processes survive the reset: $left" >&2; exit 3; }
  kill -KILL $left 2>/dev/null
  [ $round -lt 3 ] || sleep 0.05
done`;

/**
 * Removes the System V IPC objects, empties /dev/shm, /dev/mqueue and the mounts in `$2…` (relative to /), then —
 * unless `$1` is "-" — restores the mounts from the archive on stdin and checks that the files have the baseline's
 * fingerprint `$1`. Exits non-zero saying why when anything is off.
 */
export const RESTORE_SCRIPT = `${FINGERPRINT}
cd / || exit 2
want=$1; shift
ipc_left() { left=; for kind in shm sem msg; do n=0; while read -r _; do n=$((n + 1)); done < /proc/sysvipc/$kind; [ $n -le 1 ] || left="$left $kind"; done; }
if [ -r /proc/sysvipc/shm ]; then
  ipc_left
  [ -z "$left" ] || { ipcrm -a 2>/dev/null; ipc_left; }
  [ -z "$left" ] || { echo "System V IPC objects survive the reset:$left" >&2; exit 4; }
fi
entries() { set -- "$1"/* "$1"/.[!.]* "$1"/..?*; for e; do [ -e "$e" ] || [ -L "$e" ] && return 0; done; return 1; }
for m in "$@" /dev/shm /dev/mqueue; do
  [ -d "$m" ] && [ -w "$m" ] && entries "$m" || continue
  rm -rf -- "$m"/* "$m"/.[!.]* "$m"/..?* 2>/dev/null || { chmod -R u+rwX -- "$m" 2>/dev/null; rm -rf -- "$m"/* "$m"/.[!.]* "$m"/..?* 2>/dev/null; }
  ! entries "$m" || { echo "$m cannot be emptied" >&2; exit 5; }
done
[ "$want" = - ] && exit 0
tar -x -p --no-same-owner -f - -C / || { echo "the mounts cannot be restored" >&2; exit 6; }
got=$(fingerprint "$@")
[ "$got" = "$want" ] || { echo "the restored files differ from the baseline" >&2; exit 7; }`;

/**
 * The user a reset's kill step runs as: the session's uid with another gid (see KILL_SCRIPT). Works for numeric
 * and named users.
 */
export function killStepUser(user: string): string {
  const [uid, gid] = user.split(":");
  return `${uid}:${gid === "65534" ? "65533" : "65534"}`;
}
