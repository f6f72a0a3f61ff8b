"""Per-instance (dynamic) 1x1 conv stacks on shared mask prototypes, as in CondInst/RTMDet-Ins."""

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


class DynamicMaskConvs:
    """Layout and application of ``num_layers`` generated 1x1 convs that turn an instance's
    relative coordinates and the image's mask prototypes into one mask-logit map.

    Layer 0 takes ``2 + num_prototypes`` channels (relative x, relative y, prototypes), the
    following layers ``hidden_channels``; the last has one output channel; ReLU between layers.
    An instance's flat parameter vector holds all weights (layer by layer, each (out, in)
    row-major) followed by all biases, as mmdet lays them out.

    Args:
        num_prototypes: prototype channels K.
        hidden_channels: channels of the intermediate layers.
        num_layers: number of 1x1 convs (>= 1).
    """

    def __init__(self, num_prototypes: int, hidden_channels: int, num_layers: int) -> None:
        if num_layers < 1:
            raise ValueError(f'num_layers (num_dyconvs) must be >= 1, got {num_layers}')
        self.shapes: List[Tuple[int, int]] = []  # (out, in) per layer
        for layer in range(num_layers):
            layer_in = num_prototypes + 2 if layer == 0 else hidden_channels
            layer_out = 1 if layer == num_layers - 1 else hidden_channels
            self.shapes.append((layer_out, layer_in))
        self.weight_sizes = [out * inp for out, inp in self.shapes]
        self.bias_sizes = [out for out, _ in self.shapes]

    @property
    def num_params(self) -> int:
        """Length of one instance's parameter vector."""
        return sum(self.weight_sizes) + sum(self.bias_sizes)

    def split(self, params: Tensor) -> Tuple[List[Tensor], List[Tensor]]:
        """(N, num_params) -> per layer weights (N, out, in) and biases (N, out)."""
        if params.shape[-1] != self.num_params:
            raise ValueError(
                f'expected {self.num_params} dynamic parameters per instance, '
                f'got {params.shape[-1]}'
            )
        chunks = torch.split(params, self.weight_sizes + self.bias_sizes, dim=-1)
        num_layers = len(self.shapes)
        weights = [
            chunk.reshape(-1, out, inp)
            for chunk, (out, inp) in zip(chunks[:num_layers], self.shapes)
        ]
        return weights, list(chunks[num_layers:])

    def __call__(
        self, params: Tensor, rel_coords: Tensor, prototypes: Tensor, image_index: Tensor
    ) -> Tensor:
        """Mask logits of every instance.

        The first layer is applied to coordinates and prototypes separately (it is linear), so
        the prototypes are never copied per instance.

        Args:
            params: (N, num_params) generated parameters.
            rel_coords: (N, 2, H*W) relative x, y of every location to the instance's prior.
            prototypes: (B, K, H, W) prototypes of the batch.
            image_index: (N,) image of each instance.

        Returns:
            (N, H, W) mask logits.
        """
        height, width = prototypes.shape[-2:]
        num_inst = params.shape[0]
        weights, biases = self.split(params)
        first = weights[0]  # (N, C, 2 + K)
        x = torch.baddbmm(biases[0].unsqueeze(-1), first[..., :2], rel_coords)  # (N, C, H*W)
        flat_protos = prototypes.flatten(2)  # (B, K, H*W)
        for image in image_index.unique().tolist():
            members = (image_index == image).nonzero().squeeze(1)
            x = x.index_add(0, members, torch.matmul(first[members, :, 2:], flat_protos[image]))
        for layer in range(1, len(weights)):
            x = torch.baddbmm(biases[layer].unsqueeze(-1), weights[layer], F.relu(x))
        return x.reshape(num_inst, height, width)
