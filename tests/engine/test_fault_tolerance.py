"""Training that survives faults: a non-finite loss stops the run before the optimizer step
(naming the iteration, the loss terms and the images) or is skipped and counted; runs killed
with SIGKILL (also in the middle of a checkpoint save) resume exactly as the uninterrupted run
went on; a truncated latest checkpoint falls back to the newest readable one."""

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from rtmdet_plus.datasets.shapes import ShapesConfig, generate_shapes_dataset, use_data_root
from tests import REPO
from tests.helpers import tool_env

SHAPES_CONFIG = REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_1xb4-12e_shapes.py'
SIZE = 64


def small_config(tmp_path: Path, max_epochs: int = 3, num_train: int = 8, **options) -> Config:
    """The shapes recipe at 64 pixels on ``num_train`` generated images (2 iterations an
    epoch at batch 4), a checkpoint every epoch, logging every iteration, seed 0,
    deterministic."""
    cfg = Config.fromfile(SHAPES_CONFIG)
    data_root = f'{tmp_path / "shapes"}/'
    generate_shapes_dataset(
        data_root,
        ShapesConfig(**dict(cfg.shapes_dataset, img_size=SIZE, num_train=num_train, num_val=4)),
    )
    use_data_root(cfg, data_root)
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.pipeline = [
            dict(t, scale=(SIZE, SIZE))
            if t['type'] == 'Resize'
            else dict(t, size=(SIZE, SIZE))
            if t['type'] == 'Pad'
            else t
            for t in cfg[loader].dataset.pipeline
        ]
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = 1000
    cfg.default_hooks.checkpoint.update(interval=1, max_keep_ckpts=-1)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook')
    cfg.randomness = dict(seed=0, deterministic=True)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.merge_from_dict(options)
    return cfg


def test_non_finite_loss_stops_before_the_step_naming_iteration_terms_and_images(tmp_path):
    """A learning rate of 1e30 makes the weights huge after the first step, and the second
    iteration's loss is not finite: the run stops there with the terms and the images named,
    the weights as the first step left them, and no checkpoint written."""
    cfg = small_config(tmp_path, max_epochs=2, optim_wrapper=dict(optimizer=dict(lr=1e30)))
    runner = Runner.from_cfg(cfg)
    with pytest.raises(FloatingPointError) as error:
        runner.train()
    message = str(error.value)
    assert 'non-finite' in message and 'at iteration 2 (epoch 1)' in message, message
    assert 'loss_cls=' in message or 'loss_bbox=' in message or 'gradients' in message, message
    assert message.count(str(tmp_path / 'shapes' / 'train')) == 4, message  # the batch's images
    assert 'the last checkpoint is none yet' in message
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert not list((tmp_path / 'work').glob('*.pth'))


def test_non_finite_loss_skip_counts_the_skipped_steps(tmp_path):
    """action='skip': the run ends, every non-finite step is dropped (weights stay finite) and
    counted in the log's train/skipped_steps and at each epoch's end."""
    cfg = small_config(tmp_path, max_epochs=2, optim_wrapper=dict(optimizer=dict(lr=1e30)))
    cfg.default_hooks.non_finite = dict(type='NonFiniteLossHook', action='skip')
    runner = Runner.from_cfg(cfg)
    runner.train()
    hook = next(h for h in runner.hooks if type(h).__name__ == 'NonFiniteLossHook')
    assert hook.skipped == 3  # iterations 2-4: the first step made the weights huge
    assert runner.message_hub.get_scalar('train/skipped_steps').current() == 3
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    assert 'step skipped (3 so far)' in log and 'epoch 2: 2 step(s) with a non-finite' in log


# -- killed runs resume exactly --------------------------------------------------------------
ITERS_PER_EPOCH = 4  # 16 images, batch 4
EPOCHS = 4


