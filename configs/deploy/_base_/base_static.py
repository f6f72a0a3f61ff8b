# Object detection with post-processing (decoding, NMS) in the graph; outputs
# dets (B, N, 5) x1 y1 x2 y2 score in input pixels and labels (B, N).
# codebase 'mmdet': the SDK's pipeline.json names the codebase as its C++ module, and mmdet is
# one the SDK has; rtmdet_plus.deploy (``module``) adds the rewriters for rtmdet_plus's heads.
# The model's test_cfg (score_thr, nms.iou_threshold, max_per_img) overrides the values below.
_base_ = ['./onnx_config.py']

onnx_config = dict(output_names=['dets', 'labels'], input_shape=None)
codebase_config = dict(
    type='mmdet',
    task='ObjectDetection',
    model_type='end2end',
    module=['rtmdet_plus.deploy'],
    post_processing=dict(
        score_threshold=0.05,
        confidence_threshold=0.005,
        iou_threshold=0.5,
        max_output_boxes_per_class=200,
        pre_top_k=5000,
        keep_top_k=100,
        background_label_id=-1,
    ),
)
