"""llm-sandbox's warm Python interpreter: the fork server of a pooled container.

It imports the configured modules once (numpy, pandas, matplotlib, ... with the plot-capture hooks installed,
dormant until a run switches them on), then runs every program in a fresh fork of that prepared state. The child
gets new stdio pipes, the run's environment and working directory, its own session and process group, and runs the
code file as `python3 file` would: same __main__, sys.argv, sys.path[0], tracebacks and line numbers, exit status,
and at exit the same waiting for threads, atexit hooks and flushing. The server itself never runs user code, so
nothing one run does is seen by the next. Other commands of the session (argv, optional stdin) are forked and
exec'd the same way, which spares the engine's exec round trip.

Driven over the exec's stdin/stdout with the kernels' frames ([kind: 1 byte][length: uint32 big-endian][payload],
see src/interactive/frames.ts). Host -> server: S (this file, then the plot-capture module), X (a run, JSON:
{cell, env, cwd} and either {code, file, prelude} or {argv, stdin?}; or {ping} or {clear}), K (stop that run's
processes). Server -> host: H (hello), O/E (the running program's output), R (its exit status). The
channel lives on private descriptors that every child closes before running anything.
"""
import base64
import importlib
import json
import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import time
import types

CONFIG = json.loads(sys.argv[1])
sys.argv = [""]
if sys.path and sys.path[0] == "":
    del sys.path[0]  # the server imports nothing from its working directory (the user's workdir)

# The exec's environment (the container's, plus the server's own run marker): every run starts from it.
_MARKER_NAME = "LLM_SANDBOX_RUN"
_SERVER_MARKER = (_MARKER_NAME + "=" + os.environ.get(_MARKER_NAME, "")).encode()
_BASE_ENV = {name: value for name, value in os.environ.items() if name != _MARKER_NAME}
# The interpreter's own __main__ starts with an empty __annotations__ in some versions: runs get the same.
_MAIN_ANNOTATIONS = "__annotations__" in vars(sys.modules["__main__"])
# Seconds between TERM and KILL when a run is stopped, and the most a finished program's output is waited for when
# processes it left behind keep its pipes open (the engine's exec does the same).
_KILL_GRACE = 2.0
_OUTPUT_GRACE = 2.0
_CODE_WRITE_FAILED = 125

# ---- the channel ------------------------------------------------------------------------------------------
_command_fd = os.dup(0)
_frame_fd = os.dup(1)
_null = os.open(os.devnull, os.O_RDWR)
os.dup2(_null, 0)
os.dup2(_null, 1)  # whatever an import prints goes nowhere; fd 2 stays the exec's stderr (the server's diagnostics)
os.close(_null)


def _send(kind, payload):
    data = memoryview(struct.pack(">cI", kind, len(payload)) + payload)
    while data:
        data = data[os.write(_frame_fd, data):]


def _send_json(kind, value):
    _send(kind, json.dumps(value).encode())


def _read_exactly(size):
    data = bytearray()
    while len(data) < size:
        chunk = os.read(_command_fd, size - len(data))
        if not chunk:
            raise SystemExit(0)
        data += chunk
    return bytes(data)


def _read_frame():
    kind, size = struct.unpack(">cI", _read_exactly(5))
    return kind, _read_exactly(size)


# ---- the prepared state ----------------------------------------------------------------------------------------
try:
    import ctypes

    _libc = ctypes.CDLL(None, use_errno=True)
except Exception:  # a Python without ctypes: the server stays traceable by its children's user
    _libc = None


def _set_dumpable(flag):
    """A non-dumpable server cannot be traced or have its memory written by the (same-user) programs it forks;
    each child makes itself dumpable again, as a normal process is."""
    if _libc is not None:
        _libc.prctl(4, 1 if flag else 0, 0, 0, 0)  # PR_SET_DUMPABLE


_set_dumpable(False)
if _libc is None or _libc.prctl(3, 0, 0, 0, 0) != 0:  # PR_GET_DUMPABLE
    # Its programs could trace it and reach later sessions: decline (exit 78); the pool goes on without it.
    os.write(2, b"declined: the server cannot make itself non-dumpable (no ctypes)\n")
    os._exit(78)


def _load_capture(source):
    """The plot-capture module, from the host (nothing is read from the sandbox's user-writable directories)."""
    module = types.ModuleType("llm_sandbox_plots")
    module.__file__ = "llm_sandbox_plots.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    module.install()


