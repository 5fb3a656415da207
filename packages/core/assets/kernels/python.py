"""llm-sandbox's IPython kernel: one long-lived process per interactive session.

Driven over the exec's stdin/stdout with frames: [kind: 1 byte][length: uint32 big-endian][payload] (see
src/interactive/frames.ts). The channel lives on private file descriptors: fd 0 becomes /dev/null and fds 1/2
become pipes that a thread turns into output frames, so nothing the user's code or its child processes write can
be mistaken for a frame. The host sends the source of this file as the first frame; argv[1] is a JSON config.
Cells are numbered by the host; interrupts are plain SIGINTs (see _interruptible).
"""
import base64
import glob
import importlib
import importlib.abc
import importlib.util
import io
import json
import os
import select
import signal
import site
import struct
import sys
import threading

CONFIG = json.loads(sys.argv[1])
sys.argv = [""]

# ---- the channel ------------------------------------------------------------------------------------------
_command_fd = os.dup(0)  # os.dup'd descriptors are not inherited by child processes (PEP 446)
_frame_fd = os.dup(1)
_diagnostic_fd = os.dup(2)  # the exec's stderr: only the kernel's own failures go there
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)  # input() and children read nothing instead of our commands
os.close(_null)


def _capture(fd):
    read_end, write_end = os.pipe()
    os.dup2(write_end, fd)
    os.close(write_end)
    os.set_blocking(read_end, False)
    return read_end


_OUTPUT = {_capture(1): b"O", _capture(2): b"E"}
# Frames go out one at a time, and output is read and sent under the same lock, so a cell's output always
# precedes its result frame.
_lock = threading.RLock()


def _send(kind, payload):
    data = memoryview(struct.pack(">cI", kind, len(payload)) + payload)
    with _lock:
        while data:
            data = data[os.write(_frame_fd, data):]


def _send_json(kind, value):
    _send(kind, json.dumps(value).encode())


def _drain():
    """Sends whatever the output pipes hold right now."""
    with _lock:
        for fd, kind in _OUTPUT.items():
            while True:
                try:
                    data = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if not data:
                    break
                _send(kind, data)


def _forward_output():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # interrupts belong to the main thread
    while True:
        select.select(list(_OUTPUT), [], [])
        _drain()


def _flush():
    """Pushes buffered text into the pipes (the user's code may have replaced sys.stdout: flush ours too)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass


def _read_exactly(size):
    data = bytearray()
    while len(data) < size:
        chunk = os.read(_command_fd, size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def _read_frame():
    header = _read_exactly(5)
    if header is None:
        return None
    kind, size = struct.unpack(">cI", header)
    payload = _read_exactly(size)
    return None if payload is None else (kind, payload)


# ---- interrupts: SIGINT raises KeyboardInterrupt while a cell runs and is ignored otherwise, so a late interrupt
# can never hit the next cell (the host sends the next cell only after the signal was delivered).
def _interruptible(enabled):
    signal.signal(signal.SIGINT, signal.default_int_handler if enabled else signal.SIG_IGN)


# ---- libraries installed after start (the session's venv appears on the first install) -------------------------
_venv = CONFIG.get("venv")
_site_dir = None
_site_mtime = None


def _refresh_import_paths():
    global _site_dir, _site_mtime
    if _site_dir is None:
        if not _venv or not os.path.isdir(_venv):
            return
        found = glob.glob(os.path.join(_venv, "lib", "python*", "site-packages"))
        if not found:
            return
        _site_dir = found[0]
        site.addsitedir(_site_dir)
        sys.path.remove(_site_dir)
        sys.path.insert(0, _site_dir)  # installed versions win over the image's
    mtime = os.stat(_site_dir).st_mtime_ns
    if mtime != _site_mtime:
        _site_mtime = mtime
        importlib.invalidate_caches()


# ---- one cell's results ----------------------------------------------------------------------------------------
class _Cell:
    def __init__(self, number):
        self.number = number
        self.value = None
        self.error = None


_cell = None
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")


def _truncate(text):
    limit = CONFIG["maxValueChars"]
    return text if len(text) <= limit else text[:limit] + "\n... [truncated]"


def _display(data, metadata=None):
    """Sends the images of a mime bundle as one display frame (after the output printed before it)."""
    images = {}
    for mime in _IMAGE_TYPES:
        value = data.get(mime)
        if value is None:
            continue
        if isinstance(value, str) and mime == "image/svg+xml":
            value = value.encode()
        images[mime] = base64.b64encode(value).decode("ascii") if isinstance(value, (bytes, bytearray)) else value
    info = {}
    for md in (metadata or {}).values():
        if isinstance(md, dict):
            info.update({k: v for k, v in md.items() if k in ("library", "dpi") and isinstance(v, (str, int, float))})
    payload = json.dumps({"data": images, "metadata": info}).encode()
    if len(payload) > CONFIG["maxDisplayBytes"]:
        payload = json.dumps({"error": f"an image of {len(payload)} bytes exceeds the limit of {CONFIG['maxDisplayBytes']}"}).encode()
    _flush()
    with _lock:
        _drain()
        _send(b"D", payload)


def _display_error(message):
    _send_json(b"D", {"error": message})


from IPython.core.displayhook import DisplayHook  # noqa: E402  (after the channel is safe)
from IPython.core.displaypub import DisplayPublisher  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets import Type  # noqa: E402
from traitlets.config import Config  # noqa: E402


class _ResultHook(DisplayHook):
    """The last expression's value becomes the result's `value` (or a plot), instead of an `Out[n]:` print."""

    def write_output_prompt(self):
        pass

    def finish_displayhook(self):
        pass

    def write_format_data(self, format_dict, md_dict=None):
        if any(mime in format_dict for mime in _IMAGE_TYPES):
            _display(format_dict, md_dict)
        elif _cell is not None and "text/plain" in format_dict:
            _cell.value = _truncate(str(format_dict["text/plain"]))


class _Publisher(DisplayPublisher):
    """display(): images become plots; anything else prints its text, as a terminal would."""

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        if any(mime in data for mime in _IMAGE_TYPES):
            _display(data, metadata)
        elif "text/plain" in data:
            print(data["text/plain"])

    def clear_output(self, wait=False):
        pass


class _Shell(InteractiveShell):
    displayhook_class = Type(_ResultHook)
    display_pub_class = Type(_Publisher)

    def system(self, cmd):
        """`!cmd` runs on our stdout/stderr pipes like in a terminal: no pty, so no \r\n and stderr stays apart."""
        _flush()
        return self.system_raw(cmd)

    def _showtraceback(self, etype, evalue, stb):
        text = self.InteractiveTB.stb2text(stb)
        print(text, file=sys.stderr)
        if _cell is not None and _cell.error is None:
            _cell.error = {"name": getattr(etype, "__name__", str(etype)), "message": str(evalue), "traceback": text}


# ---- matplotlib: figures come back as PNG plots, never a GUI -------------------------------------------------
_BACKEND = "_llm_sandbox_matplotlib"


def _figure_png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    figure._llm_sandbox_shown = True
    return buffer.getvalue(), {"library": "matplotlib", "dpi": float(figure.dpi)}


def _flush_figures(everything):
    """Shows the open figures (at plt.show(): all; after a cell: those not displayed yet) and closes them."""
    if "matplotlib.pyplot" not in sys.modules:
        return
    from matplotlib._pylab_helpers import Gcf
    import matplotlib.pyplot as plt

    try:
        for manager in Gcf.get_all_fig_managers():
            figure = manager.canvas.figure
            if len(figure.get_children()) > 1 and (everything or not getattr(figure, "_llm_sandbox_shown", False)):
                try:
                    png, metadata = _figure_png(figure)
                    _display({"image/png": png}, {"image/png": metadata})
                except Exception as error:  # a broken figure must not break the cell's result
                    _display_error(f"matplotlib figure {manager.num}: {type(error).__name__}: {error}")
    finally:
        plt.close("all")


class _MatplotlibHook(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Selects our backend when matplotlib is first imported (not before: importing it costs ~0.3 s), and serves it."""

    _busy = False

    def find_spec(self, name, path=None, target=None):
        if name == _BACKEND:
            return importlib.util.spec_from_loader(name, self)
        if name != "matplotlib" or self._busy:
            return None
        self._busy = True
        try:
            spec = importlib.util.find_spec(name)
        finally:
            self._busy = False
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                module.use("module://" + _BACKEND)

            spec.loader.exec_module = exec_module
        return spec

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backend_bases import FigureManagerBase
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        module.FigureCanvas = FigureCanvasAgg
        module.FigureManager = FigureManagerBase
        module.show = lambda *args, **kwargs: _flush_figures(True)


