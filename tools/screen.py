"""Screens of the GPU, for the demo and the tests: reading cmavm's PNG
screenshots back (8-bit RGB, any filter), drawing one on a terminal in
24-bit colour with half blocks, and a test card to show."""
import struct
import zlib

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _unfilter(kind, line, prev, bpp=3):
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 0xff
        elif kind == 2:
            line[i] = (line[i] + b) & 0xff
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xff
        elif kind == 4:
            line[i] = (line[i] + _paeth(a, b, c)) & 0xff
    return line


def png_rgb(data):
    """(width, height, rows of RGB bytes) of an 8-bit RGB PNG."""
    if data[:8] != PNG_MAGIC:
        raise ValueError("not a PNG file")
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    width, height, depth, colour = ihdr[:4]
    if (depth, colour) != (8, 2):
        raise ValueError("not 8-bit RGB: depth %d, colour type %d" % (depth, colour))
    raw, row_len = zlib.decompress(idat), width * 3
    rows, prev = [], bytearray(row_len)
    for y in range(height):
        start = y * (row_len + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1:start + 1 + row_len]), prev)
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def terminal(width, height, rows, columns=64):
    """The picture on a terminal: @columns cells wide, each cell two pixels
    high (the upper half block takes the foreground colour, the lower the
    background), each pixel the colour at the centre of its area."""
    step = width / columns
    lines = []
    for cy in range(int(height / step) // 2):
        cells = []
        for cx in range(columns):
            x = min(width - 1, int((cx + 0.5) * step))
            top = rows[min(height - 1, int((2 * cy + 0.5) * step))][3 * x:3 * x + 3]
            bottom = rows[min(height - 1, int((2 * cy + 1.5) * step))][3 * x:3 * x + 3]
            cells.append("\x1b[38;2;%d;%d;%dm\x1b[48;2;%d;%d;%dm\u2580" % (tuple(top) + tuple(bottom)))
        lines.append("".join(cells) + "\x1b[0m")
    return "\n".join(lines)


# 5x7 letters for the test card's caption.
_FONT = {
    "c": ["01111", "10000", "10000", "10000", "10000", "10000", "01111"],
    "m": ["10001", "11011", "10101", "10101", "10001", "10001", "10001"],
    "a": ["01110", "10001", "10001", "11111", "10001", "10001", "10001"],
    "v": ["10001", "10001", "10001", "10001", "01010", "01010", "00100"],
}
_BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192),
         (192, 0, 0), (0, 0, 192)]


def test_card(width, height, text="cmavm"):
    """A frame in XRGB8888 (bytes B, G, R, X), as /dev/fb0 takes it:
    colour bars over a grey ramp, @text in large white letters."""
    scale = max(1, width * 4 // (5 * 6 * len(text)))
    tx0, ty0 = (width - 6 * len(text) * scale) // 2, height // 3 - 7 * scale // 2
    out = bytearray()
    for y in range(height):
        for x in range(width):
            if y < height * 2 // 3:
                r, g, b = _BARS[x * len(_BARS) // width]
            else:
                r = g = b = x * 255 // (width - 1)
            gx, gy = (x - tx0) // scale, (y - ty0) // scale
            if 0 <= gy < 7 and 0 <= gx < 6 * len(text) and gx % 6 < 5 and \
                    _FONT[text[gx // 6]][gy][gx % 6] == "1":
                r = g = b = 255
            out += bytes((b, g, r, 0))
    return bytes(out)
