"""An event version of the embedded digits, made the way N-MNIST was recorded.

N-MNIST moved a camera along three saccades in front of still digits; an event camera reports
ON where a pixel brightens and OFF where it darkens. Here the digit itself moves one pixel per
step along a closed triangle (right, down, back up-left: :data:`SACCADE_MOVES`), and between two
consecutive positions every pixel whose brightness rises by more than ``threshold`` gives an ON
event (channel 0), every pixel that falls by more than ``threshold`` an OFF event (channel 1).
``T`` moves give ``[T, 2, H, W]`` binary frames.

Hand check: a 3x3 image with one bright pixel in the centre moved one pixel to the right gives
ON at the centre-right pixel and OFF at the centre.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from step.data._base import DataSplits
from step.data.digits import NATIVE_SIZE, SPLIT_SEED, digits_arrays, resize, split_arrays
from step.data.registry import register_dataset
from step.errors import InputError

#: One saccade cycle as (dy, dx) pixel moves; it returns to the start, so the digit stays put.
SACCADE_MOVES: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (-1, -1))
DEFAULT_THRESHOLD = 0.1


def shift(images: Tensor, dy: int, dx: int) -> Tensor:
    """Move ``[..., H, W]`` content by (dy, dx) pixels; what leaves is lost, zeros enter."""
    out = torch.zeros_like(images)
    H, W = images.shape[-2:]
    src_y = slice(max(0, -dy), H - max(0, dy))
    dst_y = slice(max(0, dy), H - max(0, -dy))
    src_x = slice(max(0, -dx), W - max(0, dx))
    dst_x = slice(max(0, dx), W - max(0, -dx))
    out[..., dst_y, dst_x] = images[..., src_y, src_x]
    return out


def saccade_positions(n_moves: int) -> list[tuple[int, int]]:
    """The ``n_moves + 1`` cumulative (dy, dx) offsets, starting at (0, 0)."""
    pos = [(0, 0)]
    for k in range(n_moves):
        dy, dx = SACCADE_MOVES[k % len(SACCADE_MOVES)]
        pos.append((pos[-1][0] + dy, pos[-1][1] + dx))
    return pos


def events_between(frames: Tensor, threshold: float) -> Tensor:
    """ON/OFF events between consecutive frames: ``[T+1, ..., H, W] -> [T, ..., 2, H, W]``."""
    if frames.shape[0] < 2:
        raise InputError("events need at least two frames")
    diff = frames[1:] - frames[:-1]
    on = (diff > threshold).to(frames.dtype)
    off = (diff < -threshold).to(frames.dtype)
    return torch.stack([on, off], dim=-3)


def saccade_events(images: Tensor, T: int, threshold: float = DEFAULT_THRESHOLD) -> Tensor:
    """Event frames of ``[N, 1, H, W]`` images moved along the saccade: ``[N, T, 2, H, W]``."""
    if T < 1:
        raise InputError(f"T must be >= 1, got {T}")
    grey = images[:, 0]
    frames = torch.stack([shift(grey, dy, dx) for dy, dx in saccade_positions(T)])
    return events_between(frames, threshold).transpose(0, 1).contiguous()


@register_dataset(
    "digits_events", layout="event", accepts=("img_size", "T"),
    description="digits moved along a saccade, ON/OFF event frames [T, 2, S, S] (embedded)",
)
def load_digits_events(root: Path | None = None, img_size: int = NATIVE_SIZE,
                       T: int = 4) -> DataSplits:
    """DVS-like digits: ``T`` binary ON/OFF frames per image."""
    images, labels = digits_arrays()
    events = saccade_events(resize(images, int(img_size)), int(T))
    train, val, test = split_arrays(events, labels)
    return DataSplits("digits_events", train, val, test, "event", 10, tuple(events.shape[1:]),
                      "sklearn digits as saccade events",
                      {"split_seed": SPLIT_SEED, "threshold": DEFAULT_THRESHOLD,
                       "saccade": [list(m) for m in SACCADE_MOVES]})
