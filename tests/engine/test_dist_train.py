"""Distributed launch scripts on the CPU: two gloo processes started by torchrun, and the
Slurm scripts through a stand-in ``srun``.

RTMDet's configs use SyncBN (and mmdet's ``RTMDet`` converts BN to SyncBN whenever the world
size is above 1); on the CPU the tools swap in ``CPUDistributedDataParallel``, which reverts
those layers to BN, so the run must get through.
"""

import os
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from rtmdet_plus.utils import load_checkpoint_file
from tests import REPO
from tests.helpers import tool_env, write_tiny_coco, write_tiny_config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_script(script: str, args, cwd: Path, env_extra: dict, timeout: float = 300) -> str:
    env = tool_env()
    env.update(PYTHON=sys.executable, **env_extra)
    proc = subprocess.run(
        ['bash', str(REPO / 'tools' / script)] + [str(a) for a in args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f'{script} failed ({proc.returncode}):\n{proc.stdout[-6000:]}'
    return proc.stdout


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    data_root = write_tiny_coco(root / 'data', num_images=8)
    return dict(root=root, config=write_tiny_config(root, data_root))


@pytest.fixture(scope='module')
def two_process_run(toy):
    """tools/dist_train.sh CONFIG 2 on the CPU, logging every rank (log_level=DEBUG)."""
    work_dir = toy['root'] / 'work'
    log = run_script(
        'dist_train.sh',
        [
            toy['config'],
            2,
            '--work-dir',
            work_dir,
            '--cfg-options',
            'train_cfg.max_iters=2',
            'env_cfg.dist_cfg.backend=gloo',
            'log_level=DEBUG',
        ],
        cwd=toy['root'],
        env_extra=dict(PORT=str(free_port()), OMP_NUM_THREADS='1'),
    )
    return dict(work_dir=work_dir, log=log)


def test_dist_train_runs_both_ranks_and_saves_checkpoint(two_process_run):
    work_dir = two_process_run['work_dir']
    rank_logs = {
        int(re.search(r'rank(\d+)\.log$', path.name).group(1)): path.read_text()
        for path in work_dir.glob('*/*rank*.log')
    }
    assert sorted(rank_logs) == [0, 1]
    losses = []
    for rank, text in rank_logs.items():
        assert 'Distributed training: True' in text and 'GPU number: 2' in text
        assert re.findall(r'Iter\(train\) \[(\d)/2\]', text) == ['1', '2'], f'rank {rank}'
        losses.append(re.findall(r'Iter\(train\) \[2/2\].*? loss: (\S+)', text)[0])
    assert losses[0] != losses[1]  # each rank trained on its own shard of the data
    assert 'SyncBatchNorm layers reverted to BatchNorm' in rank_logs[0]
    assert (work_dir / 'iter_2.pth').is_file()
    checkpoint = load_checkpoint_file(work_dir / 'iter_2.pth')
    assert checkpoint['meta']['iter'] == 2
    # saved from the unwrapped model: no DDP 'module.' prefix
    assert not any(key.startswith('module.') for key in checkpoint['state_dict'])


def test_dist_test_evaluates_across_ranks(toy, two_process_run):
    log = run_script(
        'dist_test.sh',
        [
            toy['config'],
            two_process_run['work_dir'] / 'iter_2.pth',
            2,
            '--work-dir',
            toy['root'] / 'test',
            '--cfg-options',
            'env_cfg.dist_cfg.backend=gloo',
        ],
        cwd=toy['root'],
        env_extra=dict(PORT=str(free_port()), OMP_NUM_THREADS='1'),
    )
    # 8 images, 2 ranks, batch 2: two test iterations per rank, all 8 images evaluated
    assert re.search(r'Iter\(test\) \[2/2\].*coco/bbox_mAP: ', log)


FAKE_SRUN = '''#!/usr/bin/env bash
# Stand-in for Slurm's srun: records its arguments, then runs the command as task 0 of 1.
echo "$@" > "$SRUN_RECORD"
while [ $# -gt 0 ]; do
    case "$1" in
        -p) shift 2 ;;
        -*) shift ;;
        *) break ;;
    esac
done
SLURM_PROCID=0 SLURM_NTASKS=1 SLURM_LOCALID=0 SLURM_NODELIST=localhost \\
MASTER_ADDR=127.0.0.1 exec "$@"
'''


@pytest.fixture
def fake_srun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    srun = bin_dir / 'srun'
    srun.write_text(FAKE_SRUN)
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    record = tmp_path / 'srun_args.txt'
    env = dict(
        PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
        SRUN_RECORD=str(record),
        GPUS='1',
        GPUS_PER_NODE='1',
        CPUS_PER_TASK='2',
        MASTER_PORT=str(free_port()),
        OMP_NUM_THREADS='1',
    )
    return dict(env=env, record=record)


def test_slurm_train_and_test_scripts(toy, fake_srun, tmp_path):
    work_dir = tmp_path / 'slurm_work'
    run_script(
        'slurm_train.sh',
        [
            'partition_a',
            'rtmdet_job',
            toy['config'],
            work_dir,
            '--cfg-options',
            'train_cfg.max_iters=1',
        ],
        cwd=toy['root'],
        env_extra=fake_srun['env'],
    )
    srun_args = fake_srun['record'].read_text()
    for expected in (
        '-p partition_a',
        '--job-name=rtmdet_job',
        '--ntasks=1',
        '--ntasks-per-node=1',
        '--cpus-per-task=2',
        '--launcher=slurm',
        f'--work-dir={work_dir}',
    ):
        assert expected in srun_args
    assert (work_dir / 'iter_1.pth').is_file()
    log = next(work_dir.glob('*/*.log')).read_text()
    assert 'Distributed launcher: slurm' in log

    # score_thr 0: a 1-iteration model may score every box under the config's threshold, and
    # CocoMetric prints no mAP for an empty result
    log = run_script(
        'slurm_test.sh',
        [
            'partition_a',
            'rtmdet_job',
            toy['config'],
            work_dir / 'iter_1.pth',
            '--work-dir',
            tmp_path / 'st',
            '--cfg-options',
            'model.test_cfg.score_thr=0.0',
        ],
        cwd=toy['root'],
        env_extra=fake_srun['env'],
    )
    assert 'coco/bbox_mAP: ' in log
    assert 'iter_1.pth --launcher=slurm' in fake_srun['record'].read_text()


def test_scripts_print_usage_without_arguments(tmp_path):
    for script in ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh', 'slurm_test.sh'):
        proc = subprocess.run(
            ['bash', str(REPO / 'tools' / script)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.returncode == 2 and 'usage:' in proc.stdout