# ---- the loop ----------------------------------------------------------------------------------------------------
def _execute(shell, request):
    global _cell
    cell = _cell = _Cell(request["cell"])
    ok = False
    try:
        _refresh_import_paths()
        _interruptible(True)
        try:
            result = shell.run_cell(request["code"], store_history=True)
        finally:
            _interruptible(False)
        ok = result.success
        failure = result.error_before_exec or result.error_in_exec
        if not ok and cell.error is None and failure is not None:
            cell.error = {"name": type(failure).__name__, "message": str(failure), "traceback": ""}
    except BaseException as error:  # e.g. KeyboardInterrupt outside the user's code
        cell.error = cell.error or {"name": type(error).__name__, "message": str(error), "traceback": ""}
    finally:
        _cell = None
    _flush()
    with _lock:
        _drain()
        _send_json(b"R", {"cell": cell.number, "status": "ok" if ok else "error", "value": cell.value, "error": cell.error})


def main():
    # Whole lines per write (as on a terminal), so a print() arrives as one chunk; flushed after every cell.
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(line_buffering=True, write_through=False)
    threading.Thread(target=_forward_output, name="llm-sandbox-output", daemon=True).start()
    sys.meta_path.insert(0, _MatplotlibHook())
    config = Config()
    config.InteractiveShell.colors = "NoColor"
    history = CONFIG["historySize"]
    config.InteractiveShell.cache_size = 0 if history == 0 else max(history, 3)  # IPython's minimum is 3
    config.HistoryManager.hist_file = ":memory:"
    shell = _Shell.instance(config=config)
    shell.display_formatter.formatters["image/png"].for_type_by_name("matplotlib.figure", "Figure", _figure_png)
    shell.events.register("post_execute", lambda: _flush_figures(False))
    _interruptible(False)
    import IPython

    _send_json(b"H", {"pid": os.getpid(), "language": "python", "version": f"{sys.version.split()[0]} (IPython {IPython.__version__})"})
    while True:
        frame = _read_frame()
        if frame is None:  # the host closed the channel
            break
        kind, payload = frame
        if kind == b"X":
            _execute(shell, json.loads(payload))


_status = 0
try:
    main()
except BaseException:
    import traceback

    os.write(_diagnostic_fd, traceback.format_exc().encode())
    _status = 70
os._exit(_status)  # no interpreter teardown: user threads and atexit hooks must not keep a dead kernel alive
