r"""Surrogate gradients: the backward pass of the spike non-linearity.

The forward pass of a spike is always the Heaviside step :math:`s = H(x)` with
:math:`x = h - v_{th}` and strict :math:`x > 0`. Its derivative is zero almost everywhere, so
training replaces it by a smooth :math:`g(x)`. One neutral parameter, ``alpha`` (the sharpness),
describes every family; each backend adapter converts it to its library's own parameter.

.. math::

   \text{atan}: \frac{\alpha/2}{1 + (\pi \alpha x / 2)^2} \qquad
   \text{sigmoid}: \alpha\,\sigma(\alpha x)(1 - \sigma(\alpha x)) \qquad
   \text{fast\_sigmoid}: \frac{1}{(1 + \alpha |x|)^2}

   \text{triangle}: \alpha \max(0, 1 - \alpha |x|) \qquad
   \text{rectangle}: \alpha\,\mathbb{1}[|x| < \tfrac{1}{2\alpha}] \qquad
   \text{gaussian}: \frac{\alpha}{\sqrt\pi} e^{-(\alpha x)^2} \qquad
   \text{straight\_through}: 1

Where: :math:`x` is the distance of the charged membrane above threshold, :math:`\alpha > 0`
the sharpness, :math:`\sigma` the logistic function. ``atan``, ``sigmoid``, ``triangle``,
``rectangle`` and ``gaussian`` integrate to 1 over the real line (they are densities);
``fast_sigmoid`` integrates to :math:`2/\alpha`.
The formulas are computed in :mod:`step.surrogates`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from step.specs._base import Spec

SurrogateKind = Literal[
    "atan", "sigmoid", "fast_sigmoid", "triangle", "rectangle", "gaussian", "straight_through"
]

#: The sharpness each family gets when ``alpha`` is not given: the libraries' usual defaults
#: (SpikingJelly ATan(2), Sigmoid(4), PiecewiseQuadratic(1), Rect(1), Erf(2); snnTorch
#: fast_sigmoid(slope=25)).
DEFAULT_ALPHA: dict[str, float] = {
    "atan": 2.0,
    "sigmoid": 4.0,
    "fast_sigmoid": 25.0,
    "triangle": 1.0,
    "rectangle": 1.0,
    "gaussian": 2.0,
    "straight_through": 1.0,
}


class SurrogateSpec(Spec):
    """A surrogate-gradient family and its sharpness ``alpha`` (see the module docstring)."""

    kind: SurrogateKind = Field("atan", description="surrogate family")
    alpha: float | None = Field(
        None, description="sharpness (> 0); defaults per family, see DEFAULT_ALPHA"
    )

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, data: object) -> object:
        # ``surrogate: atan`` in YAML or ``--set surrogate=atan`` means the family's defaults.
        if isinstance(data, str):
            return {"kind": data}
        return data

    @model_validator(mode="after")
    def _default_alpha(self) -> SurrogateSpec:
        if self.alpha is None:
            object.__setattr__(self, "alpha", DEFAULT_ALPHA[self.kind])
        elif not self.alpha > 0:
            raise ValueError(f"alpha must be > 0 (the surrogate's sharpness), got {self.alpha}")
        return self
