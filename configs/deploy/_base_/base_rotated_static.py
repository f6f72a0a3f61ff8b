# Rotated detection: dets (B, N, 6) cx cy w h angle(radians) score in input pixels, labels (B, N),
# NMS by mmdeploy::NMSRotated (ONNX Runtime, op library shipped with mmdeploy) or the
# TRTBatchedRotatedNMS plugin (TensorRT). The codebase is mmdet with rtmdet_plus's
# RotatedDetection task (mmrotate 1.x does not install beside mmdet 3.3); the SDK's
# pipeline.json names the mmrotate module, whose ResizeRBBox the SDK has.
_base_ = ['./onnx_config.py']

onnx_config = dict(output_names=['dets', 'labels'], input_shape=None)
codebase_config = dict(
    type='mmdet',
    task='RotatedDetection',
    model_type='end2end',
    module=['rtmdet_plus.deploy'],
    post_processing=dict(
        score_threshold=0.05,
        iou_threshold=0.1,
        pre_top_k=3000,
        keep_top_k=2000,
        max_output_boxes_per_class=2000,
    ),
)
