"""Name, in the main process's log, the training samples the dataset replaced (see
:mod:`rtmdet_plus.datasets.bad_samples`), and count them at the end of each epoch."""

from collections import Counter

from mmengine.hooks import Hook

from rtmdet_plus.datasets.bad_samples import EMPTY_AFTER_AUGMENTATION
from rtmdet_plus.registry import HOOKS


@HOOKS.register_module()
class BadSampleReportHook(Hook):
    """Warn once per replaced sample (an unreadable image, a failing annotation) and sum up at
    each epoch's end, also the samples left with no box after augmentation (counted, not
    warned about one by one: random crops make them routinely)."""

    def __init__(self):
        self.in_epoch: Counter = Counter()
        self.examples: dict = {}

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for sample in (data_batch or {}).get('data_samples') or []:
            for entry in getattr(sample, 'metainfo', {}).get('skipped_samples', ()):
                kind = 'empty' if entry.endswith(EMPTY_AFTER_AUGMENTATION) else 'unusable'
                self.in_epoch[kind] += 1
                self.examples.setdefault(kind, entry)
                if kind == 'unusable':
                    runner.logger.warning(
                        f'skipped training sample {entry} (iteration '
                        f'{runner.iter + 1}); another one took its place'
                    )

    def after_train_epoch(self, runner) -> None:
        if self.in_epoch:
            parts = []
            if self.in_epoch['unusable']:
                parts.append(
                    f'{self.in_epoch["unusable"]} unusable (e.g. {self.examples["unusable"]})'
                )
            if self.in_epoch['empty']:
                parts.append(
                    f'{self.in_epoch["empty"]} with no usable box left after the augmentations'
                )
            runner.logger.warning(
                f'epoch {runner.epoch + 1}: training samples replaced: ' + '; '.join(parts)
            )
        self.in_epoch.clear()
        self.examples.clear()