def kill_config(tmp_path: Path, workers: int) -> Path:
    """small_config over 16 images for 4 epochs with ``workers`` loader workers (persistent, as
    the COCO recipes have them), dumped for tools/train.py."""
    cfg = small_config(tmp_path, max_epochs=EPOCHS, num_train=16)
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.persistent_workers = workers > 0
    path = tmp_path / 'small.py'
    cfg.dump(str(path))
    return path


def train(
    config: Path, work_dir: Path, *options, kill_after_iter: int = None, env: dict = None
) -> str:
    """tools/train.py CONFIG in its own process group; with ``kill_after_iter`` the group gets
    SIGKILL as soon as that iteration's log line appears. Returns the output."""
    args = [
        sys.executable,
        str(REPO / 'tools' / 'train.py'),
        str(config),
        '--work-dir',
        str(work_dir),
        *options,
    ]
    return train_command(args, config.parent, kill_after_iter, env)


def process_tree(root: int) -> list:
    """``root`` and every process below it (from /proc; torchrun starts its workers in
    sessions of their own, out of the launcher's process group)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as file:
                    parent = int(file.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, []))
    return tree


def kill_tree(root: int) -> None:
    """SIGKILL ``root`` and all its descendants, found before any dies."""
    for pid in process_tree(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def train_command(
    args: list,
    cwd: Path,
    kill_after_iter: int = None,
    env: dict = None,
    iters_per_epoch: int = ITERS_PER_EPOCH,
) -> str:
    """Run ``args`` in its own process group (see :func:`train`)."""
    cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=dict(tool_env(), **(env or {})),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/\d+\]', line)
            if (
                kill_after_iter is not None
                and match
                and (int(match.group(1)) - 1) * iters_per_epoch + int(match.group(2))
                >= kill_after_iter
            ):
                kill_tree(proc.pid)
                break
        proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
            proc.wait()
    output = ''.join(lines)
    if kill_after_iter is None:
        assert proc.returncode == 0, output[-5000:]
    return output


def logged_losses(log: str) -> dict:
    """(epoch, iteration in epoch) -> the loss logged."""
    return {
        (int(e), int(i)): float(loss)
        for e, i, loss in re.findall(
            r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/\d+\].*?\bloss: ([\d.naninf-]+)', log
        )
    }


def final_state(work_dir: Path, epochs: int = EPOCHS) -> dict:
    checkpoint = torch.load(
        str(work_dir / f'epoch_{epochs}.pth'), map_location='cpu', weights_only=False
    )
    state = {f'model.{k}': v for k, v in checkpoint['state_dict'].items()}
    state.update({f'ema.{k}': v for k, v in checkpoint.get('ema_state_dict', {}).items()})
    for group, values in checkpoint['optimizer']['state'].items():
        state.update({f'optim.{group}.{k}': v for k, v in values.items()})
    return state


def assert_identical(reference: dict, other: dict, what: str) -> None:
    assert reference.keys() == other.keys(), what
    different = [k for k in reference if not torch.equal(reference[k], other[k])]
    assert not different, f'{what}: {len(different)} tensors differ, e.g. {different[:3]}'


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    root = tmp_path_factory.mktemp('uninterrupted')
    config = kill_config(root, workers=2)
    log = train(config, root / 'work')
    return dict(config=config, log=log, state=final_state(root / 'work'))


def test_the_same_seed_gives_the_same_run_and_another_seed_another(uninterrupted, tmp_path):
    """Two runs with seed 0 and ``deterministic=True`` (2 loader workers) log the same losses
    and end with bit-identical weights, EMA and optimizer state; seed 1 ends elsewhere (the
    comparison can fail)."""
    log = train(uninterrupted['config'], tmp_path / 'again')
    losses = logged_losses(log)
    assert len(losses) == EPOCHS * ITERS_PER_EPOCH
    assert losses == logged_losses(uninterrupted['log'])
    assert_identical(uninterrupted['state'], final_state(tmp_path / 'again'), 'same seed')
    train(uninterrupted['config'], tmp_path / 'seed1', '--cfg-options', 'randomness.seed=1')
    other = final_state(tmp_path / 'seed1')
    convs = [
        k for k in uninterrupted['state'] if k.startswith('model.') and k.endswith('conv.weight')
    ]
    assert len(convs) > 10
    assert not any(torch.equal(uninterrupted['state'][k], other[k]) for k in convs)


def test_sigkilled_runs_resume_exactly(uninterrupted, tmp_path):
    """Killed (SIGKILL to the main process and its loader workers) after iterations
    3, 9 and 14 and resumed with --resume from the last epoch checkpoint: the losses after the
    resume equal the uninterrupted run's, and the final weights, EMA weights and optimizer
    state are bit-identical (2 persistent loader workers, seed 0, deterministic)."""
    reference = logged_losses(uninterrupted['log'])
    assert len(reference) == EPOCHS * ITERS_PER_EPOCH
    for kill_after in (3, 9, 14):
        work = tmp_path / f'killed_{kill_after}'
        killed_log = train(uninterrupted['config'], work, kill_after_iter=kill_after)
        assert f'[{(kill_after - 1) // ITERS_PER_EPOCH + 1}]' in killed_log
        log = train(uninterrupted['config'], work, '--resume')
        resumed = logged_losses(log)
        first_epoch = kill_after // ITERS_PER_EPOCH + 1
        assert min(resumed) == (first_epoch, 1), (kill_after, sorted(resumed))
        assert resumed == {key: reference[key] for key in resumed}, kill_after
        assert_identical(uninterrupted['state'], final_state(work), f'killed after {kill_after}')


def test_resume_after_a_kill_in_the_middle_of_a_save(uninterrupted, tmp_path):
    """Killed (SIGKILL) while epoch_2.pth is half written: epoch_2.pth does not exist and
    last_checkpoint still names epoch_1.pth; --resume removes the half file, resumes from epoch
    1 and ends bit-identical to the uninterrupted run."""
    work = tmp_path / 'work'
    killing = uninterrupted['config'].with_name('small_kill_mid_save.py')
    killing.write_text(  # custom_imports are read when the config file is loaded
        f"_base_ = ['./{uninterrupted['config'].name}']\n"
        "custom_imports = dict(imports=['rtmdet_plus', 'tests.engine.kill_mid_save'])\n"
        "default_hooks = dict(checkpoint=dict(backend_args=dict(backend='kill_mid_save')))\n"
    )
    train(killing, work, kill_after_iter=10**6, env=dict(KILL_SAVING='epoch_2.pth'))
    assert not (work / 'epoch_2.pth').exists() and (work / 'epoch_1.pth').is_file()
    assert list(work.glob('.epoch_2.pth.tmp-*'))
    assert (work / 'last_checkpoint').read_text().strip().endswith('epoch_1.pth')
    log = train(uninterrupted['config'], work, '--resume')
    assert 'left in' in log and 'by a save that did not finish' in log
    assert not list(work.glob('.epoch_2.pth.tmp-*'))
    assert min(logged_losses(log)) == (2, 1)
    assert_identical(uninterrupted['state'], final_state(work), 'killed mid-save')


def test_resume_falls_back_from_a_truncated_latest_checkpoint(uninterrupted, tmp_path):
    """A truncated epoch_3.pth that last_checkpoint names (what a non-atomic save killed midway
    leaves): --resume warns, naming both files, resumes from epoch_2.pth and ends
    bit-identical to the uninterrupted run."""
    work = tmp_path / 'work'
    train(uninterrupted['config'], work, kill_after_iter=13)
    latest = work / 'epoch_3.pth'
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 3])
    assert (work / 'last_checkpoint').read_text().strip().endswith('epoch_3.pth')
    log = train(uninterrupted['config'], work, '--resume')
    assert (
        f'the latest checkpoint {latest} is truncated or corrupt: resuming from '
        f'{work / "epoch_2.pth"}' in log
    )
    assert min(logged_losses(log)) == (3, 1)
    assert_identical(uninterrupted['state'], final_state(work), 'truncated latest')


@pytest.mark.slow
def test_sigkilled_two_process_gloo_run_resumes_exactly(uninterrupted, tmp_path):
    """tools/dist_train.sh CONFIG 2 (torchrun, two gloo processes on the CPU, 2 iterations an
    epoch), SIGKILLed with its workers after iteration 5 and resumed with --resume: the losses
    after the resume and the final state equal the uninterrupted 2-process run's. Slow (three
    2-process launches, about 1.5 minutes): `make test-slow`."""
    launcher = ['bash', str(REPO / 'tools' / 'dist_train.sh')]
    options = ['--cfg-options', 'env_cfg.dist_cfg.backend=gloo']

    def dist_train(work, port, **kwargs):
        return train_dist(uninterrupted['config'], work, launcher, options, port, **kwargs)

    reference = dist_train(tmp_path / 'full', 29621)
    dist_train(tmp_path / 'killed', 29622, kill_after_iter=5)
    resumed = dist_train(tmp_path / 'killed', 29623, resume=True)
    reference_losses, resumed_losses = logged_losses(reference), logged_losses(resumed)
    assert len(reference_losses) == EPOCHS * 2 and min(resumed_losses) == (3, 1)
    assert resumed_losses == {key: reference_losses[key] for key in resumed_losses}
    assert_identical(
        final_state(tmp_path / 'full'),
        final_state(tmp_path / 'killed'),
        '2-process run killed after iteration 5',
    )


def train_dist(config, work, launcher, options, port, resume=False, **kwargs) -> str:
    """``launcher CONFIG 2`` with the distributed options; the run's output."""
    args = ['2', '--work-dir', str(work)] + (['--resume'] if resume else []) + options
    command = launcher + [str(config)] + args
    proc_env = dict(PYTHON=sys.executable, PORT=str(port))
    return train_command(command, work, env=proc_env, iters_per_epoch=2, **kwargs)


