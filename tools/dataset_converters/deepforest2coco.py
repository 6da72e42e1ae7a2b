"""Make a small, real COCO detection set of tree crowns from deepforest's wheel
(offline).

Usage:
    python tools/dataset_converters/deepforest2coco.py WHEEL [OUT_DIR]
        WHEEL:   deepforest-2.1.0-py3-none-any.whl (MIT; `pip download --no-deps
                 deepforest==2.1.0` fetches it; read as a zip, never installed)
        OUT_DIR: default data/deepforest

The wheel carries four aerial RGB images with VOC-XML tree-crown boxes (951 boxes; one
of them labels Alive/Dead, merged here into the single class ``Tree``). Large images
are cut into a grid of tiles of at most 400x400 (tiles never overlap; edge tiles are
smaller). A box cut by a tile border is clipped to the tile and kept if at least half
of its area lies inside. The split is by source image, so no tile and no tree is in
both: train = YELL 528000 + SOAP_061, val = YELL 541000 + OSBS_029 (a site unseen in
training).

Output (mmdet's CocoDataset layout)::

    OUT_DIR/train/*.png  OUT_DIR/val/*.png
    OUT_DIR/annotations/instances_{train,val}.json

Deterministic (same bytes for the same wheel) and idempotent: a complete folder is kept.
The folder appears atomically (built beside it, then renamed, with a ``.complete``
marker); an existing OUT_DIR without the marker is never overwritten. A bad WHEEL
(missing, empty, truncated, not a zip, not the deepforest 2.1.0 wheel, a broken member)
or such an OUT_DIR: ``error: ...`` on stderr, exit code 1, and no OUT_DIR.
"""
import argparse
import io
import json
import os
import os.path as osp
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib

from PIL import Image

from mmrla.utils.fileio import (
    BadFileError,
    atomic_dir,
    cli_errors,
    first_line,
    is_complete_dir,
    require_file,
)

TILE = 400
SPLITS = {
    'train': ('2019_YELL_2_528000_4978000_image_crop2', 'SOAP_061'),
    'val': ('2019_YELL_2_541000_4977000_image_crop', 'OSBS_029'),
}
CATEGORIES = [dict(id=1, name='Tree', supercategory='plant')]


def read_sources(wheel):
    """{stem: (PIL image, [(x1, y1, x2, y2)])} for the annotated images.

    Raises:
        BadFileError: naming ``wheel`` (and the member) and what was expected.
    """
    require_file(wheel, 'deepforest wheel')
    try:
        archive = zipfile.ZipFile(wheel)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadFileError(f'{wheel} is not a wheel (zip) file, or it is '
                           f'truncated ({first_line(exc)})') from exc
    sources = {}
    with archive:
        names = set(archive.namelist())
        for stem in sum(SPLITS.values(), ()):
            xml_name = f'deepforest/data/{stem}.xml'
            png_name = f'deepforest/data/{stem}.png'
            missing = [n for n in (xml_name, png_name) if n not in names]
            if missing:
                raise BadFileError(f'{wheel} lacks {missing}; expected the '
                                   'deepforest 2.1.0 wheel')
            sources[stem] = (read_member(wheel, archive, png_name, parse_image),
                             read_member(wheel, archive, xml_name, parse_boxes))
    return sources


def read_member(wheel, archive, name, parse):
    """``parse(bytes of the member)``; a corrupt member names the wheel and it."""
    try:
        return parse(archive.read(name))
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ET.ParseError,
            AttributeError, TypeError, ValueError) as exc:
        # a truncated/corrupt member (bad CRC, bad deflate data, bad PNG) or XML
        # without the VOC fields (find() gives None: AttributeError/TypeError)
        raise BadFileError(f'{wheel}: cannot read {name} ({first_line(exc)}); '
                           'expected the deepforest 2.1.0 wheel') from exc


def parse_boxes(data):
    """The VOC-XML boxes of one image: ``[(x1, y1, x2, y2)]``."""
    boxes = []
    for obj in ET.fromstring(data).iter('object'):
        bb = obj.find('bndbox')
        boxes.append(
            tuple(
                float(bb.find(k).text)
                for k in ('xmin', 'ymin', 'xmax', 'ymax')))
    return boxes


def parse_image(data):
    Image.MAX_IMAGE_PIXELS = None  # the largest is 2299x2472, trusted
    image = Image.open(io.BytesIO(data))
    return image.convert('RGB')


def tiles_of(width, height):
    for y in range(0, height, TILE):
        for x in range(0, width, TILE):
            yield x, y, min(x + TILE, width), min(y + TILE, height)


def clip_boxes(boxes, tile):
    tx1, ty1, tx2, ty2 = tile
    kept = []
    for x1, y1, x2, y2 in boxes:
        cx1, cy1 = max(x1, tx1), max(y1, ty1)
        cx2, cy2 = min(x2, tx2), min(y2, ty2)
        if cx2 - cx1 < 2 or cy2 - cy1 < 2:
            continue
        if (cx2 - cx1) * (cy2 - cy1) < 0.5 * (x2 - x1) * (y2 - y1):
            continue
        kept.append((cx1 - tx1, cy1 - ty1, cx2 - cx1, cy2 - cy1))
    return kept


def write_split(sources, split, out_dir):
    images, annotations = [], []
    os.makedirs(osp.join(out_dir, split))
    for stem in SPLITS[split]:
        image, boxes = sources[stem]
        for tile in tiles_of(*image.size):
            name = f'{stem}_{tile[0]}_{tile[1]}.png'
            tile_boxes = clip_boxes(boxes, tile)
            image.crop(tile).save(osp.join(out_dir, split, name))
            image_id = len(images) + 1
            images.append(
                dict(
                    id=image_id,
                    file_name=name,
                    width=tile[2] - tile[0],
                    height=tile[3] - tile[1]))
            for x, y, w, h in tile_boxes:
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=image_id,
                        category_id=1,
                        bbox=[round(v, 2) for v in (x, y, w, h)],
                        area=round(w * h, 2),
                        iscrowd=0))
    with open(osp.join(out_dir, 'annotations', f'instances_{split}.json'),
              'w') as f:
        json.dump(
            dict(images=images, annotations=annotations,
                 categories=CATEGORIES), f)
    return len(images), len(annotations)


def convert(wheel, out_dir):
    if is_complete_dir(out_dir):
        print(f'{out_dir} is already complete')
        return out_dir
    with atomic_dir(out_dir) as tmp:  # refuses a foreign OUT_DIR first
        sources = read_sources(wheel)
        os.makedirs(osp.join(tmp, 'annotations'))
        counts = {s: write_split(sources, s, tmp) for s in SPLITS}
    for split, (n_images, n_boxes) in counts.items():
        print(f'{out_dir}/{split}: {n_images} tiles, {n_boxes} boxes')
    return out_dir


@cli_errors  # a bad wheel or OUT_DIR: one line on stderr, exit code 1
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('wheel', help='deepforest-2.1.0-py3-none-any.whl')
    parser.add_argument('out_dir', nargs='?', default='data/deepforest')
    args = parser.parse_args(argv)
    convert(args.wheel, args.out_dir)
    return 0


if __name__ == '__main__':
    sys.exit(main())