def _prepare():
    loaded, failed = [], []
    for name in CONFIG["modules"]:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception as error:
            failed.append("%s (%s: %s)" % (name, type(error).__name__, error))
    if "matplotlib.pyplot" in sys.modules:
        # One figure drawn now loads the fonts and the renderer once, for every run.
        import io

        pyplot = sys.modules["matplotlib.pyplot"]
        figure = pyplot.figure()
        figure.gca().plot([0, 1], [0, 1], label="warm-up")
        figure.gca().set_title("warm-up")
        figure.savefig(io.BytesIO(), format="png", bbox_inches="tight")
        pyplot.close("all")
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # nothing an import buffered may end up in a run's output
    return loaded, failed


# ---- one run, in the child ---------------------------------------------------------------------------------------
class _Unsupported(Exception):
    """The run needs a fresh interpreter (another python, other start-up settings): exec one."""


def _child(request, stdin_fd, stdout_fd, stderr_fd):
    """Becomes the run's program. Never returns."""
    try:
        os.setsid()
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        os.dup2(stdin_fd, 0)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the channel, the selector, other pipes
        _set_dumpable(True)
        cwd = request["cwd"]
        if "argv" in request:
            _exec_command(request["argv"], cwd, dict(_BASE_ENV, **request["env"]))
        os.chdir(cwd)
        env = _environment(request, cwd)
        os.environ.clear()
        os.environ.update(env)
        file = request["file"]
        try:
            with open(file, "wb") as handle:
                handle.write(request["code"].encode("utf-8", "surrogateescape"))
        except OSError as error:
            os.write(2, ("[llm-sandbox] cannot write %s: %s\n" % (file, error.strerror)).encode())
            os._exit(_CODE_WRITE_FAILED)
        try:
            _adopt_startup_settings(env)
        except _Unsupported:  # the interpreter a cold run starts: the virtualenv's, else python3 (or python) on PATH
            python = _venv_python() or shutil.which("python3", path=env.get("PATH")) or shutil.which("python", path=env.get("PATH")) or sys.executable
            os.execve(python, [python, file], env)
    except BaseException as error:  # the run could not be set up: report it as the program's failure
        try:
            os.write(2, ("[llm-sandbox] warm interpreter: %s: %s\n" % (type(error).__name__, error)).encode())
        finally:
            os._exit(_CODE_WRITE_FAILED)
    _run_main(file)


def _exec_command(argv, cwd, env):
    """As the engine's exec starts a command: in `cwd`, with default signal dispositions; its failures as the
    session reports them on every backend (the engine's reason on stderr; 127 when not found, else 126)."""
    for signum in (signal.SIGPIPE, signal.SIGXFSZ):  # ignored by Python, and an ignored signal survives exec
        signal.signal(signum, signal.SIG_DFL)
    try:
        os.chdir(cwd)
    except OSError as error:
        _exec_failed('chdir to cwd ("%s") set in config.json failed: %s' % (cwd, error.strerror.lower()))
    try:
        os.execvpe(argv[0], argv, env)
    except FileNotFoundError:
        # The same words as every backend uses (src/backends/backend.ts: programNotFound).
        os.write(2, ("%s: No such file or directory\n" % argv[0] if "/" in argv[0] else "%s: command not found\n" % argv[0]).encode())
        os._exit(127)
    except OSError as error:
        _exec_failed('exec: "%s": %s' % (argv[0], error.strerror.lower()))


def _exec_failed(reason):
    os.write(2, ("OCI runtime exec failed: exec failed: unable to start container process: %s: unknown\r\n" % reason).encode())
    os._exit(126)


