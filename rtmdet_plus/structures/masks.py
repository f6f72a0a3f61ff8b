"""Instance masks as tensors."""

import torch
from torch import Tensor


def masks_as_tensor(masks, device, dtype: torch.dtype = torch.bool) -> Tensor:
    """(N, H, W) tensor of ``dtype`` on ``device`` from mmdet's ``BitmapMasks`` /
    ``PolygonMasks`` (rasterised by their ``to_tensor``) or from a tensor."""
    if hasattr(masks, 'to_tensor'):
        return masks.to_tensor(dtype=dtype, device=device)
    return masks.to(device=device, dtype=dtype)
