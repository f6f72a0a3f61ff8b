"""The heads' public surface for export: the rewriters in ``rtmdet_plus/deploy`` touch no
private attribute of a head (checked on their source with ``ast``), and every head has the
documented public methods the rewriters rely on."""

import ast
import inspect

import pytest
import torch

from rtmdet_plus.models.dense_heads import (
    RotatedRTMDetHead,
    RotatedRTMDetSepBNHead,
    RTMDetHead,
    RTMDetInsHead,
    RTMDetInsSepBNHead,
    RTMDetSepBNHead,
)
from rtmdet_plus.models.dense_heads.rtmdet_head import DenseTargets
from rtmdet_plus.models.dense_heads.rtmdet_ins_head import COORD_NORM_STRIDES, relative_coordinates
from tests import REPO

DEPLOY_DIR = REPO / 'rtmdet_plus' / 'deploy'
# Attribute chains ending in these names are heads (``model.bbox_head._x`` is caught too).
HEAD_ATTRIBUTES = ('bbox_head', 'head')

BASE_SURFACE = (
    'strides',
    'box_pred_channels',
    'flat_priors',
    'flatten_levels',
    'decode_boxes',
    'rescale_boxes',
    'box_sizes',
)
SURFACE = {
    RTMDetHead: BASE_SURFACE,
    RTMDetSepBNHead: BASE_SURFACE,
    RTMDetInsHead: BASE_SURFACE + ('relative_coords', 'mask_logits'),
    RTMDetInsSepBNHead: BASE_SURFACE + ('relative_coords', 'mask_logits'),
    RotatedRTMDetHead: BASE_SURFACE + ('box_maps',),
    RotatedRTMDetSepBNHead: BASE_SURFACE + ('box_maps',),
}


def is_private(name: str) -> bool:
    return name.startswith('_') and not (name.startswith('__') and name.endswith('__'))


def rewritten_head_method(function: ast.AST) -> bool:
    """Whether ``function`` is registered as the rewriter of a method of one of our heads."""
    for decorator in getattr(function, 'decorator_list', []):
        if not isinstance(decorator, ast.Call):
            continue
        names = decorator.args[:1] + [k.value for k in decorator.keywords if k.arg == 'func_name']
        if any(isinstance(n, ast.Constant) and 'dense_heads' in str(n.value) for n in names):
            return True
    return False


def head_names(function) -> set:
    """Names in ``function`` holding a head: a parameter ``head`` or ``bbox_head``, ``self`` of
    a head rewriter, and local names assigned from one of those or from ``x.bbox_head``."""
    params = [arg.arg for arg in function.args.posonlyargs + function.args.args]
    names = {name for name in params if name in HEAD_ATTRIBUTES}
    if params and rewritten_head_method(function):
        names.add(params[0])
    for node in ast.walk(function):  # aliases, e.g. ``head = model.bbox_head``
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            root, attrs = chain_root(value)
            is_head = (isinstance(root, ast.Name) and root.id in names and not attrs) or (
                bool(attrs) and attrs[-1] in HEAD_ATTRIBUTES
            )
            if isinstance(target, ast.Name) and is_head:
                names.add(target.id)
    return names


def chain_root(node: ast.AST):
    """``a.b.c`` -> (the root node ``a``, ['b', 'c'])."""
    attrs = []
    while isinstance(node, ast.Attribute):
        attrs.append(node.attr)
        node = node.value
    return node, attrs[::-1]


