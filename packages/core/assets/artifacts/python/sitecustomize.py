# llm-sandbox: loaded by Python at start-up because an artifact session puts this directory first on PYTHONPATH.
# Importing here, rather than prepending code to the user's program, keeps the program's line numbers and prints
# nothing. The image's own sitecustomize (which this file shadows) is run afterwards.
import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))

if os.environ.get("LLM_SANDBOX_PLOTS_DIR"):
    try:
        import llm_sandbox_plots

        llm_sandbox_plots.install()
    except Exception as error:  # capture must never break the program
        try:
            import json

            with open(os.path.join(os.environ["LLM_SANDBOX_PLOTS_DIR"], "_capture.log"), "a") as log:
                log.write(json.dumps({"kind": "error", "message": "capture set-up failed: %s" % error}) + "\n")
        except OSError:
            pass


def _run_next_sitecustomize():
    import importlib.util

    for entry in sys.path:
        if not entry or os.path.abspath(entry) == _here:
            continue
        candidate = os.path.join(entry, "sitecustomize.py")
        if os.path.isfile(candidate):
            spec = importlib.util.spec_from_file_location("_image_sitecustomize", candidate)
            if spec and spec.loader:
                spec.loader.exec_module(importlib.util.module_from_spec(spec))
            return


try:
    _run_next_sitecustomize()
except Exception:
    pass
