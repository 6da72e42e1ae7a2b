"""configs/rla/metafile.yml against the RLA-Net paper's own tables (Table 3: ImageNet
error, Table 4: Faster R-CNN and RetinaNet box AP, Table 5: Mask R-CNN box and mask
AP), read from the full text in ../shared/papers: every figure the metafile states is
the paper's, and every config it names exists."""
import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SHARED

PAPER = SHARED / 'papers' / 'rla-net.txt'
METAFILE = REPO / 'configs' / 'rla' / 'metafile.yml'

# metafile name -> (base row in the paper's table, variant row)
BACKBONES = {
    'resnet50': 'ResNet-50', 'resnet101': 'ResNet-101', 'resnet152': 'ResNet-152',
    'mobilenetv2': 'MobileNetV2', 'r50': 'ResNet-50', 'r101': 'ResNet-101'
}


def _paper_tables(text):
    """{(table, base, variant): [numbers]} for Tables 3, 4 and 5."""
    rows = {}
    table = None
    base = None
    for line in text.splitlines():
        head = re.match(r'Table (\d+):', line)
        if head:
            table, base = int(head.group(1)), None
            continue
        if table not in (3, 4, 5) or '\t' not in line:
            continue
        cells = [c.strip() for c in line.split('\t')]
        label = cells[0]
        if not label.startswith('+'):
            base = re.sub(r'\s*\[.*\]$', '', label)
            if table == 4 and len(cells) > 1:  # 'ResNet-50 <tab> Faster R-CNN'
                base = f'{base} {cells[1]}'
                cells = cells[1:]
        numbers = [float(c.rstrip('MG')) for c in cells[1:]
                   if re.fullmatch(r'[\d.]+[MG]?', c)]
        if base and numbers:
            variant = label if label.startswith('+') else ''
            rows[(table, base, variant)] = numbers
    return rows


@pytest.fixture(scope='module')
def paper():
    if not PAPER.is_file():
        pytest.skip(f'the RLA-Net full text is not at {PAPER} '
                    '(set MMRLA_SHARED to the folder holding papers/)')
    return _paper_tables(PAPER.read_text(encoding='utf-8'))


def _models():
    return yaml.safe_load(METAFILE.read_text())['Models']


def test_metafile_configs_exist():
    for model in _models():
        assert (REPO / model['Config']).is_file(), model['Name']
        assert Path(model['Config']).stem == model['Name']


def _row(name):
    """(backbone, variant) of the paper's rows for the metafile entry `name`."""
    stem = name.split('_')[1] if '_coco' in name else name.split('_')[0]
    backbone = BACKBONES.get(stem.replace('eca-', '').replace('rla-', ''))
    variant = '+ECA+RLA (Ours)' if stem.startswith('eca-') else '+RLA (Ours)'
    return backbone, variant


def _expected(paper, name):
    """The metrics the paper gives for the metafile entry `name`."""
    backbone, variant = _row(name)
    if backbone is None:
        return None
    if name.endswith('_in1k'):
        # the row: params, FLOPs, top-1 error, top-5 error
        err1, err5 = paper[(3, backbone, variant)][2:4]
        return {'Top 1 Accuracy': round(100 - err1, 2),
                'Top 5 Accuracy': round(100 - err5, 2)}
    if name.startswith('mask-rcnn'):
        row = paper[(5, backbone, variant)]  # AP bb, AP50, AP75, AP m, ...
        return {'box AP': row[0], 'mask AP': row[3]}
    detector = 'Faster R-CNN' if name.startswith('faster-rcnn') else 'RetinaNet'
    return {'box AP': paper[(4, f'{backbone} {detector}', variant)][0]}


def test_metafile_figures_are_the_papers(paper):
    checked = 0
    for model in _models():
        stated = {k: v for result in model.get('Results') or []
                  for k, v in result['Metrics'].items()}
        expected = _expected(paper, model['Name'])
        if expected is None:  # a depth the paper does not report (RLA-ResNet-18/34)
            assert not stated, model['Name']
            continue
        assert stated == pytest.approx(expected, abs=1e-9), model['Name']
        checked += 1
    assert checked == 20


def test_metafile_flops_are_the_papers(paper):
    for model in _models():
        flops = (model.get('Metadata') or {}).get('FLOPs (paper units, 2^30)')
        if flops is None:
            flops = (model.get('Metadata') or {}).get('FLOPs (paper units, 2^20)')
        if flops is None:
            continue
        backbone, variant = _row(model['Name'])
        assert flops == paper[(3, backbone, variant)][1], model['Name']


def test_paper_parser_reads_the_tables(paper):
    # a guard on the parser itself: known cells of each table
    assert paper[(3, 'ResNet-50', '+RLA (Ours)')][2:4] == [22.83, 6.58]
    assert paper[(4, 'ResNet-101 RetinaNet', '+ECA+RLA (Ours)')][0] == 41.5
    assert paper[(5, 'ResNet-50', '+ECA+RLA (Ours)')][3] == 36.5