def _environment(request, cwd):
    env = dict(_BASE_ENV)
    env.update(request["env"])
    env["PWD"] = cwd  # the shell that starts a cold run sets it
    prelude = request.get("prelude") or ""
    if prelude.strip():
        # The session's run prelude is shell (exports); the shell computes the environment exactly as for a cold run.
        done = subprocess.run(["/bin/sh", "-c", prelude + "\nexec env -0"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=True)
        env = dict(item.split("=", 1) for item in (os.fsdecode(raw) for raw in done.stdout.split(b"\0")) if "=" in item)
    return env


def _venv_python():
    """The session's virtualenv python, once libraries were installed: cold runs use it, so must we."""
    venv = CONFIG.get("venv")
    python = venv and os.path.join(venv, "bin", "python")
    return python if python and os.access(python, os.X_OK) else None


def _site_packages():
    """What the virtualenv holds (None without one): the server started in it sees the same, unless more was
    installed since (then a fresh interpreter must look)."""
    venv = CONFIG.get("venv")
    lib = venv and os.path.join(venv, "lib")
    if not lib or not os.path.isdir(lib):
        return None
    return sorted((version, sorted(os.listdir(os.path.join(lib, version, "site-packages")))) for version in os.listdir(lib) if os.path.isdir(os.path.join(lib, version, "site-packages")))


# The pool's own libraries are in a virtualenv of the baseline: then the server runs in it (the host starts it so).
_STARTED_IN_VENV = bool(CONFIG.get("venv")) and sys.prefix == CONFIG["venv"]
_SITE_PACKAGES = _site_packages() if _STARTED_IN_VENV else None


def _adopt_startup_settings(env):
    """What `python3 file` reads from the environment at start-up: PYTHONPATH entries added by the run are put on
    sys.path; any other difference (another python or other libraries, other start-up variables) needs a fresh
    interpreter."""
    if (_venv_python() is not None) != _STARTED_IN_VENV or (_STARTED_IN_VENV and _site_packages() != _SITE_PACKAGES):
        raise _Unsupported()
    names = {name for name in list(env) + list(_BASE_ENV) if name.startswith("PYTHON") and name != "PYTHONPATH"}
    if any(env.get(name) != _BASE_ENV.get(name) for name in names):
        raise _Unsupported()
    old, new = _BASE_ENV.get("PYTHONPATH", ""), env.get("PYTHONPATH", "")
    if new == old:
        return
    if old and not new.endswith(":" + old):
        raise _Unsupported()
    added = new[: len(new) - len(old)].rstrip(":") if old else new
    sys.path[0:0] = [os.path.abspath(entry) for entry in added.split(":") if entry]


def _run_main(file):
    """Runs the file as __main__ the way `python3 file` does, then exits the way the interpreter does."""
    import builtins
    import importlib.machinery

    main = types.ModuleType("__main__")
    main.__file__ = file
    main.__cached__ = None
    main.__builtins__ = builtins
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", file)
    if _MAIN_ANNOTATIONS:
        main.__annotations__ = {}
    sys.modules["__main__"] = main
    sys.argv = [file]
    sys.orig_argv = [sys.executable, file]
    sys.path.insert(0, os.path.dirname(os.path.realpath(file)))
    for module in ("numpy.random",):  # fork copies generator state; a fresh interpreter seeds it from the OS
        if module in sys.modules:
            sys.modules[module].seed()
    status, interrupted = 0, False
    try:
        with open(file, "rb") as handle:
            source = handle.read()
        code = compile(source, file, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit as error:
        status = _exit_status(error)
    except BaseException as error:
        # As the interpreter reports an uncaught exception: through sys.excepthook, without this function's frame.
        interrupted = isinstance(error, KeyboardInterrupt)
        traceback = error.__traceback__.tb_next if error.__traceback__ else None
        try:
            sys.excepthook(type(error), error.with_traceback(traceback), traceback)
        except BaseException:
            pass
        status = 1
    _exit(status, interrupted)


def _exit_status(error):
    code = error.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(str(code) + "\n")
    except Exception:
        pass
    return 1


def _exit(status, interrupted):
    """Py_FinalizeEx's order: wait for non-daemon threads, atexit hooks, flush stdout/stderr; then exit."""
    try:
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()
    except BaseException:
        pass
    import atexit

    atexit._run_exitfuncs()
    for stream, failure in ((sys.stdout, 120), (sys.stderr, None)):
        try:
            if stream is not None:
                stream.flush()
        except Exception:
            if failure and status == 0:
                status = failure
    if interrupted:  # an uncaught KeyboardInterrupt ends the interpreter by SIGINT
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status)


# ---- the server ----------------------------------------------------------------------------------------------
class _Run:
    def __init__(self, cell, pid, outputs, file, stdin, marker):
        self.cell = cell
        self.pid = pid
        self.marker = marker  # LLM_SANDBOX_RUN=<id> of this run: what its exec'd processes carry
        self.outputs = outputs  # fd -> frame kind
        self.file = file
        self.stdin = stdin  # (fd, bytes still to write) while the program's input is being written
        self.status = None
        self.exited_at = None
        self.pidfd = None
        self.kill = None  # (deadline, pids) while its processes are being stopped
        self.reaped = False  # a program's leftovers were ended


_selector = selectors.DefaultSelector()
_queue = []
_run = None


def _start(request):
    global _run
    cell = request["cell"]
    if request.get("ping"):
        _send_result(cell, 0)
        return
    if request.get("clear"):
        _send_result(cell, 0 if _clear() else 3)
        return
    data = base64.b64decode(request["stdin"]) if request.get("stdin") else None
    in_read, in_write = os.pipe() if data else (os.open(os.devnull, os.O_RDONLY), None)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(request, in_read, out_write, err_write)
    for fd in (in_read, out_write, err_write):
        os.close(fd)
    marker = (_MARKER_NAME + "=" + request["env"].get(_MARKER_NAME, "")).encode()
    run = _Run(cell, pid, {out_read: b"O", err_read: b"E"}, request.get("file"), (in_write, memoryview(data)) if data else None, marker)
    for fd in run.outputs:
        os.set_blocking(fd, False)
        _selector.register(fd, selectors.EVENT_READ, "output")
    if run.stdin:
        os.set_blocking(in_write, False)
        _selector.register(in_write, selectors.EVENT_WRITE, "input")
    try:
        run.pidfd = os.pidfd_open(pid)
        _selector.register(run.pidfd, selectors.EVENT_READ, "exit")
    except (AttributeError, OSError):
        run.pidfd = None  # polled instead
    _run = run


def _send_result(cell, status):
    _send_json(b"R", {"cell": cell, "status": "ok", "value": None, "error": None, "exitCode": status})


def _write_input():
    fd, data = _run.stdin
    try:
        data = data[os.write(fd, data[:65536]):]
    except BlockingIOError:
        return
    except OSError:  # the program closed its stdin
        data = b""
    if data:
        _run.stdin = (fd, data)
        return
    _selector.unregister(fd)
    os.close(fd)  # end of input
    _run.stdin = None


def _read_output(fd, until_empty=False):
    while True:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            _selector.unregister(fd)
            os.close(fd)
            del _run.outputs[fd]
            return False
        _send(_run.outputs[fd], data)
        if not until_empty:
            return True


def _reap():
    try:
        pid, status = os.waitpid(_run.pid, os.WNOHANG)
    except ChildProcessError:
        pid, status = _run.pid, 0
    if pid == 0:
        return
    code = os.waitstatus_to_exitcode(status)
    _run.status = code if code >= 0 else 128 - code  # as a shell reports a program killed by a signal
    _run.exited_at = time.monotonic()
    if _run.pidfd is not None:
        _selector.unregister(_run.pidfd)
        os.close(_run.pidfd)
        _run.pidfd = None


def _stat(pid):
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...), or None when it is gone."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split() or None
    except (OSError, IndexError):
        return None


