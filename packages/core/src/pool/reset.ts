/**
 * The shell scripts that take a pool's baseline and put a used container back to it. They run as the container's
 * user (who owns every process and file a session can leave behind) and need only POSIX sh, find, stat, tar, cksum.
 */

/** Prints a checksum of the names, types, modes, owners and sizes of everything under the given directories. */
const FINGERPRINT = `fingerprint() { find "$@" -exec stat -c '%n|%F|%a|%u|%g|%s' {} + 2>/dev/null | LC_ALL=C sort | cksum; }`;

/**
 * Writes a tar of the in-memory mounts (`$@`, relative to /) to stdout; their fingerprint is the last line on stderr.
 */
export const SNAPSHOT_SCRIPT = `${FINGERPRINT}
cd / || exit 2
tar -c -f - -- "$@" || exit 1
fingerprint "$@" >&2`;

/**
 * Puts a used container back to the pool's baseline, or exits non-zero saying why (the container is then removed):
 * 1. kills every process but PID 1, its keep-alive child (the earliest-started child of PID 1), this shell and the
 *    PIDs in `$1` (the warm interpreter), until none is left;
 * 2. removes the System V IPC objects, then empties /dev/shm, /dev/mqueue and the mounts in `$3…` (relative to /);
 * 3. restores the mounts from the archive on stdin (when `$2` is not "-") and checks that the files now have the
 *    baseline's fingerprint `$2`.
 */
export const RESET_SCRIPT = `${FINGERPRINT}
cd / || exit 2
keep=" 1 $$ $1 "; want=$2; shift 2
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
done
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
