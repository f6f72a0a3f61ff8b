"""The MMDeploy SDK's detector through its C API, for numpy 2.

``mmdeploy_runtime`` 1.3.1 was built against numpy 1.x; under numpy 2 its ``Detector`` returns a
``labels`` array of stride 0, every entry the label of the last detection (the binding writes
all labels to one element). This calls the same SDK library (``mmdeploy_detector_*`` of the
``libmmdeploy.so`` that ``mmdeploy_runtime`` ships) through ctypes and returns the detector's
results intact; :class:`SDKRotatedDetector` does the same for ``RotatedDetector``.

RTMDet-Ins: the SDK 1.3.1's ``ResizeInstanceMask`` post-processing reads ``dets`` and ``labels``
without waiting for the CPU stream that is still copying the network's outputs (the wait is
commented out in its source; ``ResizeBBox`` has it), so it returns corrupt or no detections
(first call, large mask outputs). :class:`SDKDetector` adds a profiler to such a pipeline's
context, and with a profiler the SDK's ``Net`` task waits for its outputs before it returns.
"""
import ctypes
import glob
import json
import os
import os.path as osp
import tempfile
from typing import List, Tuple

import numpy as np


class _Mat(ctypes.Structure):
    _fields_ = [('data', ctypes.POINTER(ctypes.c_uint8)), ('height', ctypes.c_int),
                ('width', ctypes.c_int), ('channel', ctypes.c_int), ('format', ctypes.c_int),
                ('type', ctypes.c_int), ('device', ctypes.c_void_p)]


class _Mask(ctypes.Structure):
    _fields_ = [('data', ctypes.POINTER(ctypes.c_char)), ('height', ctypes.c_int),
                ('width', ctypes.c_int)]


class _Detection(ctypes.Structure):
    _fields_ = [('label_id', ctypes.c_int), ('score', ctypes.c_float),
                ('bbox', ctypes.c_float * 4), ('mask', ctypes.POINTER(_Mask))]


PIXEL_FORMAT_BGR = 0
DATA_TYPE_UINT8 = 2
CONTEXT_TYPE_PROFILER = 5


