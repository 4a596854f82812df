"""The backends a block can run on (`BACKENDS`, the site's; the engine takes the list as a
parameter, tests pass their own), and the library versions a page's outputs depend on.
`DEFAULT` is the build's own environment, with Keras on TensorFlow, where blocks without
`backends=` and `{py}` values run. Adding a backend is one entry in `BACKENDS`, plus its extra
in pyproject.toml."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .model import Block, Page
from .protocol import FIXED_ENVIRONMENT

KERNELS = "TensorFlow kernels"  # a record's versions: the kernel path its default worker ran (not in the key)
NOT_INSTALLED = "not installed"  # the version of a library that is not installed
INSTALL_HINT = "install them with `make backends` (or `.venv/bin/pip install -e '.[backends]'`)"

# Version label -> distributions that provide it (the first installed one wins).
TENSORFLOW = ("tensorflow-cpu", "tensorflow", "tensorflow-macos")
LIBRARIES = {"NumPy": ("numpy",), "TensorFlow": TENSORFLOW, "Keras": ("keras",), "Matplotlib": ("matplotlib",)}

PACKAGE_PARENT = str(Path(__file__).resolve().parents[1])  # where `python -m docexec.worker` imports docexec from


@dataclass(frozen=True)
class Backend:
    """One way of running Keras: the environment a worker starts with, before Keras is imported."""

    name: str
    label: str  # with its versions, "JAX {JAX}": {Name} fields are filled with library versions
    environment: dict = field(default_factory=dict)  # set in the worker's environment
    libraries: dict = field(default_factory=dict)  # version label -> distributions (first installed wins)
    imports: tuple = ()  # modules a worker imports before it is ready
    tab: str = ""  # the short name on the page's tabs, "TF · Eigen" (the page's stamp has the versions); "": name

    def versions(self) -> dict[str, str]:
        return {label: installed(names) or NOT_INSTALLED for label, names in self.libraries.items()}

    def missing(self) -> list[str]:
        return [names[0] for names in self.libraries.values() if installed(names) is None]

    def title(self, versions: dict[str, str]) -> str:
        return self.label.format(**{key.replace(" ", "_"): value for key, value in versions.items()})

    def worker_environment(self, first_on_path: tuple[str, ...] = ()) -> dict[str, str]:
        """The environment of this backend's worker process: the build's without the variables
        that choose a backend (a writer's KERAS_BACKEND=jax must not turn the default worker's
        TensorFlow into JAX), the fixed settings, the backend's own, and a PYTHONPATH that
        imports this docexec first. The TensorFlow kernel path is inherited: the CI matrix sets
        it on purpose, and the page's stamp names the one that ran."""
        inherited = {name: value for name, value in os.environ.items() if name not in CHOSEN_BY_BACKEND}
        environment = {**inherited, **FIXED_ENVIRONMENT, **self.environment}
        path = [*first_on_path, PACKAGE_PARENT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
        return environment


_TF_KERAS = {"TensorFlow": TENSORFLOW, "Keras": ("keras",)}
# Set by a backend, never inherited from the build's shell.
CHOSEN_BY_BACKEND = ("KERAS_BACKEND", "DOCEXEC_XLA", "JAX_PLATFORMS", "TF_USE_LEGACY_KERAS")
DEFAULT = Backend("default", "this build's environment", {"KERAS_BACKEND": "tensorflow"})
BACKENDS: dict[str, Backend] = {
    "tf-eigen": Backend(
        "tf-eigen", "TensorFlow {TensorFlow} · Eigen",
        {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "0"}, _TF_KERAS, ("keras",), "TF · Eigen"),
    "tf-onednn": Backend(
        "tf-onednn", "TensorFlow {TensorFlow} · oneDNN",
        {"KERAS_BACKEND": "tensorflow", "TF_ENABLE_ONEDNN_OPTS": "1"}, _TF_KERAS, ("keras",), "TF · oneDNN"),
    # XLA compiles the gradient steps of snippets/backends.py (they read DOCEXEC_XLA), on
    # whichever TensorFlow CPU kernel path the build runs: it is what model.fit runs on a GPU.
    "tf-xla": Backend(
        "tf-xla", "TensorFlow {TensorFlow} · XLA",
        {"KERAS_BACKEND": "tensorflow", "DOCEXEC_XLA": "1"}, _TF_KERAS, ("keras",), "TF · XLA"),
    "jax": Backend(
        "jax", "JAX {JAX}",
        {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"},
        {"JAX": ("jax",), "jaxlib": ("jaxlib",), "Keras": ("keras",)}, ("keras",), "JAX"),
    "torch": Backend(
        "torch", "PyTorch {PyTorch}",
        {"KERAS_BACKEND": "torch"},
        {"PyTorch": ("torch",), "Keras": ("keras",)}, ("keras",), "PyTorch"),
    # Keras 2 (the tf-keras distribution), reached as tf.keras under TF_USE_LEGACY_KERAS=1 (`import keras`
    # still gives Keras 3), on whichever TensorFlow CPU kernel path the build runs, as tf-xla.
    "tf-keras2": Backend(
        "tf-keras2", "Keras {Keras_2} · TensorFlow {TensorFlow}",
        {"KERAS_BACKEND": "tensorflow", "TF_USE_LEGACY_KERAS": "1"},
        {"TensorFlow": TENSORFLOW, "Keras 2": ("tf-keras", "tf_keras")}, ("keras", "tf_keras"), "Keras 2"),
}
Backends = Mapping[str, Backend]


@functools.cache
def installed(names: tuple[str, ...]) -> str | None:
    """The version of the first of the distributions `names` that is installed, read from
    package metadata (no import); once per process, like `library_versions` (the workers'
    fork server has imported the libraries already, so a later install needs a new process)."""
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def library_versions() -> dict[str, str]:
    """The versions the build's own worker runs with (read once per process: `installed`)."""
    return Backend("", "", libraries=LIBRARIES).versions()


# ------------------------------------------------------------------ a page's backends


def backends_of(item) -> tuple[str, ...]:
    """The backends a block names (`backends="jax torch"`), in the order written; () for the default."""
    return (item.options.backends or ()) if isinstance(item, Block) else ()


def page_backends(page: Page, backends: Backends) -> list[str]:
    """Backends used by a page, in the order of `backends`."""
    used = {name for item in page.items for name in backends_of(item)}
    return [name for name in backends if name in used]


def plan(page: Page, backends: Backends) -> dict[str, list[tuple[int, object]]]:
    """Which items each worker runs, in page order, with their index in the page: the default
    worker runs the items without backends=, each named backend its own."""
    runs = {DEFAULT.name: [(index, item) for index, item in enumerate(page.items) if not backends_of(item)]}
    for name in page_backends(page, backends):
        runs[name] = [(index, item) for index, item in enumerate(page.items) if name in backends_of(item)]
    return runs


def backend_versions(names: list[str], backends: Backends) -> dict[str, dict[str, str]]:
    return {name: backends[name].versions() for name in names}


def tab_label(name: str, backends: Backends) -> str:
    """A backend's short name, on tabs and in claim boxes: "TF · Eigen", "JAX"."""
    backend = backends.get(name)
    return (backend.tab or backend.name) if backend else name


def backend_title(name: str, versions: dict, backends: Backends) -> str:
    """A backend's name with the versions it ran, where no stamp is near: "TensorFlow 2.21.0 ·
    Eigen", "JAX 0.10.2" (a block run on one backend: "Ran on JAX 0.10.2")."""
    backend = backends.get(name)
    try:
        return backend.title(versions.get(name) or {}) if backend else name
    except KeyError:  # a record from before a label changed
        return name