def _processes_of_run():
    """The run's process group, every process carrying its run marker (exec'd children that left the group), and
    every process forked from this server without exec (their environment still shows the server's marker): all of
    them but the server."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        fields = _stat(entry)
        if fields is None or fields[0] == b"Z":
            continue
        try:
            if int(fields[2]) == _run.pid:
                found.append(int(entry))
                continue
            with open("/proc/%s/environ" % entry, "rb") as handle:
                environ = handle.read().split(b"\0")
            if _SERVER_MARKER in environ or _run.marker in environ:
                found.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _signal(pids, signum):
    for pid in pids:
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def _alive(pid):
    fields = _stat(pid)
    return fields is not None and fields[0] != b"Z"


def _keep_alive():
    """The container's keep-alive: the earliest-started child of PID 1 (orphans are re-parented to PID 1 later)."""
    found, earliest = None, None
    for entry in os.listdir("/proc"):
        fields = _stat(entry) if entry.isdigit() else None
        if fields is None:
            continue
        if fields[1] == b"1" and (earliest is None or int(fields[19]) < earliest):
            found, earliest = int(entry), int(fields[19])
    return found


def _clear():
    """Kills every process but PID 1, its keep-alive child and this server: all a session left behind. Done here,
    by a process that cannot be traced and without exec, so no leftover can stop or fool it (a reset shell it
    started could be traced by a process of the same user). True once none is left."""
    keep = {1, os.getpid(), _keep_alive()}
    for attempt in range(100):
        left = [pid for pid in (int(entry) for entry in os.listdir("/proc") if entry.isdigit()) if pid not in keep and _alive(pid)]
        if not left:
            return True
        _signal(left, signal.SIGKILL)
        if attempt >= 2:
            time.sleep(0.05)
    return False


