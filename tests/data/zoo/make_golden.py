"""Golden traces of the zoo neurons from their authors' code (see README.md here).

Run outside the step repository, from a folder holding ``src/<owner+name>`` (``git archive``
of each authors' repository at the commit the README names, Gated-LIF's layers.py with the
edits it lists) and ``sj<version>`` (``pip install --no-deps --target sj<version>
spikingjelly==<version>``)::

    python make_golden.py OUT_DIR

float64 throughout. Not imported by the tests: they read the JSON files it wrote.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path

import torch

HERE = Path.cwd()
OUT = Path("golden")
T, B, N = 8, 2, 6


def fresh_sj(version: str | None) -> None:
    """Put a SpikingJelly release first on sys.path (None: the installed 2.0.0)."""
    for name in list(sys.modules):
        if name == "spikingjelly" or name.startswith("spikingjelly."):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if "/sj0.0.0.0" not in p]
    if version:
        sys.path.insert(0, str(HERE / f"sj{version}"))


def load(path: Path, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def inputs(tie: float | None) -> torch.Tensor:
    g = torch.Generator().manual_seed(2026)
    x = torch.rand(T, B, N, generator=g) * 3.0 - 0.5
    if tie is not None:  # last neuron: a constant drive that lands exactly on the fire boundary
        x[:, :, -1] = tie
    return x


def readout_weights() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return torch.randn(T, B, N, generator=g), torch.randn(T, B, N, generator=g)


def record(kind, source, x, spikes, v, params, note, extra=None):
    """loss = sum(r_s * spikes) + sum(r_v * v); gradients of x and every parameter."""
    r_s, r_v = readout_weights()
    loss = (r_s * spikes).sum() + (r_v * v).sum()
    names = list(params)
    grads = torch.autograd.grad(loss, [x, *params.values()], allow_unused=True)
    out = {"kind": kind, "source": source, "note": note, "shape": [T, B, N],
           "x": x.detach().flatten().tolist(), "spikes": spikes.detach().flatten().tolist(),
           "v": v.detach().flatten().tolist(), "readout_spikes": r_s.flatten().tolist(),
           "readout_v": r_v.flatten().tolist(), "grad_x": grads[0].flatten().tolist(),
           "parameters": {k: params[k].detach().flatten().tolist() for k in names},
           "grad_parameters": {k: (g.flatten().tolist() if g is not None else None)
                               for k, g in zip(names, grads[1:], strict=True)}}
    if extra:
        out.update(extra)
    (OUT / f"{kind}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(kind, "rate", spikes.detach().mean().item())


def clif() -> None:
    fresh_sj("0.0.0.0.14")
    root = HERE / "src/HuuYuLong+Complementary-LIF"
    sys.path.insert(0, str(root))
    for m in ("modules", "modules.surrogate", "modules.neuron"):
        sys.modules.pop(m, None)
    neuron = importlib.import_module("modules.neuron")
    sys.path.remove(str(root))
    x = inputs(1.0).requires_grad_(True)
    node = neuron.MultiStepCLIFNeuron()  # train.py's CLIF: tau 2, Rectangle(), defaults
    s = node(x)
    record("clif", "HuuYuLong/Complementary-LIF@d76af59 modules/neuron.py "
           "MultiStepCLIFNeuron (ComplementaryLIFNeuron per step), train.py defaults "
           "(tau 2, surrogate Rectangle(alpha=1)); SpikingJelly 0.0.0.0.14",
           x, s, node.v_seq, {}, "v = membrane after both resets (node.v_seq)")


def plif() -> None:
    fresh_sj("0.0.0.0.2")
    models = load(HERE / "src/fangwei123456+Parametric-Leaky-Integrate-and-Fire-Spiking-Neuron"
                  "/codes/models.py", "plif_models")
    surrogate = importlib.import_module("spikingjelly.clock_driven.surrogate")
    x = inputs(2.0).requires_grad_(True)
    # the published runs: init_tau 2.0, -detach_reset, ATan(learnable=False)
    node = models.PLIFNode(init_tau=2.0, surrogate_function=surrogate.ATan(learnable=False),
                           detach_reset=True).double()  # PLIFNode makes w float32
    spikes, vs = [], []
    for xt in x.unbind(0):
        spikes.append(node(xt))
        vs.append(node.v.clone())  # PLIFNode charges in place (self.v += ...)
    record("plif", "fangwei123456/Parametric-Leaky-Integrate-and-Fire-Spiking-Neuron@f644ff6 "
           "codes/models.py PLIFNode(init_tau=2.0, ATan(learnable=False), detach_reset=True) as "
           "in the published runs; SpikingJelly 0.0.0.0.2",
           x, torch.stack(spikes), torch.stack(vs), {"w": node.w},
           "v = membrane after the reset (node.v per step)")


def klif() -> None:
    fresh_sj(None)
    from spikingjelly.activation_based import neuron
    x = inputs(2.0).requires_grad_(True)
    node = neuron.KLIFNode(step_mode="m", store_v_seq=True).double()  # every default
    s = node(x)
    record("klif", "spikingjelly 2.0.0 (PyPI) activation_based.neuron.KLIFNode with every "
           "default (no authors' code exists; SpikingJelly's maintainer ported KLIF)",
           x, s, node.v_seq, {"k": node.k}, "v = membrane after the reset (v_seq)")


def glif() -> None:
    layers = load(HERE / "src/Ikarosy+Gated-LIF/layers.py", "glif_layers")
    x = inputs(None).requires_grad_(True)
    # train.py's initial_dict for the layer-wise neuron: gates args.gate = [0.6, 0.8, 0.6],
    # param [tau, Vth, linear_decay, conduct] from layers.py (steps = 4 there, so the linear
    # leak is Vth/8 whatever t is), static_gate/static_param False, time_wise False
    kw = {"gate": [0.6, 0.8, 0.6],
          "param": [layers.tau, layers.Vth, layers.linear_decay, layers.conduct], "t": T,
          "static_gate": False, "static_param": False, "time_wise": False, "soft_mode": False}
    node = layers.LIFSpike(**kw).double()
    us = []
    orig = node.extended_state_update

    def spy(*a, **k):
        u, o = orig(*a, **k)
        us.append(u)
        return u, o

    node.extended_state_update = spy
    s = node(x)
    params = {"alpha": node.alpha, "beta": node.beta, "gamma": node.gamma, "tau": node.tau,
              "v_threshold": node.Vth, "linear_decay": node.leak, "v_subreset": node.reVth,
              "conduct": node.conduct}
    record("glif", "Ikarosy/Gated-LIF@60638b2 layers.py LIFSpike (layer-wise) with train.py's "
           "initial_dict (gates [0.6, 0.8, 0.6], tau 0.25, Vth 0.5, linear_decay Vth/8, "
           "conduct 0.5, static_gate False, time_wise False)",
           x, s, torch.stack(us), params, "v = u before the next step's gated reset; "
           "parameters are raw (pre-sigmoid) values under step's names (Vth -> v_threshold, "
           "leak -> linear_decay, reVth -> v_subreset)")


def psn() -> None:
    fresh_sj(None)
    from spikingjelly.activation_based import surrogate
    src = (HERE / "src/fangwei123456+Parallel-Spiking-Neuron/cifar10/train_cf10.py").read_text()
    # only the IFNode5 class is needed; the script's top level parses arguments and trains
    start = src.index("class IFNode5")
    end = src.index("def create_neuron")
    ns = {"nn": torch.nn, "torch": torch, "surrogate": surrogate}
    exec(compile(src[start:end], "train_cf10.py:IFNode5", "exec"), ns)
    torch.manual_seed(0)
    node = ns["IFNode5"](T=T, surrogate_function=surrogate.ATan())
    x = inputs(None).requires_grad_(True)
    s = node(x)
    h = torch.addmm(node.fc.bias.unsqueeze(1), node.fc.weight, x.flatten(1)).view(x.shape)
    record("psn", "fangwei123456/Parallel-Spiking-Neuron@2bfcba4 cifar10/train_cf10.py IFNode5 "
           "(the PSN of the CIFAR-10 runs: nn.Linear(T, T) with PyTorch's default init, bias "
           "-1, surrogate.ATan()); SpikingJelly 2.0.0",
           x, s, h, {"weight": node.fc.weight, "bias": node.fc.bias},
           "v = H = W X + b; the module built right after torch.manual_seed(0) in float64",
           {"init_seed": 0})


def ilif(kind: str) -> None:
    stub = types.ModuleType("stub")
    for name in ("torchinfo", "ultralytics", "ultralytics.utils", "ultralytics.utils.tal",
                 "spikingjelly.clock_driven", "spikingjelly.clock_driven.neuron",
                 "spikingjelly.clock_driven.layer", "timm.models.layers", "timm.models.registry",
                 "timm.models.vision_transformer", "einops.layers.torch"):
        sys.modules.setdefault(name, stub)

    class Unused:
        """Stands in for every name the module imports but mem_update does not use."""

        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return a[0] if a else self

    stub.__getattr__ = lambda name: Unused()
    mod = load(HERE / "src/SpikeYOLO/ultralytics/nn/modules/yolo_spikformer.py", "spikeyolo")
    x = inputs(1.5).requires_grad_(True)
    node = mod.mem_update()
    mems = []
    orig = node.qtrick.forward

    def spy(m):
        mems.append(m)
        return orig(m)

    node.qtrick.forward = spy
    c = node(x)
    h = torch.stack(mems)
    v = h - c.detach()  # the membrane after the reset, (mem_old - spike.detach()) in mem_update
    out = c / 4 if kind == "nilif" else c
    source = ("BICLab/SpikeYOLO@309ef5e ultralytics/nn/modules/yolo_spikformer.py mem_update "
              "with MultiSpike4 (decay 0.25, D 4, torch.round)")
    if kind == "nilif":
        source = ("no authors' code of NI-LIF found; " + source + ", its count divided by D = 4 "
                  "in this script")
    record(kind, source, x, out, v, {}, "v = h - C, the membrane after the (detached) reset; "
           "the import of yolo_spikformer.py stubs the model-building imports it does not use "
           "for mem_update (ultralytics, timm, einops, torchinfo, old SpikingJelly)")


if __name__ == "__main__":
    OUT = Path(sys.argv[1])
    torch.set_default_dtype(torch.float64)
    OUT.mkdir(parents=True, exist_ok=True)
    for fn in (clif, plif, klif, glif, psn, lambda: ilif("ilif"), lambda: ilif("nilif")):
        fn()
