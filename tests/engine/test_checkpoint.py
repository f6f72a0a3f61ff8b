"""Safe checkpoint loading (rtmdet_plus.utils.checkpoint) and its hooks into mmengine.

Checkpoints are produced the way mmengine's Runner writes them (a 2-iteration run of a toy
model with EMA, schedulers and the message hub), and loaded through every mmengine entry
point: ``CheckpointLoader``, ``load_checkpoint``, the Runner's ``load_from`` / ``resume`` and
``init_cfg=dict(type='Pretrained')``.
"""

import io
import os
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel, BaseModule
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from torch.utils.data import Dataset

import rtmdet_plus.utils  # noqa: F401  (registers the safe loaders)
from rtmdet_plus.utils import (
    CheckpointDownloadError,
    UnsafeCheckpointError,
    checkpoint_cache_path,
    load_checkpoint_file,
)


class ToyModel(BaseModel):
    """y = fc(bn(x)); the loss is the squared error."""

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.bn = nn.BatchNorm1d(2)
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(self.bn(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((out - labels) ** 2).mean())
        return out


class ToyDataset(Dataset):
    metainfo = dict(classes=('a', 'b'), palette=[(1, 2, 3), (4, 5, 6)])

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.tensor([float(index), 1.0]), labels=torch.tensor(index / 8))


def toy_runner(work_dir: Path, max_iters: int, name: str, **kwargs) -> Runner:
    kwargs.setdefault('custom_hooks', [dict(type='EMAHook')])
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=name,
        train_dataloader=dict(
            dataset=ToyDataset(),
            batch_size=4,
            num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate'),
        ),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
            logger=dict(type='LoggerHook', interval=1),
        ),
        randomness=dict(seed=0),
        default_scope='mmengine',
        **kwargs,
    )


@pytest.fixture(scope='module')
def runner_checkpoint(tmp_path_factory):
    """``iter_2.pth`` of a 2-iteration toy Runner run."""
    work_dir = tmp_path_factory.mktemp('toy_run')
    toy_runner(work_dir, 2, 'toy_first').train()
    return work_dir / 'iter_2.pth'


def test_runner_checkpoint_needs_the_allow_list(runner_checkpoint):
    """The premise: plain torch.load (weights_only=True) refuses mmengine's metadata."""
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(runner_checkpoint)


def test_runner_checkpoint_loads_with_metadata(runner_checkpoint):
    checkpoint = CheckpointLoader.load_checkpoint(str(runner_checkpoint))
    assert {
        'meta',
        'state_dict',
        'message_hub',
        'optimizer',
        'param_schedulers',
        'ema_state_dict',
    } <= set(checkpoint)
    assert checkpoint['meta']['iter'] == 2
    assert checkpoint['meta']['dataset_meta']['classes'] == ('a', 'b')
    loss = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss, HistoryBuffer)
    values, counts = loss.data
    assert len(values) == 2 and np.isfinite(values).all()
    assert loss.mean() == pytest.approx(values.mean())  # statistics methods were restored


def test_load_checkpoint_into_model(runner_checkpoint):
    model = ToyModel()
    checkpoint = load_checkpoint(model, str(runner_checkpoint))
    for key, value in model.state_dict().items():
        assert torch.equal(value, checkpoint['state_dict'][key])


def test_runner_load_from_and_resume(runner_checkpoint, tmp_path):
    saved = load_checkpoint_file(runner_checkpoint)
    resumed = toy_runner(tmp_path, 3, 'toy_resumed', load_from=str(runner_checkpoint), resume=True)
    resumed.train()
    assert resumed.iter == 3
    # the message hub's HistoryBuffers were restored and extended by the third iteration
    values, _ = resumed.message_hub.get_scalar('train/loss').data
    assert len(values) == 3
    np.testing.assert_allclose(
        values[:2], saved['message_hub']['log_scalars']['train/loss'].data[0]
    )
    # the AdamW state continued: step 3 for every parameter
    state = resumed.optim_wrapper.optimizer.state_dict()['state']
    assert all(float(entry['step']) == 3 for entry in state.values())

    # load_from without resume: weights only (no EMA hook: it needs a started run)
    loaded = toy_runner(
        tmp_path / 'load_only',
        2,
        'toy_load_only',
        load_from=str(runner_checkpoint),
        custom_hooks=[],
    )
    loaded.load_or_resume()
    weights = loaded.model.state_dict()
    for key, value in saved['state_dict'].items():
        assert torch.equal(weights[key], value)


