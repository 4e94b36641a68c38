"""Import this before transformers/diffusers when the venv's torchvision does not match torch (as seen on the
benchmark machine: torchvision 0.28 with torch 2.13 fails with "operator torchvision::nms does not exist", which
breaks `import transformers.modeling_utils`). The benchmarks need no torchvision, so it is hidden from the
availability checks and from imports."""
import importlib.util
import sys

_real_find_spec = importlib.util.find_spec


def _find_spec(name, package=None):
    if name == "torchvision" or name.startswith("torchvision."):
        return None
    return _real_find_spec(name, package)


def _broken():
    try:
        import torchvision  # noqa: F401
        return False
    except Exception:
        for key in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
            del sys.modules[key]
        return True


if _real_find_spec("torchvision") is not None and _broken():
    importlib.util.find_spec = _find_spec
    sys.modules["torchvision"] = None
