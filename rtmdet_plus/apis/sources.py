"""Where the images of an inference run come from: an image file, a folder (searched
recursively by extension), a glob, a text file of paths, a video file or a camera index.

``open_source(source)`` gives an iterable of :class:`Frame`; an image or video frame that cannot
be read comes as a frame with ``image=None`` and the reason in ``error``, so that a run can
report it by name (or frame number), skip it and go on. :func:`read_ahead` decodes frames in a
thread while the caller runs the model on the previous ones.
"""

import glob
import os
import os.path as osp
import queue
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Optional, Union

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg', '.wmv')
# a video stops after this many frames in a row that cannot be decoded
MAX_BAD_FRAMES_IN_A_ROW = 25


@dataclass
class Frame:
    """One image of a source.

    name: the image's path, or ``<video>#<frame number>`` (0-based) for a video or camera.
    index: position in the source (0-based).
    image: (H, W, 3) uint8 BGR; None when it could not be read.
    error: why it could not be read.
    """

    name: str
    index: int
    image: Optional[np.ndarray]
    error: Optional[str] = None


class ImageSource:
    """Image files, read in order with OpenCV."""

    kind = 'images'

    def __init__(self, paths: List[str]):
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[Frame]:
        for index, path in enumerate(self.paths):
            yield read_image(path, index)


class VideoSource:
    """Frames of a video file or a camera (``int`` index), read with ``cv2.VideoCapture``.

    ``fps`` and ``size`` (W, H) are the stream's; ``len()`` is the frame count the container
    declares (0 for a camera).
    """

    kind = 'video'

    def __init__(self, source: Union[str, int]):
        self.source = source
        self.name = f'camera{source}' if isinstance(source, int) else source
        capture = cv2.VideoCapture(source)
        if not capture.isOpened():
            what = f'camera {source}' if isinstance(source, int) else f'the video {source}'
            raise OSError(
                f'OpenCV cannot open {what}: check that it exists and that its codec is '
                'one your OpenCV build decodes (cv2.getBuildInformation(), "Video I/O"); '
                'or convert it, e.g. ffmpeg -i IN -c:v libx264 OUT.mp4'
            )
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        self.size = (
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self.frame_count = (
            0 if isinstance(source, int) else max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        )
        capture.release()

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self) -> Iterator[Frame]:
        capture = cv2.VideoCapture(self.source)
        index, bad_in_a_row = 0, 0
        try:
            while True:
                ok, image = capture.read()
                if ok and image is not None:
                    bad_in_a_row = 0
                    yield Frame(f'{self.name}#{index}', index, image)
                elif (
                    self.frame_count
                    and index < self.frame_count - 1
                    and bad_in_a_row < MAX_BAD_FRAMES_IN_A_ROW
                ):
                    # the container says more frames follow: this one is corrupt
                    bad_in_a_row += 1
                    yield Frame(f'{self.name}#{index}', index, None, 'the frame cannot be decoded')
                else:
                    return
                index += 1
        finally:
            capture.release()


def read_image(path: str, index: int = 0) -> Frame:
    """The image at ``path`` as a :class:`Frame` (``image=None`` and ``error`` set when it is
    missing, empty or not an image OpenCV decodes)."""
    if not osp.isfile(path):
        return Frame(path, index, None, 'no such file')
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        size = osp.getsize(path)
        reason = (
            'the file is empty'
            if size == 0
            else f'OpenCV cannot decode it ({size} bytes; corrupt or not an image)'
        )
        return Frame(path, index, None, reason)
    return Frame(path, index, image)


def _images_under(folder: str) -> List[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(
            osp.join(root, name)
            for name in sorted(files)
            if name.lower().endswith(IMAGE_EXTENSIONS)
        )
    return found


def _paths_in_list(list_file: str) -> List[str]:
    base = osp.dirname(osp.abspath(list_file))
    with open(list_file, encoding='utf-8') as file:
        lines = [line.strip() for line in file]
    return [
        line if osp.isabs(line) else osp.join(base, line)
        for line in lines
        if line and not line.startswith('#')
    ]


def open_source(source: Union[str, int]) -> Union[ImageSource, VideoSource]:
    """The images of ``source``:

    - a camera index (``0`` or ``'0'``);
    - a video file (by extension: ``.mp4``, ``.avi``, ...);
    - a folder: every image (``.jpg``, ``.png``, ...) under it, recursively, in sorted order;
    - a glob (``'data/*.jpg'``, ``'data/**/*.png'``);
    - a text file (``.txt``): one image path per line, relative to the file's folder;
    - an image file.

    Raises ``FileNotFoundError`` / ``ValueError`` naming the source when it gives no image.
    """
    if isinstance(source, int) or (
        isinstance(source, str) and source.isdigit() and not osp.exists(source)
    ):
        return VideoSource(int(source))
    source = str(source)
    if any(char in source for char in '*?['):
        paths = sorted(
            path
            for path in glob.glob(source, recursive=True)
            if path.lower().endswith(IMAGE_EXTENSIONS)
        )
        if not paths:
            raise FileNotFoundError(f'no image ({", ".join(IMAGE_EXTENSIONS)}) matches {source}')
        return ImageSource(paths)
    if osp.isdir(source):
        paths = _images_under(source)
        if not paths:
            raise FileNotFoundError(
                f'the folder {source} holds no image '
                f'({", ".join(IMAGE_EXTENSIONS)}), in it or below'
            )
        return ImageSource(paths)
    if not osp.exists(source):
        raise FileNotFoundError(
            f'the source {source} does not exist: give an image, a folder, '
            'a glob, a .txt list of images, a video or a camera index'
        )
    extension = osp.splitext(source)[1].lower()
    if extension in VIDEO_EXTENSIONS:
        return VideoSource(source)
    if extension == '.txt':
        paths = _paths_in_list(source)
        if not paths:
            raise ValueError(f'the list {source} names no image (one path per line)')
        return ImageSource(paths)
    if extension in IMAGE_EXTENSIONS:
        return ImageSource([source])
    raise ValueError(
        f'{source}: not an image ({", ".join(IMAGE_EXTENSIONS)}), a video '
        f'({", ".join(VIDEO_EXTENSIONS)}) or a .txt list of images'
    )


def read_ahead(frames: Iterable[Frame], depth: int = 8) -> Iterator[Frame]:
    """``frames`` in order, decoded up to ``depth`` ahead in a thread (OpenCV releases the GIL
    while it decodes, so decoding overlaps the model). An exception in the thread is raised
    here."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def fill():
        try:
            for frame in frames:
                if stop.is_set():
                    return
                buffer.put(frame)
        except BaseException as error:  # noqa: B902  (handed to the reader)
            buffer.put(error)
        buffer.put(done)

    thread = threading.Thread(target=fill, name='rtmdet_plus-read-ahead', daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked put finish
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(0.05)
