import { type BackendAdapter, FREE_SLOTS_SIGNAL, KEEP_ALIVE_NAME } from "../backends/backend.js";
import { shellQuote } from "../internal/shell.js";

/**
 * The shell that runs inside the sandbox to start, stop and clean up after one operation's processes.
 *
 * A run's program starts in a process group of its own and records the group's id; every process it starts stays
 * in that group unless it leaves on purpose. Signalling the group is one system call, which a fork bomb cannot
 * outrun; processes that left the group (daemons) are found by the marker variable in their environment. All of it
 * uses shell builtins only, so it works when a fork bomb has taken every process slot: the engine starts an exec
 * regardless of the pids limit, but the exec itself could not fork.
 */

/** Every process of one operation inherits this variable; it is how the kill step finds them all. */
export const RUN_MARKER = "LLM_SANDBOX_RUN";

/** Seconds between TERM and KILL when an operation is interrupted. */
const KILL_GRACE_SECONDS = 2;

/** Where a run's program records its process group: /dev/shm is outside the size-limited workdir and /tmp. */
const groupFile = (runId: string) => `/dev/shm/.llm-sandbox-${runId}`;

/**
 * Shell functions. `locate`, given "$m" (the marker) and "$gf" (the group file), finds this shell's group and
 * ancestors and the program's group. `signal SIG…` then sends the signals, in order, to the program's group and to
 * the group (or the process) of everything else carrying the marker, this shell and its ancestors excepted (an
 * engine may run the wrapper under marked shells of its own, e.g. Kubernetes v4 stdin), and counts the targets in
 * "$n". `finish` freezes them all, then kills them. `slots_free` tells whether the sandbox can start processes
 * (true without a pids limit); `settle` waits (without forking) until killed processes have been reaped and their
 * slots are free again, so this shell can fork again.
 */
const PROCESS_FUNCTIONS = `group() { s=; { read -r s < "/proc/$1/stat"; } 2>/dev/null; s=\${s##*) }; set -- $s; g=\${3:-}; pp=\${2:-}; }
locate() { group self; own=$g
  anc=" "; p=$$; while [ -n "$p" ] && [ "$p" -gt 1 ]; do anc="$anc$p "; group "$p"; p=$pp; done
  P=; { read -r P < "$gf"; } 2>/dev/null; case "$P" in ''|*[!0-9]*|0|1) P=;; esac; }
send() { t=$1; shift; ok=; for sig; do kill -"$sig" "$t" 2>/dev/null && ok=1; done; [ -n "$ok" ] && n=$((n+1)); }
signal() { n=0; seen=" "
  if [ -n "$P" ] && [ "$P" != "$own" ]; then send -"$P" "$@"; seen=" $P "; fi
  for e in /proc/[0-9]*/environ; do
    p=\${e#/proc/}; p=\${p%/environ}; [ "$p" = "$$" ] && continue
    v=; { IFS= read -r v < "$e"; } 2>/dev/null
    case "$v" in *"$m"*) ;; *) continue;; esac
    case "$anc" in *" $p "*) continue;; esac
    group "$p"
    if [ -n "$g" ] && [ "$g" != "$own" ]; then
      case "$seen" in *" $g "*) continue;; esac
      seen="$seen$g "; send -"$g" "$@"
    else send "$p" "$@"; fi
  done; }
finish() { signal STOP; signal STOP; i=0; while [ $i -lt 50 ]; do signal KILL; [ $n -eq 0 ] && break; i=$((i+1)); done; }
slots_free() { c=; x=; for f in /sys/fs/cgroup/pids.current /sys/fs/cgroup/pids/pids.current; do { read -r c < "$f"; read -r x < "\${f%current}max"; } 2>/dev/null && break; done
  case "$x" in ''|max) return 0;; esac; [ $((c + 4)) -lt "$x" ]; }
settle() { i=0; while [ $i -lt 20000 ]; do slots_free && return; i=$((i+1)); done; }`;

/**
 * Runs the language's script as a run's program: stdin from /dev/null (so background children do not keep the
 * exec's stdin), in a new session and process group (`setsid`, when the image has it) whose id it records.
 */
export function launchProgram(runScript: string): string {
  return `gf=${groupFile(`$${RUN_MARKER}`)}
if command -v setsid > /dev/null 2>&1; then
  setsid /bin/sh -c '{ echo $$ > "$1"; } 2>/dev/null; exec /bin/sh -c "$2"' program "$gf" ${shellQuote(runScript)} < /dev/null
else
  /bin/sh -c ${shellQuote(runScript)} < /dev/null
fi`;
}

/**
 * Ends a run whose program finished: KILLs whatever it left behind (background jobs, the tail of a fork bomb), so
 * every run starts with the sandbox's process slots and memory free; one scan when nothing is left. Preserves `$?`
 * in "$rc" for the caller.
 */
