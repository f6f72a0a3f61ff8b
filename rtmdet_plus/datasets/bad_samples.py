"""What a training dataset does with a sample it cannot use, met in the middle of an epoch.

:class:`BadSampleMixin` (first base of our ``CocoDataset`` and ``DOTADataset``) replaces
mmengine's silent refetch loop with a reported one. A sample is bad when its pipeline raises (a
missing, empty or corrupt image, an annotation the loader rejects) or returns None (no usable
box left after the augmentations, e.g. a random crop with no object in it):

- ``on_bad_sample='stop'`` (the default): the error stops the run, its message extended with
  the sample index, the image file and what to do (from a loader worker too: the message
  travels with it);
  samples with no box left after augmentation are replaced by another, as in mmdet.
- ``on_bad_sample='skip'``: every bad sample is replaced by a random other one.

Either way, the replaced samples ride along in the batch (``skipped_samples`` in the metainfo
of the sample that replaced them), so that :class:`~rtmdet_plus.engine.BadSampleReportHook`
can name them in the log of the main process and count them at the end of the epoch, however
many loader workers there are.
"""

from typing import List

ACTIONS = ('stop', 'skip')
EMPTY_AFTER_AUGMENTATION = 'no usable box left after the augmentations'


class BadSampleError(RuntimeError):
    """A training sample that cannot be used, with ``on_bad_sample='stop'``."""


def _with_context(error: Exception, index: int, image: str) -> Exception:
    """``error`` with the sample and what to do added to its message: the same exception (type
    kept, so callers catching e.g. ``FileNotFoundError`` still do) when its message is one
    string, else a :class:`BadSampleError` from it."""
    context = (
        f'[training sample {index}, {image}: fix or remove it, or set '
        'on_bad_sample="skip" in the train dataset to train on without it]'
    )
    if len(error.args) == 1 and isinstance(error.args[0], str):
        error.args = (f'{error.args[0]} {context}',)
        return error
    return BadSampleError(f'{type(error).__name__}: {error} {context}')


class BadSampleMixin:
    """Report, and stop on or skip, the training samples that cannot be used (see module)."""

    def __init__(self, *args, on_bad_sample: str = 'stop', **kwargs):
        if on_bad_sample not in ACTIONS:
            raise ValueError(f'on_bad_sample={on_bad_sample!r}: use one of {ACTIONS}')
        self.on_bad_sample = on_bad_sample
        super().__init__(*args, **kwargs)

    def _image_of(self, index: int) -> str:
        info = self.get_data_info(index)
        return str(info.get('img_path', f'sample {index}'))

    def __getitem__(self, index: int) -> dict:
        if not self._fully_initialized:
            self.full_init()
        if self.test_mode:
            return super().__getitem__(index)
        skipped: List[str] = []
        for _ in range(self.max_refetch + 1):
            try:
                data = self.prepare_data(index)
            except Exception as error:  # noqa: B902  (any failure of the pipeline)
                reason = f'{type(error).__name__}: {error}'
                if self.on_bad_sample == 'stop':
                    contextual = _with_context(error, index, self._image_of(index))
                    if contextual is error:
                        raise
                    raise contextual from error
                skipped.append(f'{self._image_of(index)}: {reason}')
            else:
                if data is not None:
                    if skipped:
                        data['data_samples'].set_metainfo(dict(skipped_samples=skipped))
                    return data
                skipped.append(f'{self._image_of(index)}: {EMPTY_AFTER_AUGMENTATION}')
            index = self._rand_another()
        raise BadSampleError(
            f'{len(skipped)} training samples in a row cannot be used; the last: {skipped[-1]}'
        )
