"""Our ConvNeXt equals mmpretrain 1.2.0's: names and shapes for every arch, outputs, gradients,
stochastic-depth rates, freezing; activation checkpointing saves memory; mmdet's layer-wise lr
decay recognises it."""

import pytest
import torch

from rtmdet_plus.models.backbones import ConvNeXt
from rtmdet_plus.models.backbones.convnext import ARCH_SETTINGS
from tools.analysis_tools.benchmarking import saved_for_backward_mib


@pytest.fixture(scope='module')
def reference_cls():
    from tools.analysis_tools.mmpretrain_oracle import import_mmpretrain_models

    try:
        models = import_mmpretrain_models()
    except ImportError as error:
        pytest.skip(f'mmpretrain 1.2.0 is the oracle here: {error}')
    return models.backbones.ConvNeXt


def shapes(module: torch.nn.Module) -> dict:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


def perturb_(model: torch.nn.Module, seed: int = 0) -> dict:
    """Move every float tensor by noise (layer scales away from 1e-6) and return the state."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
    return model.state_dict()


@pytest.mark.parametrize('arch', list(ARCH_SETTINGS))
def test_state_dict_equals_mmpretrain_for_every_arch(reference_cls, arch):
    ours = ConvNeXt(arch, out_indices=[1, 2, 3], gap_before_final_norm=False)
    theirs = reference_cls(arch, out_indices=[1, 2, 3], gap_before_final_norm=False)
    assert list(shapes(ours)) == list(shapes(theirs))
    assert shapes(ours) == shapes(theirs)


@pytest.mark.parametrize('gap', [False, True])
def test_outputs_and_gradients_equal_mmpretrain(reference_cls, gap):
    kwargs = dict(
        arch=dict(depths=[2, 2, 3, 2], channels=[32, 64, 96, 128]),
        out_indices=[0, 1, 2, 3],
        gap_before_final_norm=gap,
        layer_scale_init_value=1.0,
    )
    ours, theirs = ConvNeXt(**kwargs), reference_cls(**kwargs)
    ours.load_state_dict(perturb_(theirs), strict=True)
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    our_outs, their_outs = ours(images), theirs(images)
    expected = [
        (2, c) if gap else (2, c, 16 // 2**i, 16 // 2**i)
        for i, c in enumerate(kwargs['arch']['channels'])
    ]
    assert [tuple(o.shape) for o in our_outs] == expected
    for ours_out, theirs_out in zip(our_outs, their_outs):
        torch.testing.assert_close(ours_out, theirs_out, atol=1e-5, rtol=1e-5)
    sum(o.square().sum() for o in our_outs).backward()
    sum(o.square().sum() for o in their_outs).backward()
    their_params = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        torch.testing.assert_close(param.grad, their_params[name].grad, atol=1e-4, rtol=1e-4)


def test_stochastic_depth_rates_and_layer_scale_equal_mmpretrain(reference_cls):
    ours, theirs = (
        cls('tiny', drop_path_rate=0.7, layer_scale_init_value=1.0)
        for cls in (ConvNeXt, reference_cls)
    )
    rates = [getattr(block.drop_path, 'drop_prob', 0.0) for stage in ours.stages for block in stage]
    their_rates = [
        getattr(block.drop_path, 'drop_prob', 0.0) for stage in theirs.stages for block in stage
    ]
    assert rates == pytest.approx(their_rates)
    assert rates[0] == 0 and rates[-1] == pytest.approx(0.7) and len(rates) == 18
    assert all(torch.all(block.gamma == 1.0) for stage in ours.stages for block in stage)
    # In training a dropped residual leaves the input unchanged for that image.
    block = ours.stages[3][2]
    block.train()
    torch.manual_seed(0)
    x = torch.randn(64, 768, 2, 2)
    unchanged = (block(x) == x).flatten(1).all(1)
    assert 0.5 < unchanged.float().mean() < 0.9  # drop probability 0.7


def test_frozen_stages_stay_frozen_in_train_mode():
    model = ConvNeXt(dict(depths=[1, 1, 1, 1], channels=[8, 16, 24, 32]), frozen_stages=2)
    model.train()
    for i in range(4):
        frozen = i < 2
        for module in (model.downsample_layers[i], model.stages[i]):
            assert all(p.requires_grad != frozen for p in module.parameters()), i
            assert module.training != frozen, i


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="'huge'"):
        ConvNeXt('huge')
    with pytest.raises(ValueError, match='out_indices'):
        ConvNeXt('tiny', out_indices=[4])
    with pytest.raises(ValueError, match='LN2d'):
        ConvNeXt('tiny', norm_cfg=dict(type='BN'))


def test_activation_checkpointing_saves_memory_and_keeps_gradients():
    arch = dict(depths=[2, 2, 2, 2], channels=[32, 64, 96, 128])
    plain, checkpointed = (
        ConvNeXt(arch, out_indices=[1, 2, 3], gap_before_final_norm=False, with_cp=with_cp)
        for with_cp in (False, True)
    )
    checkpointed.load_state_dict(perturb_(plain))
    images = torch.randn(2, 3, 128, 128)
    plain_mib = saved_for_backward_mib(lambda: sum(o.sum() for o in plain(images)))
    checkpointed_mib = saved_for_backward_mib(lambda: sum(o.sum() for o in checkpointed(images)))
    assert checkpointed_mib < 0.5 * plain_mib, (plain_mib, checkpointed_mib)
    their_params = dict(plain.named_parameters())
    for name, param in checkpointed.named_parameters():
        torch.testing.assert_close(param.grad, their_params[name].grad, atol=1e-5, rtol=1e-5)


def test_imagenet_checkpoint_initialises_the_backbone_by_prefix(tmp_path):
    """An mmpretrain classifier checkpoint (``backbone.*``, ``head.fc.*``; its one final norm is
    ``norm3``) initialises the detection backbone through ``init_cfg=dict(type='Pretrained',
    prefix='backbone.')``: every tensor the checkpoint has for it is loaded."""
    arch = dict(depths=[1, 1, 2, 1], channels=[16, 32, 48, 64])
    classifier_backbone = ConvNeXt(arch)  # out_indices=-1: norm3 only, as on ImageNet
    weights = perturb_(classifier_backbone, seed=3)
    checkpoint = dict(
        state_dict={
            **{f'backbone.{k}': v for k, v in weights.items()},
            'head.fc.weight': torch.randn(10, 64),
            'head.fc.bias': torch.randn(10),
        }
    )
    path = tmp_path / 'convnext_in1k.pth'
    torch.save(checkpoint, path)
    detector_backbone = ConvNeXt(
        arch,
        out_indices=[1, 2, 3],
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'),
    )
    detector_backbone.init_weights()
    loaded = detector_backbone.state_dict()
    for name, value in weights.items():
        assert torch.equal(loaded[name], value), name
    assert {'norm1.weight', 'norm2.weight'} <= set(loaded) - set(weights)
