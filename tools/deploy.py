"""Export a model with a deploy config, as MMDeploy's ``tools/deploy.py`` (same command line).

    python tools/deploy.py DEPLOY_CFG MODEL_CFG CHECKPOINT IMG [--work-dir DIR] [--device cpu]
        [--dump-info] [--show] [--test-img IMG ...] [--log-level INFO]
        [--calib-dataloader val_dataloader] [--calib-images 100]

Writes ``end2end.onnx`` (and ``end2end.engine`` for TensorRT configs, ``end2end.xml`` / ``.bin``
for OpenVINO ones; INT8 configs quantize ``end2end.onnx``, keeping ``end2end_fp32.onnx``, calibrated
on images of the model config's val dataloader) into ``--work-dir``, the SDK's
``deploy.json`` / ``pipeline.json`` / ``detail.json`` with ``--dump-info``, and pictures of the
backend's and of PyTorch's predictions on ``--test-img`` (default IMG):
``output_<backend>.jpg`` and ``output_pytorch.jpg``. The ONNX export runs in a subprocess, as in
MMDeploy, with the rewriters of ``rtmdet_plus.deploy`` and the patches of
``rtmdet_plus.deploy.patches`` (torch 2.13, TensorRT 10, OpenVINO 2024+) in effect there.
"""

import argparse
import logging
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from torch.multiprocessing import set_start_method  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a model to a deployment backend.')
    parser.add_argument('deploy_cfg', help='deploy config (configs/deploy/*.py)')
    parser.add_argument('model_cfg', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint (.pth)')
    parser.add_argument('img', help='image the export is traced on')
    parser.add_argument('--test-img', nargs='+', default=None, help='images to draw predictions on')
    parser.add_argument('--work-dir', default=os.getcwd(), help='where the files are written')
    parser.add_argument('--device', default='cpu', help="'cpu' or 'cuda:N'")
    parser.add_argument('--log-level', default='INFO', choices=list(logging._nameToLevel))
    parser.add_argument('--show', action='store_true', help='also show the pictures in a window')
    parser.add_argument('--dump-info', action='store_true', help='write the SDK json files')
    parser.add_argument(
        '--calib-dataloader',
        default=None,
        help='INT8 configs: the model config dataloader whose images calibrate '
        "the quantization (default: the deploy config's, val_dataloader)",
    )
    parser.add_argument(
        '--calib-images',
        type=int,
        default=None,
        help="INT8 configs: how many of its images (default: the deploy config's)",
    )
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    set_start_method('spawn', force=True)
    from mmdeploy.apis import torch2onnx, visualize_model
    from mmdeploy.apis.core import PIPELINE_MANAGER
    from mmdeploy.utils import Backend, get_backend, get_root_logger

    from rtmdet_plus.deploy import apply_patches, export_model
    from rtmdet_plus.deploy.apis import load_configs

    # importing rtmdet_plus.deploy applied them (here, and in MMDeploy's export subprocess
    # through the deploy config's custom_imports); the call says where they come from
    apply_patches()

    logger = get_root_logger()
    log_level = logging.getLevelName(args.log_level)
    logger.setLevel(log_level)
    PIPELINE_MANAGER.enable_multiprocess(True, [torch2onnx])
    PIPELINE_MANAGER.set_log_level(log_level, [torch2onnx])

    files = export_model(
        args.deploy_cfg,
        args.model_cfg,
        args.checkpoint,
        args.img,
        args.work_dir,
        device=args.device,
        dump_info=args.dump_info,
        calib_dataloader=args.calib_dataloader,
        calib_images=args.calib_images,
    )
    logger.info(f'backend files: {files}')
    deploy_cfg, _ = load_configs(args.deploy_cfg, args.model_cfg)
    backend = get_backend(deploy_cfg)
    for test_img in args.test_img or [args.img]:
        stem = (
            ''
            if not args.test_img or len(args.test_img) == 1
            else '_' + osp.splitext(osp.basename(test_img))[0]
        )
        for model, kind in ((files, backend), ([args.checkpoint], Backend.PYTORCH)):
            out_file = osp.join(args.work_dir, f'output_{kind.value}{stem}.jpg')
            visualize_model(
                args.model_cfg,
                args.deploy_cfg,
                model,
                test_img,
                args.device,
                backend=kind,
                output_file=out_file,
                show_result=args.show,
            )
            logger.info(f'{kind.value} predictions drawn in {out_file}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
