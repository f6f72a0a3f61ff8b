"""rtmdet_plus.deploy.patches: one table of what rtmdet_plus changes in MMDeploy 1.3.1 (and in
``torch.onnx.export``), applied once, each target really replaced."""

import ast

import pytest
from mmengine.config import Config

import rtmdet_plus.deploy  # noqa: F401  (applies the patches)
from rtmdet_plus.deploy import patches
from rtmdet_plus.deploy.patches import PATCHES, REPLACES, WRAPS, Patch, apply_patches
from tests import REPO

DEPLOY = REPO / 'rtmdet_plus' / 'deploy'
# every attribute rtmdet_plus replaces, as the table must list it
EXPECTED_TARGETS = {
    'torch.onnx:export',
    'mmdeploy.codebase.mmdet.deploy.object_detection_model:End2EndModel.postprocessing_results',
    'mmdeploy.codebase.base.task:BaseTask.__init__',
    'mmdeploy.backend.sdk.export_info:get_postprocess',
    'mmdeploy.backend.sdk.export_info:get_pipeline',
    'mmdeploy.backend.tensorrt.backend_manager:TensorRTManager.build_wrapper',
    'mmdeploy.backend.tensorrt.backend_manager:TensorRTManager.to_backend',
    'mmdeploy.backend.openvino.backend_manager:OpenVINOManager.build_wrapper',
    'mmdeploy.backend.openvino.backend_manager:OpenVINOManager.to_backend',
}
# assignments to attributes of imported objects in rtmdet_plus/deploy that are not patches:
# (file, attribute) of those undone on the way out (a context manager's ``finally``)
TEMPORARY = {('quantization.py', 'onnxruntime.SessionOptions')}


def current(patch: Patch):
    return patches.stored(*patches.resolve(patch.target))


def assert_installed(patch: Patch, original) -> None:
    """The target holds our replacement of ``original``, made once (not a wrapper of one)."""
    now = current(patch)
    assert now is not original, f'{patch.target} is not replaced'
    if patch.how == WRAPS:
        assert now.__wrapped__ is original, f'{patch.target} wraps something else'
        # functools.wraps copies the original's names: the code tells whose it is
        assert now.__code__.co_filename == patch.by.__code__.co_filename, patch.target
    else:
        assert isinstance(now, classmethod) and now.__func__ is patch.by, patch.target


def test_table_lists_every_patch():
    targets = [patch.target for patch in PATCHES]
    assert len(targets) == len(set(targets)), 'a target is listed twice'
    assert set(targets) == EXPECTED_TARGETS
    for patch in PATCHES:
        assert patch.how in (WRAPS, REPLACES)
        assert patch.why and ('MMDeploy 1.3.1' in patch.versions or 'torch' in patch.versions)
        assert patch.by.__module__.startswith('rtmdet_plus.deploy.'), patch.by


def test_nothing_is_patched_outside_the_table():
    """No module of rtmdet_plus/deploy but patches.py assigns an attribute of something it
    imported (beyond TEMPORARY) or calls setattr; no module keeps an "already patched" mark."""
    found = set()
    for path in sorted(DEPLOY.rglob('*.py')):
        if path.name == 'patches.py':
            continue
        tree = ast.parse(path.read_text())
        imported = {
            (alias.asname or alias.name).split('.')[0]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'setattr':
                found.add((path.name, f'setattr at line {node.lineno}'))
            if isinstance(node, ast.Name) and node.id == '_MARK':
                found.add((path.name, f'_MARK at line {node.lineno}'))
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, (ast.AugAssign, ast.AnnAssign))
                else []
            )
            for target in targets:
                base = target
                while isinstance(base, ast.Attribute):
                    base = base.value
                if target is not base and isinstance(base, ast.Name) and base.id in imported:
                    found.add((path.name, ast.unparse(target)))
    assert found == TEMPORARY, f'patches outside rtmdet_plus/deploy/patches.py: {found - TEMPORARY}'


def test_docstring_shows_the_table():
    assert patches.render_table() in patches.__doc__, (
        'the module docstring is out of date: paste render_table() into it'
    )


def test_every_target_is_replaced():
    assert patches._applied
    for patch in PATCHES:
        if not patch.needed():
            assert patch.target not in patches.ORIGINALS
            continue
        original = patches.ORIGINALS[patch.target]
        assert_installed(patch, original)
        # the original is the library's own
        function = original.__func__ if isinstance(original, classmethod) else original
        assert function.__module__.split('.')[0] in ('mmdeploy', 'torch'), patch.target


@pytest.mark.parametrize(
    'deploy_cfg',
    sorted(path.name for path in (REPO / 'configs' / 'deploy').glob('*.py')),
)
def test_every_deploy_config_brings_the_patches_into_mmdeploys_subprocess(deploy_cfg):
    """MMDeploy exports in a spawned subprocess that gets only the config paths: the patches
    are in effect there because loading the deploy config (``custom_imports``) and MMDeploy's
    ``import_codebase`` (``codebase_config.module``) import ``rtmdet_plus.deploy``, whose import
    applies them. A deploy config without both would export with torch's dynamo exporter and
    without our rewriters."""
    cfg = Config.fromfile(str(REPO / 'configs' / 'deploy' / deploy_cfg))
    assert 'rtmdet_plus.deploy' in cfg.codebase_config.get('module', []), deploy_cfg
    assert 'rtmdet_plus.deploy' in cfg.get('custom_imports', {}).get('imports', []), deploy_cfg


def test_apply_patches_from_scratch_applies_each_once(monkeypatch):
    """With the library's originals back in place and the flag down, two calls install each
    replacement once."""
    for patch in PATCHES:
        if patch.target in patches.ORIGINALS:
            monkeypatch.setattr(*patches.resolve(patch.target), patches.ORIGINALS[patch.target])
    originals = dict(patches.ORIGINALS)
    monkeypatch.setattr(patches, 'ORIGINALS', {})
    monkeypatch.setattr(patches, '_applied', False)
    apply_patches()
    first = {patch.target: current(patch) for patch in PATCHES}
    apply_patches()
    for patch in PATCHES:
        assert current(patch) is first[patch.target]
        if patch.target in originals:
            assert_installed(patch, originals[patch.target])
    assert patches.ORIGINALS == originals


def test_a_missing_target_changes_nothing(monkeypatch):
    """A target this MMDeploy lacks raises before anything is replaced."""
    before = {patch.target: current(patch) for patch in PATCHES}
    bad = Patch(
        'mmdeploy.codebase.base.task:BaseTask.no_such_method',
        WRAPS,
        patches.task_scope.scoped_task_init,
        'MMDeploy 1.3.1',
        'a test',
    )
    monkeypatch.setattr(patches, 'PATCHES', PATCHES + (bad,))
    monkeypatch.setattr(patches, '_applied', False)
    with pytest.raises(AttributeError, match='no_such_method'):
        apply_patches()
    assert not patches._applied
    assert all(current(patch) is before[patch.target] for patch in PATCHES)
