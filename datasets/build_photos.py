#!/usr/bin/python3
"""Rebuilds datasets/train_photos and datasets/val_photos from Debian bookworm packages.

  build_photos.py [EXTRACT_DIR]

Runs `apt-get download` for the three packages below and unpacks them with
`dpkg -x` into EXTRACT_DIR/<package> (default: a temporary folder); needs
`apt-get update` done once, Debian's python3-pil and python3-numpy. A package
already unpacked there is reused.

Each photo: EXIF orientation applied, converted to 8-bit RGB (grey photos get
R = G = B), downscaled with Pillow's LANCZOS so that the longer side is at most
512 px (never upscaled), then centre-cropped so that both sides are multiples
of 12 (so x2, x3 and x4 low-resolution copies come out exact). Saved as PNG
without metadata. See SOURCES.md for authors and licences.

Packages used for the committed set:
  plasma-workspace-wallpapers 4:5.27.5-2, mate-backgrounds 1.26.0-1,
  python3-skimage 0.19.3-8.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps

MAX_SIDE = 512
MULT = 12

PLASMA = 'plasma-workspace-wallpapers'
MATE = 'mate-backgrounds'
SKIMAGE = 'python3-skimage'
PW = 'usr/share/wallpapers/{}/contents/images/2560x1600.jpg'
MN = 'usr/share/backgrounds/mate/nature/{}.jpg'
SK = 'usr/lib/python3/dist-packages/skimage/data/{}'

# (split, output name, package, path inside the package)
PHOTOS = [
    ('train', 'plasma_bythewater', PLASMA, PW.format('BytheWater')),
    ('train', 'plasma_coldripple', PLASMA, PW.format('ColdRipple')),
    ('train', 'plasma_colorfulcups', PLASMA, PW.format('ColorfulCups')),
    ('train', 'plasma_darkesthour', PLASMA, PW.format('DarkestHour')),
    ('val', 'plasma_eveningglow', PLASMA, PW.format('EveningGlow')),
    ('train', 'plasma_fallenleaf', PLASMA, PW.format('FallenLeaf')),
    ('train', 'plasma_grey', PLASMA, PW.format('Grey')),
    ('train', 'plasma_kite', PLASMA, PW.format('Kite')),
    ('train', 'plasma_onestandsout', PLASMA, PW.format('OneStandsOut')),
    ('train', 'plasma_path', PLASMA, PW.format('Path')),
    ('train', 'plasma_summer1am', PLASMA, PW.format('summer_1am')),
    ('train', 'mate_aqua', MATE, MN.format('Aqua')),
    ('train', 'mate_blinds', MATE, MN.format('Blinds')),
    ('train', 'mate_dune', MATE, MN.format('Dune')),
    ('train', 'mate_freshflower', MATE, MN.format('FreshFlower')),
    ('train', 'mate_garden', MATE, MN.format('Garden')),
    ('train', 'mate_greenmeadow', MATE, MN.format('GreenMeadow')),
    ('val', 'mate_ladybird', MATE, MN.format('LadyBird')),
    ('train', 'mate_raindrops', MATE, MN.format('RainDrops')),
    ('train', 'mate_storm', MATE, MN.format('Storm')),
    ('train', 'mate_twowings', MATE, MN.format('TwoWings')),
    ('val', 'mate_wood', MATE, MN.format('Wood')),
    ('train', 'mate_yellowflower', MATE, MN.format('YellowFlower')),
    ('train', 'skimage_astronaut', SKIMAGE, SK.format('astronaut.png')),
    ('train', 'skimage_chelsea', SKIMAGE, SK.format('chelsea.png')),
    ('val', 'skimage_coffee', SKIMAGE, SK.format('coffee.png')),
    ('train', 'skimage_rocket', SKIMAGE, SK.format('rocket.jpg')),
    ('train', 'skimage_brick', SKIMAGE, SK.format('brick.png')),
    ('train', 'skimage_grass', SKIMAGE, SK.format('grass.png')),
    ('train', 'skimage_gravel', SKIMAGE, SK.format('gravel.png')),
]


def prepare(path, max_side=MAX_SIDE, mult=MULT):
    im = ImageOps.exif_transpose(Image.open(path)).convert('RGB')
    w, h = im.size
    s = min(1.0, max_side / max(w, h))
    if s < 1.0:
        im = im.resize((max(mult, round(w * s)), max(mult, round(h * s))), Image.LANCZOS)
    w, h = im.size
    cw, ch = w - w % mult, h - h % mult
    l, t = (w - cw) // 2, (h - ch) // 2
    return Image.fromarray(np.asarray(im.crop((l, t, l + cw, t + ch))), 'RGB')


def unpack(pkg, root):
    dest = os.path.join(root, pkg)
    if os.path.isdir(dest):
        return dest
    dl = os.path.join(root, 'debs')
    os.makedirs(dl, exist_ok=True)
    subprocess.run(['apt-get', 'download', pkg], cwd=dl, check=True)
    deb = sorted(f for f in os.listdir(dl) if f.startswith(pkg + '_') and f.endswith('.deb'))[-1]
    subprocess.run(['dpkg', '-x', os.path.join(dl, deb), dest], check=True)
    return dest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix='photos_')
    roots = {p: unpack(p, root) for p in (PLASMA, MATE, SKIMAGE)}
    for split in ('train', 'val'):
        os.makedirs(os.path.join(here, f'{split}_photos'), exist_ok=True)
    for split, name, pkg, rel in PHOTOS:
        img = prepare(os.path.join(roots[pkg], rel))
        out = os.path.join(here, f'{split}_photos', name + '.png')
        img.save(out, optimize=True)
        print(f'{split:5s} {name}.png {img.size[0]}x{img.size[1]} <- {pkg}:/{rel}')


if __name__ == '__main__':
    main()