def private_head_accesses(source: str, filename: str = '<source>') -> list:
    """``file:line name`` of every private attribute reached from a head in ``source``: on a
    head parameter (chains included, ``head.x._y``), after ``.bbox_head``, or by
    ``getattr(head, '_y')``."""
    found = []
    tree = ast.parse(source, filename)

    def check(node: ast.AST, heads: set) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute):
                root, attrs = chain_root(sub)
                from_head = isinstance(root, ast.Name) and root.id in heads
                for index, attr in enumerate(attrs):
                    after_head = from_head or any(name in HEAD_ATTRIBUTES for name in attrs[:index])
                    if after_head and is_private(attr):
                        found.append(f'{filename}:{sub.lineno} {attr}')
            elif (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id in ('getattr', 'setattr', 'hasattr')
                and len(sub.args) >= 2
                and isinstance(sub.args[0], ast.Name)
                and sub.args[0].id in heads
                and isinstance(sub.args[1], ast.Constant)
                and is_private(str(sub.args[1].value))
            ):
                found.append(f'{filename}:{sub.lineno} {sub.args[1].value}')

    functions = [
        node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    for function in functions:
        check(function, head_names(function))
    check(tree, set())  # module level: ``.bbox_head._x`` chains
    return sorted(set(found))


def deploy_sources():
    return sorted(DEPLOY_DIR.rglob('*.py'))


def test_checker_finds_private_accesses():
    source = '''
from mmdeploy.core import FUNCTION_REWRITER

@FUNCTION_REWRITER.register_rewriter(func_name='rtmdet_plus.models.dense_heads.x.H.predict')
def rewriter(self, cls_scores):
    return self._flat_priors(cls_scores), self.flat_priors(cls_scores)

def helper(head, model):
    getattr(head, '_decode_boxes')
    head.prior_generator._private
    model.bbox_head._box_maps
    return head.decode_boxes, head.__class__

def unrelated(self):
    return self._fine

@FUNCTION_REWRITER.register_rewriter('rtmdet_plus.models.dense_heads.x.H.loss')
def positional(ctx_self, x):
    return ctx_self._targets(x)

def aliased(model):
    decoder = model.bbox_head
    return decoder._mask_maps()
'''
    found = [entry.split(' ')[1] for entry in private_head_accesses(source)]
    assert sorted(found) == [
        '_box_maps',
        '_decode_boxes',
        '_flat_priors',
        '_mask_maps',
        '_private',
        '_targets',
    ]


def test_deploy_modules_use_no_private_head_attributes():
    sources = deploy_sources()
    assert any(path.parent.name == 'dense_heads' for path in sources)
    offences = []
    for path in sources:
        offences += private_head_accesses(path.read_text(), str(path.relative_to(REPO)))
    assert not offences, (
        'rtmdet_plus/deploy reaches into private head attributes; use the '
        f'public surface of the heads instead: {offences}'
    )


def test_every_head_rewriter_is_checked():
    """The checker sees the three ``predict_by_feat`` rewriters (one per head family)."""
    rewriters = []
    for path in deploy_sources():
        tree = ast.parse(path.read_text())
        rewriters += [
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and rewritten_head_method(node)
        ]
    assert len(rewriters) >= 3, rewriters


def test_rewriters_use_only_existing_public_head_attributes():
    """Every attribute the deploy modules read on a head exists on some head and is public."""
    used = set()
    for path in deploy_sources():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            heads = head_names(function)
            for sub in ast.walk(function):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Name)
                    and sub.value.id in heads
                ):
                    used.add(sub.attr)
    assert {
        'flat_priors',
        'flatten_levels',
        'decode_boxes',
        'box_sizes',
        'box_maps',
        'relative_coords',
    } <= used
    heads = [head() for head in (detection_head, instance_head, rotated_head)]
    missing = sorted(name for name in used if not any(hasattr(head, name) for head in heads))
    assert not missing
    assert not [name for name in used if is_private(name)]


# ------------------------------------------------------------------------------ surface
def detection_head():
    return RTMDetSepBNHead(
        num_classes=3,
        in_channels=8,
        feat_channels=8,
        stacked_convs=1,
        test_cfg=dict(
            nms_pre=100, score_thr=0.05, max_per_img=10, nms=dict(type='nms', iou_threshold=0.6)
        ),
    )


