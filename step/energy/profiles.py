"""Hardware profiles: the energy constants, named and versioned, as YAML files.

A profile is data, not code, so a result can say exactly which constants produced it
(``45nm`` version 1) and a user can bring their own chip as a YAML file. The built-in profiles
live in ``step/energy/profiles/*.yaml``; :func:`load_profile` takes a built-in name or a path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from step.errors import SpecError
from step.specs import Spec, load_yaml

PROFILE_DIR = Path(__file__).with_name("profiles")


class HardwareProfile(Spec):
    """Energy constants of one hardware target (all energies in pJ, all widths in bits).

    The same constants price the SNN, the quantised ANN and the full-precision ANN, so the
    comparison isolates what each network counts. ``weight_fetch`` and ``delivery`` choose the
    accounting style: a processor reads every weight once per time step and stores each layer's
    output once (``per_step`` / ``per_source``); a neuromorphic core touches a weight only when
    an event reaches its synapse and delivers every event to every synapse it drives
    (``per_event`` / ``per_synapse``, the per-weight view of Yan et al. 2024).
    """

    name: str = Field(description="short name, as given to --profile")
    version: str = Field(description="bumped whenever a constant changes, so results can cite it")
    description: str = ""
    source: str = Field("", description="where the constants come from")
    e_mac_pj: float = Field(ge=0, description="one multiply-accumulate (dense layers, QNN, ANN)")
    e_ac_pj: float = Field(ge=0, description="one accumulate (a spike or set bit at a synapse)")
    e_mem_pj_per_bit: float = Field(ge=0, description="state memory: membranes, written outputs")
    e_weight_pj_per_bit: float = Field(ge=0, description="reading one weight or bias bit")
    e_move_sparse_pj_per_bit: float = Field(ge=0, description="moving one event bit one hop")
    e_move_dense_pj_per_bit: float = Field(ge=0, description="moving one dense bit one hop")
    hops: float = Field(1.0, ge=0, description="average hops a moved bit travels")
    weight_bits: int = Field(ge=1, le=64, description="weights of the SNN and the QNN")
    membrane_bits: int = Field(ge=1, le=64, description="SNN membrane, read and written every step")
    input_bits: int = Field(ge=1, le=64, description="real-valued inputs (pixels, membranes)")
    ann_bits: int = Field(32, ge=1, le=64, description="full-precision ANN weights and activations")
    spike_bits: int = Field(1, ge=1, le=64, description="bits one spike event carries")
    weight_fetch: Literal["per_step", "per_event"]
    delivery: Literal["per_source", "per_synapse"]


def list_profiles() -> list[str]:
    """Names of the built-in profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(profile: str | Path | HardwareProfile) -> HardwareProfile:
    """A built-in profile by name, or a user profile from a ``.yaml`` file.

    Unknown names and invalid files raise :class:`~step.errors.SpecError` with one line that
    says what to fix.
    """
    if isinstance(profile, HardwareProfile):
        return profile
    text = str(profile)
    path = PROFILE_DIR / f"{text}.yaml"
    if not path.is_file():
        if not text.endswith((".yaml", ".yml")):
            raise SpecError(
                f"unknown energy profile {text!r}: choose one of {', '.join(list_profiles())} "
                "or give a .yaml file"
            )
        path = Path(text)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise SpecError(f"energy profile {path} must be a mapping of constants")
    return HardwareProfile.parse(data, what=f"energy profile {path}")