def _stop(cell):
    """TERM to the run's processes now, KILL to survivors after the grace period; the result waits for it."""
    if _run is None or _run.cell != cell or _run.kill is not None:
        return
    pids = _processes_of_run()
    _signal(pids, signal.SIGTERM)
    _run.kill = (time.monotonic() + _KILL_GRACE, pids)


def _advance():
    """Moves the current run on: escalates a stop, reaps, and sends the result once everything is over."""
    global _run
    now = time.monotonic()
    if _run.pidfd is None and _run.status is None:
        _reap()
    if _run.kill is not None:
        deadline, pids = _run.kill
        alive = [pid for pid in pids if _alive(pid)]
        if alive and now >= deadline:
            _signal(alive, signal.SIGKILL)
            alive = []
        _run.kill = (deadline, alive) if alive else None
    if _run.status is None or _run.kill is not None:
        return
    if _run.file and not _run.reaped:
        # As a cold run's wrapper does: what the program left behind (background jobs, a fork bomb's tail) ends with
        # it. Commands keep theirs (services are started that way).
        _run.reaped = True
        leftovers = _processes_of_run()
        if leftovers:
            _run.kill = (now, leftovers)
            return
    if _run.outputs and now - _run.exited_at < _OUTPUT_GRACE:
        return
    for fd in list(_run.outputs):
        if _read_output(fd, until_empty=True):
            _selector.unregister(fd)
            os.close(fd)
            del _run.outputs[fd]
    if _run.stdin:
        _selector.unregister(_run.stdin[0])
        os.close(_run.stdin[0])
    if _run.file:
        try:
            os.unlink(_run.file)  # as the cold run's wrapper does after the program
        except OSError:
            pass
    cell, status = _run.cell, _run.status
    _run = None
    _send_result(cell, status)
    while _run is None and _queue:
        _start(_queue.pop(0))


def _timeout():
    if _run is None:
        return None
    if _run.kill is not None or (_run.pidfd is None and _run.status is None):
        return 0.05
    if _run.status is not None:
        return max(0.0, _OUTPUT_GRACE - (time.monotonic() - _run.exited_at))
    return None


class _Commands:
    """Frames from the host, decoded as they arrive."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self):
        data = os.read(_command_fd, 1 << 20)
        if not data:
            return False
        self.buffer += data
        while len(self.buffer) >= 5:
            kind, size = struct.unpack(">cI", self.buffer[:5])
            if len(self.buffer) < 5 + size:
                break
            payload = bytes(self.buffer[5 : 5 + size])
            del self.buffer[: 5 + size]
            if kind == b"X":
                request = json.loads(payload)
                if _run is None:
                    _start(request)
                else:
                    _queue.append(request)
            elif kind == b"K":
                _stop(json.loads(payload)["cell"])
        return True


def main():
    kind, capture = _read_frame()
    if kind == b"S" and capture:
        _load_capture(capture)
    loaded, failed = _prepare()
    version = sys.version.split()[0]
    _send_json(b"H", {"pid": os.getpid(), "language": "python", "version": version, "modules": loaded, "failed": failed})
    commands = _Commands()
    _selector.register(_command_fd, selectors.EVENT_READ, "command")
    while True:
        for key, _ in _selector.select(_timeout()):
            if key.data == "command":
                if not commands.feed():
                    return  # the host closed the channel
            elif _run is not None and key.data == "output":
                _read_output(key.fd)
            elif _run is not None and key.data == "input":
                _write_input()
            elif _run is not None and key.data == "exit":
                _reap()
        if _run is not None:
            _advance()


_status = 0
try:
    main()
except BaseException:
    import traceback

    os.write(2, traceback.format_exc().encode())
    _status = 70
if _run is not None:
    _signal(_processes_of_run(), signal.SIGKILL)
os._exit(_status)