# -- bad data in the middle of an epoch ------------------------------------------------------
@pytest.mark.parametrize('workers', [0, 2])
def test_a_corrupt_image_mid_epoch_stops_the_run_naming_the_file(tmp_path, workers):
    cfg = small_config(tmp_path, max_epochs=1)
    cfg.train_dataloader.num_workers = workers
    broken = tmp_path / 'shapes' / 'train' / '000005.jpg'
    broken.write_bytes(b'\xff\xd8 not really a jpeg' * 5)
    with pytest.raises(ValueError) as error:  # the loader's own error, in workers or not
        Runner.from_cfg(cfg).train()
    message = str(error.value)
    assert f'training sample 5, {broken}: fix or remove it' in message, message
    assert 'could not be decoded as an image' in message and 'on_bad_sample="skip"' in message


@pytest.mark.parametrize('workers', [0, 2])
def test_skip_replaces_bad_samples_and_names_and_counts_them(tmp_path, workers):
    """on_bad_sample='skip': a corrupt and a missing image in the train split are replaced by
    other samples; the log names both and counts them at the end of each epoch."""
    cfg = small_config(tmp_path, max_epochs=2)
    cfg.train_dataloader.num_workers = workers
    cfg.train_dataloader.dataset.on_bad_sample = 'skip'
    corrupt = tmp_path / 'shapes' / 'train' / '000002.jpg'
    corrupt.write_bytes(b'')
    missing = tmp_path / 'shapes' / 'train' / '000006.jpg'
    missing.unlink()
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 4
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    named = [
        log.count(f'skipped training sample {corrupt}: ValueError'),
        log.count(f'skipped training sample {missing}: FileNotFoundError'),
    ]
    assert min(named) >= 2, log[-3000:]  # once an epoch at least (a random stand-in may be bad)
    counted = [
        int(n) for n in re.findall(r'epoch \d: training samples replaced: (\d+) unusable', log)
    ]
    # (a stand-in drawn at random can be a bad file again; mmengine's logger drops a warning
    # that repeats the previous one word for word, the count keeps it)
    assert len(counted) == 2 and min(counted) >= 2 and sum(counted) >= sum(named), counted