def test_numpy_metadata_loads(tmp_path):
    meta = dict(
        float64=np.float64(0.25),
        int64=np.int64(-3),
        float32=np.float32(1.5),
        bool_=np.bool_(True),
        string=np.str_('rtmdet'),
        dtype=np.dtype('float16'),
        array=np.arange(6, dtype=np.float32).reshape(2, 3),
        objects=np.array([1, 'two', None], dtype=object),
        ordered=OrderedDict(a=1),
        history=HistoryBuffer([1.0, 2.0], [1, 1]),
    )
    path = tmp_path / 'numpy_meta.pth'
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(2)), meta=meta), path)
    loaded = load_checkpoint_file(path)['meta']
    for key in ('float64', 'int64', 'float32', 'bool_', 'string', 'dtype'):
        assert loaded[key] == meta[key] and type(loaded[key]) is type(meta[key])
    np.testing.assert_array_equal(loaded['array'], meta['array'])
    assert loaded['array'].dtype == np.float32
    assert list(loaded['objects']) == [1, 'two', None]
    assert loaded['ordered'] == OrderedDict(a=1)
    assert loaded['history'].mean() == 1.5


def _rename_globals(path: Path, names: tuple, new: bytes) -> None:
    """Rewrite the pickle inside a torch zip checkpoint, replacing whichever of the module
    ``names`` it holds by ``new``."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as target:
        for info, data in entries:
            if info.filename.endswith('data.pkl'):
                old = next(name for name in names if name + b'\n' in data)
                data = data.replace(old + b'\n', new + b'\n')
                assert new + b'\n' in data
            target.writestr(info, data)


@pytest.mark.parametrize('module', [b'numpy.core.multiarray', b'numpy._core.multiarray'])
def test_checkpoints_of_either_numpy_load(tmp_path, module):
    """Official checkpoints were written with numpy 1.x (``numpy.core.multiarray`` globals),
    newer ones with numpy 2.x (``numpy._core.multiarray``): both load under this numpy."""
    path = tmp_path / 'numpy.pth'
    torch.save(dict(meta=dict(array=np.arange(3.0), scalar=np.float64(2.5))), path)
    _rename_globals(path, (b'numpy._core.multiarray', b'numpy.core.multiarray'), module)
    loaded = load_checkpoint_file(path)['meta']
    np.testing.assert_array_equal(loaded['array'], np.arange(3.0))
    assert loaded['scalar'] == 2.5


def test_legacy_format_loads(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save(
        dict(state_dict=OrderedDict(w=torch.arange(3.0)), meta=dict(seed=np.int64(7))),
        path,
        _use_new_zipfile_serialization=False,
    )
    loaded = load_checkpoint_file(path)
    assert torch.equal(loaded['state_dict']['w'], torch.arange(3.0))
    assert loaded['meta']['seed'] == 7


class WritesMarker:
    """A payload: unpickling it calls ``exec`` to create the file ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return exec, (f'open({str(self.marker)!r}, "w").write("pwned")',)


class RunsShell:
    """A payload: unpickling it calls ``os.system('touch marker')``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class ReachesIntoHistoryBuffer:
    """A payload abusing the allowed ``getattr`` to reach beyond HistoryBuffer's statistics."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize(
    'payload, offending',
    [
        (WritesMarker, 'builtins.exec'),
        (RunsShell, 'posix.system' if os.name == 'posix' else 'nt.system'),
    ],
)
def test_malicious_checkpoint_is_refused(tmp_path, payload, offending):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=OrderedDict(w=torch.ones(1)), meta=payload(marker)), path)
    for load in (
        lambda: load_checkpoint_file(path),
        lambda: CheckpointLoader.load_checkpoint(str(path)),
        lambda: load_checkpoint(ToyModel(), str(path)),
    ):
        with pytest.raises(UnsafeCheckpointError) as error:
            load()
        message = str(error.value)
        assert str(path) in message and offending in message
        assert 'add_safe_globals' in message and 'arbitrary code' in message
    assert not marker.exists()


