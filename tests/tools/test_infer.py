"""Inference over images, folders, lists and videos (rtmdet_plus.apis.sources, Inferencer,
tools/infer.py, tools/analysis_tools/compare_backends.py), with every backend available on the
CPU giving the same detections; unreadable inputs are named, skipped and counted. The COCO and
DOTA results files are scored against ground truth in tests/test_learning.py and
tests/test_rotated_learning.py, on the trained models."""

import importlib.util
import json
import os.path as osp
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from rtmdet_plus.apis import Inferencer
from rtmdet_plus.apis.sources import open_source, read_ahead
from tests import REPO
from tests.helpers import run_tool
from tools import infer
from tools.analysis_tools import compare_backends
from tools.analysis_tools.toy_models import toy_model_files, write_test_image

MODEL_CFG = str(REPO / 'configs' / 'rtmdet' / 'rtmdet_tiny_8xb32-300e_coco.py')
ORT_CFG = str(REPO / 'configs' / 'deploy' / 'detection_onnxruntime_static.py')
OV_CFG = str(REPO / 'configs' / 'deploy' / 'detection_openvino_static-640x640.py')
SIZE = 320


def write_images(folder: Path, count: int = 3) -> list:
    """``count`` generated images of different sizes, the last one in a subfolder."""
    paths = []
    for index in range(count):
        sub = folder / 'nested' if index == count - 1 else folder
        sub.mkdir(parents=True, exist_ok=True)
        size = (240 + 16 * index, 320 - 24 * index)
        paths.append(write_test_image(str(sub / f'img{index}.jpg'), size=size, seed=index + 1))
    return paths


def write_video(path: Path, frames: int = 6, fourcc: str = 'MJPG', size=(160, 120)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 5, size)
    assert writer.isOpened()
    rng = np.random.default_rng(0)
    for index in range(frames):
        image = np.full((size[1], size[0], 3), 60, np.uint8)
        x = 10 + 15 * index
        cv2.rectangle(image, (x, 30), (x + 40, 80), (int(rng.integers(100, 255)), 200, 90), -1)
        writer.write(image)
    writer.release()
    return path


