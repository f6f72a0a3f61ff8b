"""rtmdet_plus registries: children of mmdet's, in scope ``rtmdet_plus``.

With ``default_scope='rtmdet_plus'`` a config type is looked up here first and then in mmdet
(and mmengine), so our configs use mmdet's detector, losses and transforms where we add nothing.
From an mmdet-scoped project, ``type='rtmdet_plus.CSPNeXt'`` reaches our classes once
``custom_imports=dict(imports=['rtmdet_plus'])`` has run.

Every mmdet registry gets a child here, even where we register nothing: mmengine resolves the
default scope per registry, and a missing child would make the Runner fall back to mmengine's
root registry, which cannot see mmdet's types. ``locations`` names the module that registers
our types, so a registry imports it the first time it is asked for a type; the parent's locations
follow, because a lookup that falls through to mmdet reads mmdet's entries without importing
them (without this, ``DetLocalVisualizer`` is unknown unless something imported it before).

Names we register that mmdet (or mmcv) also has: in our scope they resolve to ours, in mmdet's
scope to mmdet's (``rtmdet_plus.X`` reaches ours from there). ``OVERRIDDEN_NAMES`` says why each
exists; the heads, neck, backbone and assigner load mmdet's checkpoints unchanged.
"""

from mmdet import registry as mmdet_registry
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import Registry

SCOPE = 'rtmdet_plus'
# the scope's package, for mmengine's inferencers (DetInferencer(model=<metafile name>,
# scope='rtmdet_plus')) and ``rtmdet_plus::`` config paths
MODULE2PACKAGE.setdefault(SCOPE, 'rtmdet_plus')

# registry name -> {type name also registered by mmdet / mmcv: why ours exists}
OVERRIDDEN_NAMES = {
    'model': {
        'CSPNeXt': 'written anew; same architecture and state-dict names as mmdet',
        'CSPNeXtPAFPN': 'written anew; same architecture and state-dict names as mmdet',
        'RTMDetHead': 'the head without ATSS machinery, with the batched assigner path',
        'RTMDetSepBNHead': 'the head without ATSS machinery, with the batched assigner path',
        'RTMDetInsHead': 'the instance head on our detection head, equal outputs to mmdet',
        'RTMDetInsSepBNHead': 'the instance head on our detection head, equal outputs to mmdet',
        'GlobalAveragePooling': "the classifiers' neck as mmpretrain's (mmdet's is its ReID "
        "neck's); same result on (N, C, H, W) maps",
    },
    'task util': {
        'DynamicSoftLabelAssigner': 'exact batched assignment (no per-image loop) beside '
        "mmdet's per-image one",
    },
    'dataset': {
        'CocoDataset': "mmdet's, with the annotation file and segmentations checked: errors "
        'naming the file, the annotation and the image',
    },
    'transform': {
        'LoadImageFromFile': "mmcv's, with errors naming a missing or undecodable image",
        'LoadAnnotations': "mmdet's, refusing masks drawn for another image size",
        'RandAugment': "the classifiers' as mmpretrain's (image only, its arguments); it refuses "
        "samples with boxes or masks, pointing to mmdet.RandAugment",
    },
}


def _child(name: str, parent: Registry, location: str = 'rtmdet_plus') -> Registry:
    return Registry(
        name, parent=parent, scope=SCOPE, locations=[location] + list(parent._locations)
    )


# Registries where rtmdet_plus registers types of its own.
MODELS = _child('model', mmdet_registry.MODELS, 'rtmdet_plus.models')
TASK_UTILS = _child('task util', mmdet_registry.TASK_UTILS, 'rtmdet_plus.models')
DATASETS = _child('dataset', mmdet_registry.DATASETS, 'rtmdet_plus.datasets')
TRANSFORMS = _child('transform', mmdet_registry.TRANSFORMS, 'rtmdet_plus.datasets')
METRICS = _child('metric', mmdet_registry.METRICS, 'rtmdet_plus.evaluation')
HOOKS = _child('hook', mmdet_registry.HOOKS, 'rtmdet_plus.engine')

# Registries that only pass lookups on to mmdet (see the module docstring).
RUNNERS = _child('runner', mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', mmdet_registry.LOOPS)
DATA_SAMPLERS = _child('data sampler', mmdet_registry.DATA_SAMPLERS)
MODEL_WRAPPERS = _child('model_wrapper', mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child('weight initializer', mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child('optimizer', mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child('optim_wrapper', mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(
    'optimizer constructor', mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS
)
PARAM_SCHEDULERS = _child('parameter scheduler', mmdet_registry.PARAM_SCHEDULERS)
EVALUATOR = _child('evaluator', mmdet_registry.EVALUATOR)
VISUALIZERS = _child('visualizer', mmdet_registry.VISUALIZERS)
VISBACKENDS = _child('vis_backend', mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child('log_processor', mmdet_registry.LOG_PROCESSORS)
# mmdet has no function registry (collate functions): ours passes lookups to mmengine's
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS)
