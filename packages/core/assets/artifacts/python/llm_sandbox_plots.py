"""Plot capture for llm-sandbox artifact sessions.

Post-import hooks patch matplotlib, plotly and bokeh only when the program imports them, so a program that
plots nothing pays nothing. Every plot is written to LLM_SANDBOX_PLOTS_DIR as NNNNNN.<ext> with a NNNNNN.json
sidecar (format, library, size, structured chart data); plot bytes never pass through the program's stdout, and
capture problems go to _capture.log there instead of being printed. The host collects and empties the directory
after each run, and passes the number to continue from (LLM_SANDBOX_PLOT_START) into the next.

The settings are read from the environment when a plot is emitted, not at import: a pooled container's warm
interpreter imports this module (and matplotlib) once and serves many runs, each with its own settings. Without
LLM_SANDBOX_PLOTS_DIR capture is off and every patched function behaves as the original.
"""

import atexit
import datetime
import fcntl
import importlib.abc
import importlib.util
import io
import json
import math
import os
import struct
import sys

MAX_POINTS = 5000
FORMATS = {"png": "png", "svg": "svg", "pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "html": "html", "htm": "html"}


# -------------------------------------------------------------------------------------------------- settings


def plots_dir():
    """Where this run's plots go; empty when capture is off."""
    return os.environ.get("LLM_SANDBOX_PLOTS_DIR", "")


def _max_count():
    return int(os.environ.get("LLM_SANDBOX_PLOT_MAX_COUNT", "50"))


def _max_bytes():
    return int(os.environ.get("LLM_SANDBOX_PLOT_MAX_BYTES", str(10 * 1024 * 1024)))


def _inline_js():
    return os.environ.get("LLM_SANDBOX_PLOTLY_JS", "cdn") != "cdn"


# ---------------------------------------------------------------------------------------------------- output


def log(kind, message):
    if not plots_dir():
        return
    try:
        with open(os.path.join(plots_dir(), "_capture.log"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(json.dumps({"kind": kind, "message": str(message)}) + "\n")
    except OSError:
        pass


def _next_number():
    """Numbers continue the session's count (the host passes it in); the counter file shares them between the
    processes of one run (a program's subprocesses plot too)."""
    with open(os.path.join(plots_dir(), ".counter"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        number = int(handle.read().strip() or os.environ.get("LLM_SANDBOX_PLOT_START", "0")) + 1
        handle.seek(0)
        handle.truncate()
        handle.write(str(number))
        return number


def _plots_this_run():
    """The host empties the directory after every run, so what is in it now is this run's."""
    return sum(1 for name in os.listdir(plots_dir()) if name[:6].isdigit() and not name.endswith(".json"))


def _write(path, data):
    temporary = path + ".part"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def emit(data, fmt, library, chart=None, source=None, figure=None, plotly=None):
    """Stores one plot, unless capture is off or a limit says no (then the host reports the run's plots as truncated)."""
    if not plots_dir():
        return
    os.makedirs(plots_dir(), exist_ok=True)
    max_count, max_bytes = _max_count(), _max_bytes()
    if _plots_this_run() >= max_count:
        log("truncated", "more than %d plots in one run; the rest were dropped" % max_count)
        return
    if len(data) > max_bytes:
        log("truncated", "a %s plot of %d bytes exceeds the %d-byte limit and was dropped" % (fmt, len(data), max_bytes))
        return
    meta = {"format": fmt, "library": library}
    meta.update(_dimensions(data, fmt, figure))
    if chart:
        meta["chart"] = chart
    if plotly:
        meta["plotly"] = plotly
    if source:
        meta["source"] = os.path.basename(source)
    base = os.path.join(plots_dir(), "%06d" % _next_number())
    _write(base + ".json", json.dumps(meta, default=_json_default).encode())
    _write(base + "." + ("jpg" if fmt == "jpeg" else fmt), data)


def emit_file(path, library, chart=None, figure=None, fmt=None, plotly=None):
    if not plots_dir():
        return
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    fmt = FORMATS.get((fmt or extension).lower())
    if not fmt:
        log("error", "%s: format %r is not captured (png, svg, pdf, jpeg, html are)" % (os.path.basename(path), extension))
        return
    with open(path, "rb") as handle:
        emit(handle.read(), fmt, library, chart=chart, source=path, figure=figure, plotly=plotly)


def _dimensions(data, fmt, figure):
    try:
        if fmt == "png" and data[:8] == b"\x89PNG\r\n\x1a\n":
            width, height = struct.unpack(">II", data[16:24])
            return {"width": width, "height": height, "dpi": _dpi(figure)}
        if fmt == "jpeg":
            size = _jpeg_size(data)
            if size:
                return {"width": size[0], "height": size[1], "dpi": _dpi(figure)}
        if figure is not None:
            width, height = figure.get_size_inches()
            dpi = figure.dpi
            return {"width": int(round(width * dpi)), "height": int(round(height * dpi)), "dpi": _dpi(figure)}
    except Exception:
        pass
    return {}


def _dpi(figure):
    return int(round(figure.dpi)) if figure is not None else None


def _jpeg_size(data):
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        length = struct.unpack(">H", data[index + 2 : index + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[index + 5 : index + 9])
            return width, height
        index += 2 + length
    return None


# ------------------------------------------------------------------------------------------- JSON-safe values


def _json_default(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return str(value)


def _value(item):
    if hasattr(item, "item") and not isinstance(item, (str, bytes)):
        try:
            item = item.item()  # numpy scalars
        except Exception:
            pass
    if isinstance(item, float) and not math.isfinite(item):
        return None
    if isinstance(item, (datetime.date, datetime.datetime)):
        return item.isoformat()
    if isinstance(item, (int, float, str, bool)) or item is None:
        return item
    text = str(item)
    return text if not text.startswith("numpy.datetime64") else text[17:-2]


def _values(sequence):
    try:
        items = list(sequence)
    except TypeError:
        return [], False
    truncated = len(items) > MAX_POINTS
    values = []
    for item in items[:MAX_POINTS]:
        if type(item).__name__ == "datetime64":
            values.append(str(item))
        else:
            values.append(_value(item))
    return values, truncated


def _series(kind, label, x, y, **extra):
    xs, x_cut = _values(x) if x is not None else (None, False)
    ys, y_cut = _values(y) if y is not None else (None, False)
    series = {"type": kind}
    if label and not str(label).startswith("_"):
        series["label"] = str(label)
    if xs is not None:
        series["x"] = xs
    if ys is not None:
        series["y"] = ys
    if x_cut or y_cut:
        series["truncated"] = True
    series.update(extra)
    return series


def _chart(title, x_label, y_label, series):
    kinds = {item["type"] for item in series}
    chart = {"type": kinds.pop() if len(kinds) == 1 else "mixed", "series": series}
    for key, text in (("title", title), ("xLabel", x_label), ("yLabel", y_label)):
        if text:
            chart[key] = str(text)
    return chart


# ------------------------------------------------------------------------------------------------ matplotlib

_original_savefig = None


def _recorded(axes):
    if not hasattr(axes, "_llm_sandbox_series"):
        axes._llm_sandbox_series = []
        axes._llm_sandbox_covered = set()
    return axes


def _record(axes, series, artists):
    axes = _recorded(axes)
    axes._llm_sandbox_series.extend(series)
    axes._llm_sandbox_covered.update(id(artist) for artist in artists)


def _patch_axes(module):
    """Records what pie, hist and boxplot were given: their drawn artists no longer hold the numbers."""
    Axes = module.Axes
    pie, hist, bxp = Axes.pie, Axes.hist, Axes.bxp

    def patched_pie(self, x, *args, **kwargs):
        result = pie(self, x, *args, **kwargs)
        try:
            labels = kwargs.get("labels") or (args[1] if len(args) > 1 else None)
            _record(self, [_series("pie", None, labels, x)], result[0])
        except Exception as error:
            log("error", "pie chart data: %s" % error)
        return result

    def patched_hist(self, x, *args, **kwargs):
        counts, edges, patches = hist(self, x, *args, **kwargs)
        try:
            label = kwargs.get("label")
            layers = counts if getattr(counts, "ndim", 1) > 1 else [counts]
            labels = label if isinstance(label, (list, tuple)) else [label] * len(layers)
            containers = patches if isinstance(patches, list) and patches and not hasattr(patches[0], "get_height") else [patches]
            artists = [artist for container in containers for artist in container] + list(containers)
            series = [_series("histogram", name, edges[:-1], layer, binEdges=_values(edges)[0]) for name, layer in zip(labels, layers)]
            _record(self, series, artists)
        except Exception as error:
            log("error", "histogram data: %s" % error)
        return counts, edges, patches

    def patched_bxp(self, bxpstats, *args, **kwargs):
        result = bxp(self, bxpstats, *args, **kwargs)
        try:
            boxes = []
            for index, stats in enumerate(bxpstats):
                boxes.append(
                    {
                        "label": _value(stats.get("label", index + 1)),
                        "min": _value(stats["whislo"]),
                        "q1": _value(stats["q1"]),
                        "median": _value(stats["med"]),
                        "q3": _value(stats["q3"]),
                        "max": _value(stats["whishi"]),
                        "outliers": _values(stats.get("fliers", []))[0],
                    }
                )
            series = _series("box", None, [box["label"] for box in boxes], [box["median"] for box in boxes], boxes=boxes)
            _record(self, [series], [artist for artists in result.values() for artist in artists])
        except Exception as error:
            log("error", "box plot data: %s" % error)
        return result

    Axes.pie, Axes.hist, Axes.bxp = patched_pie, patched_hist, patched_bxp


def _axes_chart(axes):
    from matplotlib.collections import PathCollection
    from matplotlib.container import BarContainer

    _recorded(axes)
    covered = axes._llm_sandbox_covered
    series = list(axes._llm_sandbox_series)
    for line in axes.get_lines():
        if id(line) in covered or not line.get_visible():
            continue
        kind = "scatter" if line.get_linestyle() in ("None", "none", " ", "") and line.get_marker() not in (None, "None", "none", "") else "line"
        series.append(_series(kind, line.get_label(), line.get_xdata(orig=True), line.get_ydata(orig=True)))
    for collection in axes.collections:
        if id(collection) in covered or not isinstance(collection, PathCollection):
            continue
        offsets = collection.get_offsets()
        if len(offsets):
            series.append(_series("scatter", collection.get_label(), [p[0] for p in offsets], [p[1] for p in offsets]))
    for container in axes.containers:
        if id(container) in covered or not isinstance(container, BarContainer):
            continue
        horizontal = getattr(container, "orientation", "vertical") == "horizontal"
        positions = [(bar.get_y() + bar.get_height() / 2) if horizontal else (bar.get_x() + bar.get_width() / 2) for bar in container]
        sizes = [bar.get_width() if horizontal else bar.get_height() for bar in container]
        categories = _tick_labels(axes.yaxis if horizontal else axes.xaxis, positions)
        series.append(_series("bar", container.get_label(), categories or positions, sizes, orientation="horizontal" if horizontal else "vertical"))
    if not series:
        return None
    return _chart(axes.get_title(), axes.get_xlabel(), axes.get_ylabel(), series)


def _tick_labels(axis, positions):
    """Category names of bars, when the axis shows text ticks at the bars' positions."""
    try:
        ticks = dict(zip([round(float(t), 6) for t in axis.get_ticklocs()], [label.get_text() for label in axis.get_ticklabels()]))
        labels = [ticks.get(round(float(p), 6)) for p in positions]
        if all(labels) and not all(_is_number(text) for text in labels):
            return labels
    except Exception:
        pass
    return None


def _is_number(text):
    try:
        float(text.replace("\u2212", "-"))
        return True
    except ValueError:
        return False


def _figure_chart(figure):
    try:
        charts = [chart for chart in (_axes_chart(axes) for axes in figure.axes if axes.get_visible()) if chart]
        suptitle = figure._suptitle.get_text() if getattr(figure, "_suptitle", None) else None
        if not charts:
            return None
        if len(charts) == 1:
            if suptitle and "title" not in charts[0]:
                charts[0]["title"] = suptitle
            return charts[0]
        chart = {"type": "composite", "series": [], "subplots": charts}
        if suptitle:
            chart["title"] = suptitle
        return chart
    except Exception as error:
        log("error", "chart data: %s" % error)
        return None


def _has_content(figure):
    return bool(figure.images) or any(axes.has_data() or axes.images for axes in figure.axes)


def _fingerprint(figure):
    """What a figure shows, roughly: a captured figure is captured again only if this changed (`stale` is set by
    saving itself, so it cannot tell)."""
    return tuple(
        (len(a.lines), len(a.patches), len(a.collections), len(a.images), len(a.texts), a.get_title(), a.get_xlabel(), a.get_ylabel())
        for a in figure.axes
    )


def _capture_figure(figure):
    buffer = io.BytesIO()
    _original_savefig(figure, buffer, format="png", bbox_inches="tight")
    emit(buffer.getvalue(), "png", "matplotlib", chart=_figure_chart(figure), figure=figure)
    figure._llm_sandbox_captured = _fingerprint(figure)


def _patch_figure(module):
    global _original_savefig
    Figure = module.Figure
    _original_savefig = Figure.savefig

    def savefig(self, fname, *args, **kwargs):
        result = _original_savefig(self, fname, *args, **kwargs)
        try:
            if plots_dir() and isinstance(fname, (str, os.PathLike)):
                path = os.fspath(fname)
                fmt = kwargs.get("format")
                if not os.path.splitext(path)[1]:
                    import matplotlib

                    fmt = fmt or matplotlib.rcParams["savefig.format"]
                    path = "%s.%s" % (path, fmt)
                emit_file(path, "matplotlib", chart=_figure_chart(self), figure=self, fmt=fmt)
                self._llm_sandbox_captured = _fingerprint(self)
        except Exception as error:
            log("error", "savefig capture: %s" % error)
        return result

    Figure.savefig = savefig


def _capture_open_figures(pyplot):
    if not plots_dir():
        return
    for number in pyplot.get_fignums():
        figure = pyplot.figure(number)
        try:
            if _has_content(figure) and getattr(figure, "_llm_sandbox_captured", None) != _fingerprint(figure):
                _capture_figure(figure)
        except Exception as error:
            log("error", "figure %s: %s" % (number, error))


def _patch_pyplot(pyplot):
    original_show = pyplot.show

    def show(*args, **kwargs):
        """Like an inline backend: every figure with content becomes a plot, then the figures are closed."""
        if not plots_dir():
            return original_show(*args, **kwargs)
        _capture_open_figures(pyplot)
        pyplot.close("all")

    pyplot.show = show
    atexit.register(_capture_open_figures, pyplot)


# ---------------------------------------------------------------------------------------------------- plotly


def _plotly_figure(figure):
    """The figure's plotly JSON; the host turns it into chart data (the same code serves R's plotly)."""
    try:
        spec = json.loads(figure.to_json())  # plotly's own encoder: numpy arrays, dates, …
        return {"data": spec.get("data", []), "layout": spec.get("layout", {})}
    except Exception as error:
        log("error", "plotly chart data: %s" % error)
        return None


def _patch_plotly(module):
    BaseFigure = module.BaseFigure
    original_show, write_html, write_image = BaseFigure.show, BaseFigure.write_html, BaseFigure.write_image

    def show(self, *args, **kwargs):
        if not plots_dir():
            return original_show(self, *args, **kwargs)
        html = self.to_html(include_plotlyjs=True if _inline_js() else "cdn", full_html=True)
        emit(html.encode(), "html", "plotly", plotly=_plotly_figure(self))

    def patched_write_html(self, file, *args, **kwargs):
        result = write_html(self, file, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)):
            try:
                emit_file(os.fspath(file), "plotly", plotly=_plotly_figure(self))
            except Exception as error:
                log("error", "write_html capture: %s" % error)
        return result

    def patched_write_image(self, file, *args, **kwargs):
        result = write_image(self, file, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)):
            try:
                emit_file(os.fspath(file), "plotly", plotly=_plotly_figure(self), fmt=kwargs.get("format"))
            except Exception as error:
                log("error", "write_image capture: %s" % error)
        return result

    BaseFigure.show, BaseFigure.write_html, BaseFigure.write_image = show, patched_write_html, patched_write_image


# ----------------------------------------------------------------------------------------------------- bokeh


def _patch_bokeh(module):
    original_show, save = module.show, module.save

    def show(obj, *args, **kwargs):
        if not plots_dir():
            return original_show(obj, *args, **kwargs)
        from bokeh.embed import file_html
        from bokeh.resources import CDN, INLINE

        emit(file_html(obj, INLINE if _inline_js() else CDN, "Bokeh plot").encode(), "html", "bokeh")

    def patched_save(obj, *args, **kwargs):
        path = save(obj, *args, **kwargs)
        try:
            emit_file(os.fspath(path), "bokeh")
        except Exception as error:
            log("error", "bokeh save capture: %s" % error)
        return path

    module.show, module.save = show, patched_save


# ------------------------------------------------------------------------------------------ post-import hooks

HOOKS = {
    "matplotlib.axes": _patch_axes,
    "matplotlib.figure": _patch_figure,
    "matplotlib.pyplot": _patch_pyplot,
    "plotly.basedatatypes": _patch_plotly,
    "bokeh.io": _patch_bokeh,
}


class _PostImportFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for a hooked module it asks the other finders, then patches the module once loaded."""

    def find_spec(self, name, path=None, target=None):
        hook = HOOKS.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                _wrap_loader(spec, hook)
                return spec
        return None


def _wrap_loader(spec, hook):
    """Patches this module's own loader instance (file loaders are per module), keeping every other ability of it."""
    loader = spec.loader
    exec_module = loader.exec_module

    def exec_and_patch(module):
        exec_module(module)
        try:
            hook(module)
        except Exception as error:
            log("error", "patching %s: %s" % (module.__name__, error))

    loader.exec_module = exec_and_patch


def install():
    if plots_dir():
        os.makedirs(plots_dir(), exist_ok=True)
    if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())
