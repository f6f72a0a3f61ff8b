"""Write the synthetic rotated shapes dataset (DOTA format) used by the rotated tests and configs.

Layout under OUT_DIR: {train,val}/images/*.png, {train,val}/labelTxt/*.txt, generator.json.
The same arguments give byte-identical files.

Example:
    python tools/misc/generate_rotated_shapes.py data/rotated_shapes --img-size 256 --seed 0
"""

import argparse
import time

from rtmdet_plus.datasets.rotated_shapes import (
    ROTATED_SHAPE_CLASSES,
    RotatedShapesConfig,
    generate_rotated_shapes_dataset,
)


def parse_args() -> argparse.Namespace:
    defaults = RotatedShapesConfig()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('out_dir', help='folder to write the dataset into')
    parser.add_argument(
        '--img-size', type=int, default=defaults.img_size, help='side of the square images, pixels'
    )
    parser.add_argument('--num-train', type=int, default=defaults.num_train)
    parser.add_argument('--num-val', type=int, default=defaults.num_val)
    parser.add_argument(
        '--objects',
        type=int,
        nargs=2,
        default=defaults.objects_per_image,
        metavar=('MIN', 'MAX'),
        help='objects per image',
    )
    parser.add_argument(
        '--long-side-range',
        type=float,
        nargs=2,
        default=defaults.long_side_range,
        metavar=('MIN', 'MAX'),
        help='long side of a shape as a fraction of the image side',
    )
    parser.add_argument(
        '--aspect-range',
        type=float,
        nargs=2,
        default=defaults.aspect_range,
        metavar=('MIN', 'MAX'),
        help='long side / short side',
    )
    parser.add_argument('--seed', type=int, default=defaults.seed)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    config = RotatedShapesConfig(
        img_size=args.img_size,
        num_train=args.num_train,
        num_val=args.num_val,
        objects_per_image=tuple(args.objects),
        long_side_range=tuple(args.long_side_range),
        aspect_range=tuple(args.aspect_range),
        seed=args.seed,
    )
    start = time.perf_counter()
    generate_rotated_shapes_dataset(args.out_dir, config)
    print(
        f'wrote {config.num_train} train and {config.num_val} val images of '
        f'{config.img_size}x{config.img_size} ({", ".join(ROTATED_SHAPE_CLASSES)}) to '
        f'{args.out_dir} in {time.perf_counter() - start:.1f} s'
    )


if __name__ == '__main__':
    main()
