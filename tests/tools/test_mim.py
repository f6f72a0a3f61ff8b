"""openmim packaging: ``mim train rtmdet_plus CONFIG`` and the wheel's ``rtmdet_plus/.mim`` folder.

setup.py lays out ``rtmdet_plus/.mim/{configs,tools,model-index.yml}``: symbolic links for a
development install (what the Makefile does), copies for a wheel. mim finds a config by file
name inside that folder and runs ``.mim/tools/train.py``.
"""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests import REPO
from tests.helpers import write_tiny_coco
from tests.helpers.mim import installed_location, mim_env

CONFIG_NAME = 'rtmdet_tiny_8xb32-300e_coco.py'


def data_options(data_root: Path) -> list:
    """--cfg-options pointing the full RTMDet-tiny recipe at the tiny dataset, one epoch."""
    options = [
        'model.backbone.init_cfg=None',
        'model.bbox_head.num_classes=2',
        'train_cfg.max_epochs=1',
        'train_dataloader.batch_size=2',
        f'val_evaluator.ann_file={data_root}/ann.json',
    ]
    for loader in ('train_dataloader', 'val_dataloader'):
        options += [
            f'{loader}.dataset.data_root={data_root}/',
            f'{loader}.dataset.ann_file=ann.json',
            f'{loader}.dataset.data_prefix.img=images/',
            f'{loader}.dataset.metainfo.classes=(square,bar)',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    return options


def run_mim_train(tmp_path: Path, env: dict) -> tuple:
    data_root = write_tiny_coco(tmp_path / 'data', num_images=4)
    work_dir = tmp_path / 'work'
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'mim',
            'train',
            'rtmdet_plus',
            CONFIG_NAME,
            '--work-dir',
            str(work_dir),
            '--cfg-options',
        ]
        + data_options(data_root),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout, work_dir


def test_mim_train_with_develop_install(tmp_path):
    location = installed_location()
    mim_tools = location / 'rtmdet_plus' / '.mim' / 'tools'
    if not (mim_tools / 'train.py').exists():
        pytest.skip(f'{mim_tools} is missing: the package was not installed in develop mode')
    log, work_dir = run_mim_train(tmp_path, mim_env())
    assert 'find the config file in codebase rtmdet_plus' in log
    assert str(mim_tools / 'train.py') in log  # mim ran the packaged training script
    assert 'Training finished successfully' in log
    assert (work_dir / 'epoch_1.pth').is_file()


