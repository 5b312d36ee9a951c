#!/usr/bin/env python3
"""pngcheck.py FILE WIDTH HEIGHT [RRGGBB ...]: check that FILE is a valid PNG
of the given size that shows a picture, not a blank image.

Parses the chunks (signature, IHDR, CRCs, IDAT, IEND), inflates the image
data, undoes the scanline filters and counts colours: at least 4 distinct
colours, at least 0.3% of the pixels differ from the most common
(background) colour, and each RRGGBB given (a curve colour) appears in at
least 20 pixels.  Standard library only.  Exit 0 when all hold."""
import struct
import sys
import zlib
from collections import Counter


def die(msg):
    print("pngcheck: %s" % msg)
    sys.exit(1)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    colours = [bytes.fromhex(c) for c in sys.argv[4:]]
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        die("no PNG signature")
    pos, chunks = 8, []
    while pos < len(data):
        if pos + 8 > len(data):
            die("truncated chunk header")
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            die("bad CRC in %s chunk" % ctype.decode("latin1"))
        chunks.append((ctype, body))
        pos += 12 + length
    if chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        die("first chunk must be IHDR and last IEND")
    w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    print("pngcheck: %s: %dx%d, bit depth %d, colour type %d" % (path, w, h, depth, ctype))
    if (w, h) != (want_w, want_h):
        die("size %dx%d, expected %dx%d" % (w, h, want_w, want_h))
    if depth != 8 or interlace != 0 or ctype not in (0, 2, 3, 4, 6):
        die("unsupported layout (depth %d, interlace %d)" % (depth, interlace))
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    raw = zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT"))
    stride = w * bpp
    if len(raw) != h * (stride + 1):
        die("image data has %d bytes, expected %d" % (len(raw), h * (stride + 1)))
    palette = next((b for t, b in chunks if t == b"PLTE"), None)
    prev = bytearray(stride)
    counts = Counter()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
            elif f != 0:
                die("bad filter type %d in row %d" % (f, y))
        for x in range(w):
            px = bytes(line[x * bpp:(x + 1) * bpp])
            if ctype == 3:
                px = palette[px[0] * 3:px[0] * 3 + 3]
            elif ctype in (0, 4):
                px = px[:1] * 3
            counts[px[:3]] += 1
        prev = line
    bg, nbg = counts.most_common(1)[0]
    ink = 1 - nbg / float(w * h)
    print("pngcheck: %d colours, background %s, %.1f%% of the pixels drawn"
          % (len(counts), bg.hex(), 100 * ink))
    if len(counts) < 4:
        die("only %d colours: a blank image" % len(counts))
    if ink < 0.003:
        die("almost nothing drawn")
    for c in colours:
        if counts[c] < 20:
            die("colour %s appears in %d pixels only (curve missing?)" % (c.hex(), counts[c]))
    print("pngcheck: OK")


main()