export const REAP_LEFTOVERS = `m="${RUN_MARKER}=$${RUN_MARKER}"
${PROCESS_FUNCTIONS}
locate; signal 0; [ $n -eq 0 ] || { finish; settle; }
rm -f -- "$gf"`;

/**
 * Stops one operation from outside (timeout, abort): freezes its processes, sends TERM, lets them go, KILLs what is
 * left after the grace period, then removes the operation's file. Runs as the operation's user.
 */
const KILL_SCRIPT = `m="${RUN_MARKER}=$1"; gf=${groupFile("$1")}
${PROCESS_FUNCTIONS}
locate; signal STOP TERM CONT
i=0; while [ $i -lt ${KILL_GRACE_SECONDS * 10} ]; do signal 0; [ $n -eq 0 ] && break; sleep 0.1 2>/dev/null; i=$((i+1)); done
[ $n -eq 0 ] || { finish; settle; }
[ -z "$2" ] || rm -rf -- "$2"
rm -f -- "$gf"
exit 0`;

/**
 * The sandbox's first process (PID 1; see KEEP_ALIVE_COMMAND): a shell that exits on TERM and, while it waits on its
 * keep-alive child, reaps the orphans of killed programs (its \`wait\` collects any child, adopted ones too), so
 * they do not pile up as zombies holding process slots.
 *
 * On FREE_SLOTS_SIGNAL, sent through the engine's API when the kill step's exec cannot start (a fork bomb holds
 * every slot, and an exec needs one), it frees them. It acts only when the sandbox is at its pids limit, and then
 * kills one operation: the one that holds the slots, named by the run marker of the newest (highest-numbered)
 * process that carries one (run ids are newId()'s 16 hex digits). Its process group goes first, in one call each to
 * freeze and kill it (reading 256 processes' files takes seconds); then the rest of its processes. Everything
 * else — a kernel, a warm interpreter, this shell's keep-alive child — is spared, so this shell never needs to fork
 * again; it uses builtins only, as the kill step does.
 */
const KEEP_ALIVE_SCRIPT = `${PROCESS_FUNCTIONS}
free_slots() { slots_free && return
  q=; skip=" "; i=0
  while [ $i -lt 20 ]; do
    q=0; for f in /proc/[0-9]*; do p=\${f#/proc/}; case "$skip" in *" $p "*) continue;; esac; [ "$p" -gt "$q" ] && q=$p; done
    v=; { IFS= read -r v < "/proc/$q/environ"; } 2>/dev/null
    case "$v" in *"${RUN_MARKER}="*) break;; esac
    skip="$skip$q "; q=; i=$((i+1))
  done
  [ -n "$q" ] || return
  r=\${v#*${RUN_MARKER}=}; id=\${r%"\${r#????????????????}"}
  case "$id" in ''|*[!0-9a-f]*) return;; esac
  m="${RUN_MARKER}=$id"; gf=${groupFile("$id")}; locate
  group "$q"; [ -z "$g" ] || [ "$g" = "$own" ] || { kill -STOP -"$g"; kill -KILL -"$g"; } 2>/dev/null
  finish; }
trap 'exit 0' TERM INT
trap free_slots ${FREE_SLOTS_SIGNAL}
sleep 86400 & k=$!
while :; do
  wait "$k"
  # A trap interrupts the wait while the keep-alive child still sleeps; otherwise it has ended: start another.
  [ -e "/proc/$k" ] || { sleep 86400 & k=$!; }
done`;

/** PID 1 of every sandbox: see KEEP_ALIVE_SCRIPT. */
export const KEEP_ALIVE_COMMAND: readonly string[] = ["/bin/sh", "-c", KEEP_ALIVE_SCRIPT, KEEP_ALIVE_NAME];

/** Attempts at starting the kill step: the engine may fail to start an exec while a fork bomb holds every slot. */
const KILL_ATTEMPTS = 10;

/** How long an interrupted operation waits for its kill step: the grace period plus room for retried starts. */
export const KILL_STEP_LIMIT_MS = (KILL_GRACE_SECONDS + 10) * 1000;

/** Runs the kill step for operation `runId`; never throws (the caller stops waiting after a grace period). */
export async function killRun(
  backend: BackendAdapter,
  containerId: string,
  runId: string,
  { user, cleanupPath }: { user?: string | undefined; cleanupPath?: string | undefined } = {},
): Promise<void> {
  for (let attempt = 1; attempt <= KILL_ATTEMPTS; attempt++) {
    const outcome = await backend
      .exec(containerId, { argv: ["/bin/sh", "-c", KILL_SCRIPT, "kill", runId, cleanupPath ?? ""], ...(user ? { user } : {}) })
      .catch(() => undefined);
    if (outcome?.exitCode === 0) return;
    // It could not start (or fork): free the slots without a new process in the sandbox, where the engine can.
    await backend.freeProcessSlots?.(containerId).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