def test_malicious_checkpoint_is_refused_by_pretrained_init(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'evil_pretrained.pth'
    torch.save(dict(state_dict=OrderedDict(), meta=WritesMarker(marker)), path)
    model = ToyModel(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(UnsafeCheckpointError, match='builtins.exec'):
        model.init_weights()
    assert not marker.exists()


def test_getattr_is_restricted_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save(dict(meta=ReachesIntoHistoryBuffer()), path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(path)


class Harmless:
    """A user data class a checkpoint may carry, unknown to the allow-list."""

    def __init__(self, value=0):
        self.value = value


def test_unknown_global_needs_explicit_opt_in(tmp_path):
    path = tmp_path / 'custom.pth'
    torch.save(dict(meta=Harmless(3)), path)
    with pytest.raises(UnsafeCheckpointError, match=f'{__name__}.Harmless'):
        load_checkpoint_file(path)
    with torch.serialization.safe_globals([Harmless]):  # what the message tells users to do
        assert load_checkpoint_file(path)['meta'].value == 3


def test_missing_local_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))


URL = 'https://download.example.com/rtmdet/cspnext-toy_imagenet_600e.pth'


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch hub directory (TORCH_HOME) for the test."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    return tmp_path / 'torch_home'


def _offline(url, dst, *args, **kwargs):
    raise URLError('[Errno -3] Temporary failure in name resolution')


def test_offline_download_names_url_and_cache_path(torch_home, monkeypatch):
    monkeypatch.setattr(torch.hub, 'download_url_to_file', _offline)
    expected = torch_home / 'hub' / 'checkpoints' / 'cspnext-toy_imagenet_600e.pth'
    assert checkpoint_cache_path(URL) == str(expected)
    with pytest.raises(CheckpointDownloadError) as error:
        CheckpointLoader.load_checkpoint(URL)
    message = str(error.value)
    assert URL in message and str(expected) in message and 'name resolution' in message
    # the same message reaches a model initialised from a pretrained URL
    model = ToyModel(init_cfg=dict(type='Pretrained', checkpoint=URL))
    with pytest.raises(CheckpointDownloadError, match='put the file at'):
        model.init_weights()


def test_cached_checkpoint_is_used_offline(torch_home, monkeypatch):
    monkeypatch.setattr(torch.hub, 'download_url_to_file', _offline)
    cached = Path(checkpoint_cache_path(URL))
    cached.parent.mkdir(parents=True)
    source = ToyModel()
    torch.save(dict(state_dict=source.state_dict(), meta=dict(seed=np.int64(1))), cached)

    model = BaseModule(init_cfg=dict(type='Pretrained', checkpoint=URL))
    model.fc = nn.Linear(2, 1)
    model.bn = nn.BatchNorm1d(2)
    model.init_weights()
    assert torch.equal(model.fc.weight, source.fc.weight)


def test_download_goes_to_cache_then_loads(torch_home, monkeypatch):
    payload = io.BytesIO()
    torch.save(dict(state_dict=OrderedDict(w=torch.full((2,), 7.0))), payload)
    downloads = []

    def fake_download(url, dst, *args, **kwargs):
        downloads.append((url, dst))
        Path(dst).write_bytes(payload.getvalue())

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    for _ in range(2):  # the second load is served from the cache
        checkpoint = CheckpointLoader.load_checkpoint(URL)
        assert torch.equal(checkpoint['state_dict']['w'], torch.full((2,), 7.0))
    assert downloads == [(URL, checkpoint_cache_path(URL))]


def test_downloaded_malicious_checkpoint_is_refused(torch_home, monkeypatch, tmp_path):
    marker = tmp_path / 'marker'
    evil = io.BytesIO()
    torch.save(dict(meta=WritesMarker(marker)), evil)
    monkeypatch.setattr(
        torch.hub,
        'download_url_to_file',
        lambda url, dst, *a, **k: Path(dst).write_bytes(evil.getvalue()),
    )
    with pytest.raises(UnsafeCheckpointError) as error:
        CheckpointLoader.load_checkpoint(URL)
    assert URL in str(error.value) and 'builtins.exec' in str(error.value)
    assert not marker.exists()


def test_importing_rtmdet_plus_installs_the_safe_loaders(tmp_path):
    """``import rtmdet_plus`` alone (as ``custom_imports`` does) must route mmengine's loading."""
    import subprocess
    import sys

    from tests.helpers import tool_env

    code = (
        'import rtmdet_plus\n'
        'from mmengine.runner.checkpoint import CheckpointLoader as C\n'
        "print(C._get_checkpoint_loader('x.pth').__module__, "
        "C._get_checkpoint_loader('https://a/b.pth').__module__)"
    )
    proc = subprocess.run(
        [sys.executable, '-c', code],
        cwd=tmp_path,
        env=tool_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.split()[-2:] == ['rtmdet_plus.utils.checkpoint'] * 2


def test_corrupt_files_give_clear_errors(tmp_path, runner_checkpoint):
    html = tmp_path / 'error_page.pth'
    html.write_text('<html>502 Bad Gateway</html>')
    with pytest.raises(UnsafeCheckpointError, match='error_page.pth.*not a torch checkpoint'):
        load_checkpoint_file(html)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(runner_checkpoint.read_bytes()[:2000])
    with pytest.raises(RuntimeError, match='truncated.pth, it looks truncated or corrupt'):
        load_checkpoint_file(truncated)