def sdk_library() -> ctypes.CDLL:
    """The SDK's C library shipped in ``mmdeploy_runtime`` (imported first: it loads the
    ONNX Runtime net module the detector needs)."""
    import mmdeploy_runtime
    folder = osp.dirname(mmdeploy_runtime.__file__)
    paths = sorted(glob.glob(osp.join(folder, 'libmmdeploy.so*')))
    if not paths:
        raise RuntimeError(f'the MMDeploy SDK library libmmdeploy.so is missing from {folder}; '
                           'reinstall mmdeploy-runtime==1.3.1')
    lib = ctypes.CDLL(paths[0])
    lib.mmdeploy_detector_create_by_path.argtypes = [ctypes.c_char_p, ctypes.c_char_p,
                                                     ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_detector_apply.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(_Mat), ctypes.c_int,
        ctypes.POINTER(ctypes.POINTER(_Detection)), ctypes.POINTER(ctypes.POINTER(ctypes.c_int))]
    lib.mmdeploy_detector_release_result.argtypes = [ctypes.POINTER(_Detection),
                                                     ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.mmdeploy_detector_destroy.argtypes = [ctypes.c_void_p]
    lib.mmdeploy_detector_create_v2.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_model_create_by_path.argtypes = [ctypes.c_char_p,
                                                  ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_model_destroy.argtypes = [ctypes.c_void_p]
    lib.mmdeploy_context_create_by_device.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                                      ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_context_add.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p,
                                         ctypes.c_void_p]
    lib.mmdeploy_context_destroy.argtypes = [ctypes.c_void_p]
    lib.mmdeploy_profiler_create.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.mmdeploy_profiler_destroy.argtypes = [ctypes.c_void_p]
    return lib


def reads_unfinished_outputs(model_path: str) -> bool:
    """Whether the folder's SDK pipeline post-processes with ``ResizeInstanceMask``, which reads
    the network's outputs before they are copied (see the module docstring)."""
    with open(osp.join(model_path, 'pipeline.json')) as f:
        tasks = json.load(f).get('pipeline', {}).get('tasks', [])
    return any(task.get('component') == 'ResizeInstanceMask' for task in tasks)


def _bgr_mat(image: np.ndarray) -> Tuple[_Mat, np.ndarray]:
    """An ``mmdeploy_mat_t`` over an (H, W, 3) uint8 BGR image (and the array it points to,
    which must outlive the call)."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) BGR image, got shape {image.shape}')
    mat = _Mat(image.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), image.shape[0],
               image.shape[1], 3, PIXEL_FORMAT_BGR, DATA_TYPE_UINT8, None)
    return mat, image


def _create(create, model_path: str, device_name: str, device_id: int) -> ctypes.c_void_p:
    """A handle from ``mmdeploy_*_create_by_path``, or RuntimeError naming the folder."""
    handle = ctypes.c_void_p()
    status = create(model_path.encode(), device_name.encode(), device_id, ctypes.byref(handle))
    if status != 0:
        raise RuntimeError(f'the MMDeploy SDK could not load the model folder {model_path} '
                           f'(status {status}); it needs deploy.json, pipeline.json and the '
                           'backend model written by tools/deploy.py --dump-info')
    return handle


class SDKDetector:
    """``mmdeploy_runtime.Detector`` with correct labels.

    Args:
        model_path: folder with ``deploy.json``, ``pipeline.json`` and the backend model.
        device_name: 'cpu' or 'cuda'.
        device_id: device index.

    ``detector(image)`` with an (H, W, 3) uint8 BGR image returns (dets (N, 5) float32
    x1 y1 x2 y2 score on the image, labels (N,) int64, masks: list of (h, w) uint8).
    """

    def __init__(self, model_path: str, device_name: str = 'cpu', device_id: int = 0):
        self._lib = sdk_library()
        self._profiler = self._profile_path = None
        if reads_unfinished_outputs(model_path):
            self._handle = self._create_waiting(model_path, device_name, device_id)
        else:
            self._handle = _create(self._lib.mmdeploy_detector_create_by_path, model_path,
                                   device_name, device_id)

    def _create_waiting(self, model_path: str, device_name: str, device_id: int):
        """A detector whose context holds a profiler, so that its ``Net`` task waits for the
        network's outputs. The profile (a few events per call, kept in memory) is written to
        a temporary file when the detector is destroyed, and that file removed."""
        lib = self._lib
        descriptor, self._profile_path = tempfile.mkstemp(prefix='mmdeploy_sdk_', suffix='.txt')
        os.close(descriptor)
        self._profiler = ctypes.c_void_p()
        lib.mmdeploy_profiler_create(self._profile_path.encode(), ctypes.byref(self._profiler))
        model, context = ctypes.c_void_p(), ctypes.c_void_p()
        if lib.mmdeploy_model_create_by_path(model_path.encode(), ctypes.byref(model)) != 0:
            return _create(lib.mmdeploy_detector_create_by_path, model_path, device_name,
                           device_id)  # raises with the folder's name
        try:
            lib.mmdeploy_context_create_by_device(device_name.encode(), device_id,
                                                  ctypes.byref(context))
            lib.mmdeploy_context_add(context, CONTEXT_TYPE_PROFILER, None, self._profiler)
            return _create(lambda _path, _device, _id, handle: lib.mmdeploy_detector_create_v2(
                model, context, handle), model_path, device_name, device_id)
        finally:
            lib.mmdeploy_context_destroy(context)
            lib.mmdeploy_model_destroy(model)

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
        mat, _image = _bgr_mat(image)
        results = ctypes.POINTER(_Detection)()
        counts = ctypes.POINTER(ctypes.c_int)()
        status = self._lib.mmdeploy_detector_apply(self._handle, ctypes.byref(mat), 1,
                                                   ctypes.byref(results), ctypes.byref(counts))
        if status != 0:
            raise RuntimeError(f'MMDeploy SDK detection failed (status {status})')
        try:
            count = counts[0]
            dets = np.zeros((count, 5), dtype=np.float32)
            labels = np.zeros(count, dtype=np.int64)
            masks = []
            for i in range(count):
                detection = results[i]
                dets[i, :4] = list(detection.bbox)
                dets[i, 4] = detection.score
                labels[i] = detection.label_id
                if detection.mask:
                    mask = detection.mask.contents
                    buffer = ctypes.string_at(mask.data, mask.height * mask.width)
                    masks.append(np.frombuffer(buffer, dtype=np.uint8).reshape(
                        mask.height, mask.width).copy())
        finally:
            self._lib.mmdeploy_detector_release_result(results, counts, 1)
        return dets, labels, masks

    def __del__(self):
        if getattr(self, '_handle', None) and self._handle.value:
            self._lib.mmdeploy_detector_destroy(self._handle)
            self._handle = ctypes.c_void_p()
        if getattr(self, '_profiler', None) and self._profiler.value:
            self._lib.mmdeploy_profiler_destroy(self._profiler)
            self._profiler = ctypes.c_void_p()
        if getattr(self, '_profile_path', None) and osp.exists(self._profile_path):
            os.remove(self._profile_path)


class _RotatedDetection(ctypes.Structure):
    _fields_ = [('label_id', ctypes.c_int), ('score', ctypes.c_float),
                ('rbbox', ctypes.c_float * 5)]


class SDKRotatedDetector:
    """``mmdeploy_runtime.RotatedDetector`` with correct labels (its binding has the same
    numpy 2 flaw). ``detector(image)`` -> (dets (N, 6) cx cy w h angle score, labels (N,))."""

    def __init__(self, model_path: str, device_name: str = 'cpu', device_id: int = 0):
        lib = sdk_library()
        lib.mmdeploy_rotated_detector_create_by_path.argtypes = [
            ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p)]
        lib.mmdeploy_rotated_detector_apply.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(_Mat), ctypes.c_int,
            ctypes.POINTER(ctypes.POINTER(_RotatedDetection)),
            ctypes.POINTER(ctypes.POINTER(ctypes.c_int))]
        lib.mmdeploy_rotated_detector_release_result.argtypes = [
            ctypes.POINTER(_RotatedDetection), ctypes.POINTER(ctypes.c_int)]
        lib.mmdeploy_rotated_detector_destroy.argtypes = [ctypes.c_void_p]
        self._lib = lib
        self._handle = _create(lib.mmdeploy_rotated_detector_create_by_path, model_path,
                               device_name, device_id)

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        mat, _image = _bgr_mat(image)
        results = ctypes.POINTER(_RotatedDetection)()
        counts = ctypes.POINTER(ctypes.c_int)()
        status = self._lib.mmdeploy_rotated_detector_apply(
            self._handle, ctypes.byref(mat), 1, ctypes.byref(results), ctypes.byref(counts))
        if status != 0:
            raise RuntimeError(f'MMDeploy SDK rotated detection failed (status {status})')
        try:
            count = counts[0]
            dets = np.zeros((count, 6), dtype=np.float32)
            labels = np.zeros(count, dtype=np.int64)
            for i in range(count):
                dets[i, :5] = list(results[i].rbbox)
                dets[i, 5] = results[i].score
                labels[i] = results[i].label_id
        finally:
            self._lib.mmdeploy_rotated_detector_release_result(results, counts)
        return dets, labels

    def __del__(self):
        if getattr(self, '_handle', None) and self._handle.value:
            self._lib.mmdeploy_rotated_detector_destroy(self._handle)
            self._handle = ctypes.c_void_p()
