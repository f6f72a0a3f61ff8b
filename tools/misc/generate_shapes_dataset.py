"""Write the synthetic shapes dataset (COCO format) used by the shapes configs, demo and tests.

Layout under OUT_DIR: annotations/instances_{train,val}.json, train/*.jpg, val/*.jpg.
The same arguments give the same images and byte-identical annotation files.
``--task cls`` writes the classification variant instead (one shape per image, class folders
train/<class>/*.png, val/<class>/*.png, for the CSPNeXt classification shapes config).

Example:
    python tools/misc/generate_shapes_dataset.py data/shapes --seed 0
    python tools/misc/generate_shapes_dataset.py data/shapes_cls --task cls --img-size 64
"""

import argparse
import sys
import time

try:
    from rtmdet_plus.datasets.shapes import (
        PALETTES,
        SHAPE_CLASSES,
        ShapesConfig,
        generate_shapes_dataset,
    )
    from rtmdet_plus.datasets.shapes_classification import (
        generate_shape_classification_dataset,
        shape_classification_config,
    )
except ImportError as error:
    sys.exit(
        f'Cannot import rtmdet_plus ({error}): install the package (`pip install -e .`) '
        'or put the repository root on PYTHONPATH.'
    )


def parse_args() -> argparse.Namespace:
    defaults = ShapesConfig()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('out_dir', help='folder to write the dataset into')
    parser.add_argument(
        '--task',
        choices=['det', 'cls'],
        default='det',
        help='det: COCO detection/segmentation; cls: one shape per image, '
        'class folders (one light grey shape of radius 0.2-0.4 on a dark '
        'grey texture; 800 train / 200 val unless given)',
    )
    parser.add_argument(
        '--img-size', type=int, default=defaults.img_size, help='side of the square images, pixels'
    )
    parser.add_argument(
        '--num-train', type=int, help=f'training images (default {defaults.num_train} for det)'
    )
    parser.add_argument(
        '--num-val', type=int, help=f'val images (default {defaults.num_val} for det)'
    )
    parser.add_argument(
        '--classes',
        nargs='+',
        default=list(defaults.classes),
        choices=SHAPE_CLASSES,
        help='shape classes, in category-id order',
    )
    parser.add_argument(
        '--objects',
        type=int,
        nargs=2,
        default=defaults.objects_per_image,
        metavar=('MIN', 'MAX'),
        help='objects per image',
    )
    parser.add_argument(
        '--size-range',
        type=float,
        nargs=2,
        default=defaults.size_range,
        metavar=('MIN', 'MAX'),
        help='shape outer radius as a fraction of the image side',
    )
    parser.add_argument(
        '--min-visible',
        type=float,
        default=defaults.min_visible,
        help='least fraction of an occluded shape that stays visible',
    )
    parser.add_argument(
        '--palette',
        choices=PALETTES,
        default=defaults.palette,
        help='det: colour (random colours) or grey (grey shapes on grey)',
    )
    parser.add_argument('--seed', type=int, default=defaults.seed)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    sizes = {
        name: value
        for name, value in (('num_train', args.num_train), ('num_val', args.num_val))
        if value is not None
    }
    start = time.perf_counter()
    if args.task == 'cls':
        config = shape_classification_config(
            args.img_size, seed=args.seed, classes=args.classes, **sizes
        )
        generate_shape_classification_dataset(args.out_dir, config)
    else:
        config = ShapesConfig(
            img_size=args.img_size,
            classes=tuple(args.classes),
            objects_per_image=tuple(args.objects),
            size_range=tuple(args.size_range),
            min_visible=args.min_visible,
            seed=args.seed,
            palette=args.palette,
            **sizes,
        )
        generate_shapes_dataset(args.out_dir, config)
    print(
        f'wrote {config.num_train} train and {config.num_val} val images of '
        f'{config.img_size}x{config.img_size} ({", ".join(config.classes)}) to {args.out_dir} '
        f'in {time.perf_counter() - start:.1f} s'
    )


if __name__ == '__main__':
    main()