def instance_head():
    return RTMDetInsSepBNHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1)


def rotated_head():
    return RotatedRTMDetSepBNHead(num_classes=3, in_channels=8, feat_channels=8, stacked_convs=1)


@pytest.mark.parametrize('cls', list(SURFACE), ids=lambda cls: cls.__name__)
def test_public_surface_exists_and_is_documented(cls):
    """Each surface member is public, exists, and its docstring states shapes ``(...)`` and
    units (pixels; ``flatten_levels`` only moves values)."""
    for name in SURFACE[cls]:
        member = next((vars(base)[name] for base in cls.__mro__ if name in vars(base)), None)
        assert member is not None, f'{cls.__name__}.{name} is missing'
        func = member.fget if isinstance(member, property) else getattr(member, '__func__', member)
        doc = inspect.getdoc(func) or ''
        assert doc.strip(), f'{cls.__name__}.{name} has no docstring'
        if name != 'strides':
            assert '(' in doc, f'{cls.__name__}.{name}: the docstring should state shapes'
        if name != 'flatten_levels':
            assert 'pixel' in doc, f'{cls.__name__}.{name}: the docstring should state units'
    if cls in (RTMDetHead, RTMDetInsHead, RotatedRTMDetHead):  # each family says what it adds
        doc = inspect.getdoc(cls)
        assert 'public surface' in doc.lower()
        if cls is RTMDetHead:
            assert 'Extension points' in doc


def test_surface_shapes_detection_and_rotated():
    sizes = [(4, 4), (2, 2), (1, 1)]
    for head, box_dim in ((detection_head(), 4), (rotated_head(), 5)):
        priors = head.flat_priors(sizes, device='cpu')
        assert priors.shape == (21, 4)
        assert torch.equal(priors[:16, 2:], torch.full((16, 2), 8.0))
        maps = [torch.rand(2, head.box_pred_channels, h, w) for h, w in sizes]
        flat = head.flatten_levels(maps, head.box_pred_channels)
        assert flat.shape == (2, 21, head.box_pred_channels)
        assert torch.equal(flat[1, 16 + 3], maps[1][1, :, 1, 1])
        boxes = head.decode_boxes(priors[:, :2], flat)
        assert boxes.shape == (2, 21, box_dim)
        assert head.box_sizes(boxes).shape == (2, 21, 2)
    rotated = rotated_head()
    stacked = rotated.box_maps([torch.rand(2, 4, 3, 3)], [torch.rand(2, 1, 3, 3)])
    assert stacked[0].shape == (2, rotated.box_pred_channels, 3, 3)


def test_relative_coordinates_one_function_for_head_and_export():
    head = instance_head()
    priors = torch.tensor([[12.0, 20.0, 8.0, 8.0], [40.0, 8.0, 16.0, 16.0]])
    rel = head.relative_coords(priors, (3, 4))
    grid_y, grid_x = torch.meshgrid(torch.arange(3.0) * 8, torch.arange(4.0) * 8, indexing='ij')
    expected_x = (priors[:, :1] - grid_x.reshape(1, -1)) / (priors[:, 2:3] * COORD_NORM_STRIDES)
    expected_y = (priors[:, 1:2] - grid_y.reshape(1, -1)) / (priors[:, 2:3] * COORD_NORM_STRIDES)
    assert torch.allclose(rel, torch.stack([expected_x, expected_y], 1))
    # batched priors (the export layout) give the same per instance
    batched = head.relative_coords(priors[None].expand(2, -1, -1), (3, 4))
    assert torch.equal(batched[1], rel)
    points = torch.stack([grid_x.flatten(), grid_y.flatten()], 1)
    assert torch.equal(relative_coordinates(priors, points), rel)


def test_targets_are_named():
    assert DenseTargets._fields == (
        'labels',
        'label_weights',
        'box_targets',
        'assign_metrics',
        'matched_gt',
    )
