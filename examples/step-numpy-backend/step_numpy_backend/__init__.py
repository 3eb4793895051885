"""A third-party STEP backend in NumPy: the hook and the backend class (no heavy imports)."""

from __future__ import annotations

from step import hookimpl
from step.backend import Backend
from step.specs import NeuronSpec
from step.support import Level, Support

NO_AUTOGRAD = "NumPy has no automatic differentiation"


class NumpyBackend(Backend):
    name = "numpy"
    library = "numpy"
    install_hint = "pip install numpy"
    description = "example third-party plugin: IF/LIF forward passes in NumPy"

    def neuron_support(self, spec: NeuronSpec) -> Support:
        if spec.kind not in ("if", "lif"):
            return Support.unsupported(
                f"the numpy example computes only if and lif, not {spec.kind}")
        if spec.learn_threshold:
            return Support.unsupported(f"a learnable threshold needs gradients: {NO_AUTOGRAD}")
        return Support(Level.NATIVE, Level.UNSUPPORTED, "numpy loop over time", NO_AUTOGRAD)

    def _build_neuron(self, spec: NeuronSpec, support: Support):  # noqa: ANN202
        from step_numpy_backend.neurons import NumpyNeuron

        return NumpyNeuron(spec)


@hookimpl
def step_backends() -> list[Backend]:
    return [NumpyBackend()]