def corrupt_frame(video: Path, frame: int) -> Path:
    """A copy of an MJPG ``video`` with the JPEG data of ``frame`` zeroed."""
    data = bytearray(video.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    start = starts[frame]
    data[start : start + 400] = bytes(400)
    out = video.with_name('corrupt_' + video.name)
    out.write_bytes(bytes(data))
    return out


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    """RTMDet-tiny at 320 with image-dependent boxes, its checkpoint, and an ONNX Runtime export
    with the SDK files; a folder of generated images."""
    work = tmp_path_factory.mktemp('infer')
    model_cfg, checkpoint = toy_model_files(MODEL_CFG, str(work), size=SIZE)
    images = work / 'images'
    paths = write_images(images)
    return dict(work=work, model_cfg=model_cfg, checkpoint=checkpoint, images=images, paths=paths)


@pytest.fixture(scope='module')
def exported(toy):
    from rtmdet_plus.deploy import export_model

    folders = {}
    folders['onnxruntime'] = toy['work'] / 'ort'
    export_model(
        ORT_CFG,
        toy['model_cfg'],
        toy['checkpoint'],
        toy['paths'][0],
        str(folders['onnxruntime']),
        dump_info=True,
    )
    if importlib.util.find_spec('openvino'):
        folders['openvino'] = toy['work'] / 'ov'
        export_model(
            OV_CFG,
            toy['model_cfg'],
            toy['checkpoint'],
            toy['paths'][0],
            str(folders['openvino']),
            dump_info=False,
        )
    return folders


# -- sources --------------------------------------------------------------------------------
def test_sources_find_images_in_folders_globs_and_lists(tmp_path):
    paths = write_images(tmp_path / 'data')
    (tmp_path / 'data' / 'notes.md').write_text('not an image')
    folder = open_source(str(tmp_path / 'data'))
    assert folder.kind == 'images' and folder.paths == sorted(paths[:2]) + [paths[2]]
    assert open_source(str(tmp_path / 'data' / '*.jpg')).paths == sorted(paths[:2])
    assert open_source(str(tmp_path / 'data' / '**' / '*.jpg')).paths == sorted(paths)
    (tmp_path / 'list.txt').write_text('# images\ndata/img1.jpg\n\n' + paths[0] + '\n')
    assert open_source(str(tmp_path / 'list.txt')).paths == [
        str(tmp_path / 'data' / 'img1.jpg'),
        paths[0],
    ]
    single = list(open_source(paths[1]))
    assert len(single) == 1 and single[0].image.shape == (256, 296, 3)


def test_sources_read_videos_frame_by_frame_and_report_a_corrupt_frame(tmp_path):
    video = write_video(tmp_path / 'clip.avi')
    source = open_source(str(video))
    assert source.kind == 'video' and len(source) == 6 and source.size == (160, 120)
    frames = list(read_ahead(source, depth=2))
    assert [frame.name for frame in frames] == [f'{video}#{i}' for i in range(6)]
    assert all(frame.image.shape == (120, 160, 3) for frame in frames)
    broken = list(open_source(str(corrupt_frame(video, 3))))
    assert [frame.index for frame in broken] == list(range(6))
    assert broken[3].image is None and 'cannot be decoded' in broken[3].error
    assert all(frame.image is not None for frame in broken[:3] + broken[4:])


def test_sources_name_what_is_wrong(tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no image'):
        open_source(str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        open_source(str(tmp_path / 'missing.jpg'))
    with pytest.raises(FileNotFoundError, match='no image .* matches'):
        open_source(str(tmp_path / '*.png'))
    (tmp_path / 'table.csv').write_text('a,b')
    with pytest.raises(ValueError, match='table.csv: not an image'):
        open_source(str(tmp_path / 'table.csv'))
    (tmp_path / 'broken.mp4').write_bytes(b'not a video at all' * 10)
    with pytest.raises(OSError, match='cannot open the video .*broken.mp4.*codec'):
        open_source(str(tmp_path / 'broken.mp4'))
    with pytest.raises(OSError, match='cannot open camera 97'):
        open_source('97')
    (tmp_path / 'empty.txt').write_text('\n')
    with pytest.raises(ValueError, match='names no image'):
        open_source(str(tmp_path / 'empty.txt'))


def test_read_ahead_keeps_the_order_and_raises_the_readers_error():
    from rtmdet_plus.apis.sources import Frame

    def frames():
        for index in range(20):
            yield Frame(str(index), index, None)
        raise RuntimeError('disk gone')

    seen = []
    with pytest.raises(RuntimeError, match='disk gone'):
        for frame in read_ahead(frames(), depth=3):
            seen.append(frame.index)
    assert seen == list(range(20))


# -- the Python API -------------------------------------------------------------------------
def test_inferencer_batches_and_takes_folders_paths_and_arrays(toy):
    inferencer = Inferencer(toy['model_cfg'], toy['checkpoint'])
    arrays = [cv2.imread(path) for path in toy['paths']]
    one_by_one = inferencer(arrays)['predictions']
    batched = inferencer(arrays, batch_size=3)['predictions']
    by_folder = inferencer(str(toy['images']), batch_size=2)['predictions']
    by_paths = inferencer(toy['paths'])['predictions']
    assert len(one_by_one) == 3 and all(len(p['labels']) > 10 for p in one_by_one)
    # equal up to float noise (batched convolutions; detections tied at the NMS threshold)
    for other in (batched, by_folder, by_paths):
        stats = compare_backends.compare(
            dict(enumerate(one_by_one)), dict(enumerate(other)), score_thr=0.05
        )
        assert stats['only_first'] + stats['only_second'] <= 2 and stats['matched'] > 30, stats
        assert stats['box_iou_min'] >= 0.999 and stats['score_diff_max'] <= 1e-4, stats
    # boxes on the original image
    height, width = arrays[1].shape[:2]
    boxes = np.array(one_by_one[1]['bboxes'])
    assert boxes[:, [0, 2]].max() <= width and boxes[:, [1, 3]].max() <= height
    kept = inferencer(arrays[:1], score_thr=0.9)['predictions'][0]
    assert min(kept['scores']) >= 0.9 and len(kept['scores']) < len(one_by_one[0]['scores'])
    with pytest.raises(ValueError, match='cannot read .*nothing.jpg: no such file'):
        inferencer([str(toy['images'] / 'nothing.jpg')])


# -- the command line -----------------------------------------------------------------------
def test_infer_cli_writes_results_skips_unreadable_images_and_counts_them(toy, tmp_path):
    folder = tmp_path / 'photos'
    write_images(folder)
    (folder / 'empty.jpg').write_bytes(b'')
    (folder / 'corrupt.png').write_bytes(b'\x89PNG garbage' * 20)
    out = tmp_path / 'out'
    log = run_tool(
        [
            REPO / 'tools' / 'infer.py',
            folder,
            toy['model_cfg'],
            toy['checkpoint'],
            '--out-dir',
            out,
            '--save-vis',
            '--batch-size',
            '2',
        ],
        cwd=tmp_path,
    )
    assert f'skipped {folder / "corrupt.png"}: OpenCV cannot decode it' in log
    assert f'skipped {folder / "empty.jpg"}: the file is empty' in log
    assert '3 image(s) in' in log and '2 unreadable skipped' in log and 'images/s' in log
    names = sorted(str(p.relative_to(out / 'preds')) for p in (out / 'preds').rglob('*.json'))
    assert names == ['img0.json', 'img1.json', osp.join('nested', 'img2.json')]
    result = json.loads((out / 'preds' / 'img1.json').read_text())
    assert result['image'] == str(folder / 'img1.jpg') and (result['height'], result['width']) == (
        256,
        296,
    )
    assert len(result['labels']) == len(result['scores']) == len(result['bboxes']) > 10
    picture = cv2.imread(str(out / 'vis' / 'nested' / 'img2.jpg'))
    assert picture.shape == (272, 272, 3)


def test_infer_cli_video_in_video_out(toy, tmp_path):
    video = write_video(tmp_path / 'clip.avi')
    out = tmp_path / 'out'
    assert (
        infer.main(
            [
                str(video),
                toy['model_cfg'],
                toy['checkpoint'],
                '--out-dir',
                str(out),
                '--save-vis',
                '--score-thr',
                '0.05',
            ]
        )
        == 0
    )
    assert sorted(p.name for p in (out / 'preds').glob('*.json')) == [
        f'clip_{i:06d}.json' for i in range(6)
    ]
    capture = cv2.VideoCapture(str(out / 'vis' / 'clip.mp4'))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == 6 and frames[0].shape == (120, 160, 3)
    scores = json.loads((out / 'preds' / 'clip_000002.json').read_text())['scores']
    assert scores and min(scores) >= 0.05


def test_infer_cli_errors_name_the_problem(toy, tmp_path, monkeypatch, capsys):
    def fails(argv):
        with pytest.raises(SystemExit) as error:
            infer.main([str(a) for a in argv])
        return str(error.value)

    image = toy['paths'][0]
    assert 'checkpoint not found: ' in fails([image, toy['model_cfg'], tmp_path / 'no.pth'])
    (tmp_path / 'empty').mkdir()
    assert 'holds no image' in fails([tmp_path / 'empty', toy['model_cfg'], toy['checkpoint']])
    assert 'has no deploy_config.py' in fails(
        [image, toy['model_cfg'], tmp_path, '--backend', 'onnxruntime']
    )
    assert 'exported model not found' in fails(
        [image, toy['model_cfg'], tmp_path / 'nothing', '--backend', 'onnxruntime']
    )
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        'find_spec',
        lambda name, *a: None if name == 'openvino' else real_find_spec(name, *a),
    )
    assert (
        'needs openvino and mmdeploy, and one of them is not installed: pip install openvino'
        in fails([image, toy['model_cfg'], tmp_path, '--backend', 'openvino'])
    )


def backend_runs(toy, exported, tmp_path) -> dict:
    """tools/infer.py over the toy folder with every backend available: name -> output folder."""
    runs = {'pytorch': tmp_path / 'pytorch'}
    assert (
        infer.main(
            [
                str(toy['images']),
                toy['model_cfg'],
                toy['checkpoint'],
                '--out-dir',
                str(runs['pytorch']),
            ]
        )
        == 0
    )
    backends = dict(exported)
    if importlib.util.find_spec('mmdeploy_runtime'):
        backends['sdk'] = exported['onnxruntime']
    for backend, folder in backends.items():
        runs[backend] = tmp_path / backend
        assert (
            infer.main(
                [
                    str(toy['images']),
                    toy['model_cfg'],
                    '--model',
                    str(folder),
                    '--backend',
                    backend,
                    '--out-dir',
                    str(runs[backend]),
                ]
            )
            == 0
        )
    return runs


@pytest.mark.deploy
def test_every_backend_gives_pytorchs_detections(toy, exported, tmp_path, capsys):
    """The same images through PyTorch, ONNX Runtime, OpenVINO and the SDK (those installed):
    compare_backends matches the detections scoring >= 0.05 one to one (a few near the NMS or
    score threshold may pair differently) with box IoU >= 0.99 and scores within 1e-3."""
    from rtmdet_plus.deploy.checks import sdk_numpy_problem

    runs = backend_runs(toy, exported, tmp_path)
    reference = compare_backends.read_run(str(runs['pytorch']))
    for backend, folder in runs.items():
        if backend == 'pytorch' or (backend == 'sdk' and sdk_numpy_problem()):
            continue
        stats = compare_backends.compare(
            reference, compare_backends.read_run(str(folder)), score_thr=0.05
        )
        total = stats['matched'] + max(stats['only_first'], stats['only_second'])
        assert stats['images'] == 3 and not stats['missing'], (backend, stats)
        assert stats['matched'] >= 0.97 * total and stats['matched'] > 30, (backend, stats)
        assert stats['box_iou_mean'] >= 0.99 and stats['score_diff_max'] <= 1e-3, (backend, stats)
    capsys.readouterr()
    assert (
        compare_backends.main(
            [str(runs['pytorch']), str(runs['onnxruntime']), '--score-thr', '0.05']
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert '3 image(s) in both runs' in printed
    assert re.search(r'matched box IoU: mean (1\.0000|0\.99\d\d)', printed), printed
    assert set(runs) == {'pytorch', 'onnxruntime'} | set(exported) | (
        {'sdk'} if importlib.util.find_spec('mmdeploy_runtime') else set()
    )