@pytest.fixture(scope='module')
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the repository (building lays out .mim in the tree)."""
    root = tmp_path_factory.mktemp('wheel')
    source = root / 'src'
    shutil.copytree(
        REPO,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            '.venv',
            '.git',
            'work_dirs',
            'data',
            'tests',
            'build',
            'dist',
            '*.egg-info',
            '__pycache__',
            '*.pth',
            '.pytest_cache',
        ),
    )
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '--no-deps',
            '--no-build-isolation',
            str(source),
            '-w',
            str(root / 'dist'),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    wheels = list((root / 'dist').glob('rtmdet_plus-*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_contains_mim_folder(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f'rtmdet_plus/.mim/configs/rtmdet/{CONFIG_NAME}' in names
    assert 'rtmdet_plus/.mim/tools/train.py' in names
    assert 'rtmdet_plus/.mim/model-index.yml' in names
    # every config (with the _base_ files it inherits) and every top-level tool is shipped
    for path in (REPO / 'configs').rglob('*'):
        if path.suffix in ('.py', '.yml'):
            relative = path.relative_to(REPO).as_posix()
            assert f'rtmdet_plus/.mim/{relative}' in names, f'{relative} missing from the wheel'
    for path in (REPO / 'tools').glob('*'):
        if path.suffix in ('.py', '.sh'):
            assert f'rtmdet_plus/.mim/tools/{path.name}' in names
    assert not any('__pycache__' in name for name in names)


def test_mim_train_with_wheel_install(wheel, tmp_path):
    target = tmp_path / 'site'
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'install',
            '--no-deps',
            '--no-index',
            '--target',
            str(target),
            str(wheel),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (target / 'rtmdet_plus' / '.mim' / 'tools' / 'train.py').is_file()
    log, work_dir = run_mim_train(tmp_path, mim_env(pythonpath=str(target)))
    assert str(target / 'rtmdet_plus' / '.mim' / 'tools' / 'train.py') in log
    assert 'Training finished successfully' in log
    assert (work_dir / 'epoch_1.pth').is_file()


SHAPES_CONFIG = 'rtmdet_tiny_1xb4-12e_shapes.py'
# Run by the wheel's Python from the empty folder: random-weight checkpoints of the COCO models,
# then DetInferencer by metafile name (detection and instance segmentation).
INFERENCER_SCRIPT = '''
import sys
import torch
import rtmdet_plus
from mmdet.apis import DetInferencer
from mmengine.config import Config
from mmengine.registry import DefaultScope
from rtmdet_plus.registry import MODELS
from rtmdet_plus.utils.paths import package_config
for name in ('rtmdet_tiny_8xb32-300e_coco', 'rtmdet-ins_tiny_8xb32-300e_coco'):
    cfg = Config.fromfile(package_config(f'rtmdet/{name}.py'))
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('rtmdet_plus'):
        model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), f'{name}.pth')
    inferencer = DetInferencer(model=name, weights=f'{name}.pth', scope='rtmdet_plus',
                               device='cpu')
    out = inferencer(sys.argv[1], return_vis=False, no_save_vis=True, no_save_pred=True)
    prediction = out['predictions'][0]
    print(name, type(inferencer.model.bbox_head).__module__, len(prediction['scores']),
          'masks' in prediction)
'''
DEPLOY_SCRIPT = '''
import sys
from rtmdet_plus.deploy import export_and_run_sdk
from rtmdet_plus.deploy.apis import DEFAULT_DEPLOY_CFG
result = export_and_run_sdk(sys.argv[1], sys.argv[2], sys.argv[3], 'export')
print('deploy config', DEFAULT_DEPLOY_CFG, 'SDK detections', len(result))
'''


@pytest.fixture(scope='module')
def wheel_python(wheel, tmp_path_factory) -> Path:
    """The Python of a scratch virtual environment with the wheel installed (``--no-deps``).
    The built environment's packages are seen through a ``.pth`` line, so its development
    install of rtmdet_plus (a ``.pth`` inside that folder, not processed) is not."""
    import sysconfig

    root = tmp_path_factory.mktemp('wheel_venv')
    subprocess.run(
        [sys.executable, '-m', 'venv', '--without-pip', str(root / 'venv')], check=True, timeout=120
    )
    python = root / 'venv' / 'bin' / 'python'
    site = subprocess.check_output(
        [str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], text=True
    ).strip()
    Path(site, 'built_environment.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    proc = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            '--python',
            str(python),
            'install',
            '--no-deps',
            '--no-index',
            str(wheel),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    return python


def run_in(folder: Path, python: Path, *args, timeout: int = 600) -> str:
    """Run ``python args`` in ``folder`` without PYTHONPATH; returns the output (fails the
    test with it on a non-zero exit)."""
    proc = subprocess.run(
        [str(python), *map(str, args)],
        cwd=folder,
        env=mim_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    return proc.stdout


def test_wheel_install_works_from_an_empty_folder(wheel_python, tmp_path):
    """What a user of the installed wheel runs, from a folder of their own: ``mim train`` of a
    shapes config on generated data, ``mim test``, the deploy API with its default deploy
    config, ``mim run rtmdet_plus infer`` on the exported folder, and DetInferencer by
    metafile name with local checkpoints."""
    folder = tmp_path / 'project'
    folder.mkdir()
    location = run_in(folder, wheel_python, '-c', 'import rtmdet_plus; print(rtmdet_plus.__file__)')
    assert str(wheel_python.parent.parent) in location, location  # the wheel, not the checkout
    run_in(
        folder,
        wheel_python,
        '-c',
        (
            'from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset; '
            "generate_shapes_dataset('data/shapes', ShapesConfig(img_size=192, num_train=8, "
            "num_val=4, classes=('ellipse', 'rectangle', 'triangle', 'star')))"
        ),
    )
    options = [
        'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
    ]
    log = run_in(
        folder,
        wheel_python,
        '-m',
        'mim',
        'train',
        'rtmdet_plus',
        SHAPES_CONFIG,
        '--work-dir',
        'work',
        '--cfg-options',
        *options,
    )
    assert 'Training finished successfully' in log
    checkpoint = folder / 'work' / 'epoch_1.pth'
    assert checkpoint.is_file()
    log = run_in(
        folder,
        wheel_python,
        '-m',
        'mim',
        'test',
        'rtmdet_plus',
        SHAPES_CONFIG,
        '--checkpoint',
        checkpoint,
        '--cfg-options',
        *options[3:],
    )
    assert re.search(r'coco/bbox_mAP: -?\d\.\d+', log), log[-3000:]

    image = next((folder / 'data' / 'shapes' / 'val').glob('*.jpg'))
    log = run_in(
        folder,
        wheel_python,
        '-c',
        DEPLOY_SCRIPT,
        folder / 'work' / SHAPES_CONFIG,
        checkpoint,
        image,
    )
    assert re.search(
        r'deploy config \S+/rtmdet_plus/\.mim/configs/deploy/'
        r'detection_onnxruntime_static\.py SDK detections \d+',
        log,
    ), log[-3000:]
    assert (folder / 'export' / 'end2end.onnx').is_file()
    # the exported folder through the installed tools/infer.py
    log = run_in(
        folder,
        wheel_python,
        '-m',
        'mim',
        'run',
        'rtmdet_plus',
        'infer',
        folder / 'data' / 'shapes' / 'val',
        folder / 'work' / SHAPES_CONFIG,
        '--model',
        'export',
        '--backend',
        'onnxruntime',
        '--out-dir',
        'outputs',
    )
    assert re.search(r'4 image\(s\) in .*images/s, onnxruntime', log), log[-3000:]
    assert len(list((folder / 'outputs' / 'preds').glob('*.json'))) == 4

    log = run_in(folder, wheel_python, '-c', INFERENCER_SCRIPT, image)
    for name, masks in (
        ('rtmdet_tiny_8xb32-300e_coco', 'False'),
        ('rtmdet-ins_tiny_8xb32-300e_coco', 'True'),
    ):
        assert re.search(
            rf'^{name} rtmdet_plus\.models\.dense_heads\.\S+ \d+ {masks}$', log, re.MULTILINE
        ), log[-3000:]
